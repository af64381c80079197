// The whole tree type-checks (strict): src, tests, benchmarks and scripts. Bun runs TypeScript without
// checking it, so without this a type error would only show in an editor.
import { expect, test } from 'bun:test'
import { join } from 'node:path'

test('tsc --noEmit reports no errors', async () => {
  const root = join(import.meta.dir, '..')
  const proc = Bun.spawn([process.execPath, 'x', 'tsc', '--noEmit', '-p', root], {
    cwd: root,
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  })
  const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  expect(out + err).toBe('')
  expect(code).toBe(0)
}, 130_000)
