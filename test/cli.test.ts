// The agentgate command line, run as a real process: version, help, bad settings (exit 2, one line),
// and `serve` printing its URL, serving, and stopping on SIGTERM.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SETTINGS } from '../src/config'
import { VERSION } from '../src/version'
import { run as runCommand } from './support/binary'
import { cleanEnv, MAIN } from './support/cli'

const home = mkdtempSync(join(tmpdir(), 'agentgate-cli-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

/** A clean environment: no AGENTGATE_* from the developer's shell, a temp home. */
const env = (extra: Record<string, string> = {}) => cleanEnv({ AGENTGATE_HOME: home, NO_COLOR: '1', ...extra })

/** Runs the CLI to completion (bounded), returning exit code and output. */
const run = (args: string[], extraEnv: Record<string, string> = {}) =>
  runCommand([process.execPath, 'run', MAIN, ...args], { env: env(extraEnv), timeoutMs: 15_000 })

/** Asserts a usage error: exit 2, exactly one stderr line, no stack trace, nothing on stdout. */
function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, ...needles: string[]) {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 2 })
  expect(r.stdout).toBe('')
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '')
  expect(lines).toHaveLength(1)
  expect(lines[0]).toStartWith('agentgate: ')
  expect(r.stderr).not.toMatch(/\n\s+at |\.ts:\d+|^\s*error: /im)
  for (const n of needles) expect(lines[0]).toContain(n)
}

describe('informational commands', () => {
  test('--version prints the version and exits 0', async () => {
    const r = await run(['--version'])
    expect(r).toMatchObject({ code: 0, stderr: '' })
    expect(r.stdout).toBe(`agentgate ${VERSION}\n`)
  })

  test('--help lists the commands', async () => {
    const r = await run(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage:')
    expect(r.stdout).toContain('serve')
    expect(r.stdout).toContain('--version')
  })

  test('-h is --help', async () => {
    expect((await run(['-h'])).stdout).toBe((await run(['--help'])).stdout)
  })

  test('serve --help lists every setting with its flag and env variable', async () => {
    const r = await run(['serve', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: agentgate serve')
    expect(r.stdout).toContain('--config')
    for (const s of SETTINGS) {
      expect(r.stdout).toContain(s.flag)
      expect(r.stdout).toContain(s.env)
    }
  })

  test('serve --help shows the choices of enumerated settings and no VALUE or null-default noise', async () => {
    const r = await run(['serve', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--upstream-api responses\|chat\s/)
    expect(r.stdout).toMatch(/--log-level debug\|info\|warn\|error\|silent\s/)
    expect(r.stdout).toMatch(/--ws-force-store true\|false\s/)
    expect(r.stdout).toMatch(/--port N\s/)
    expect(r.stdout).not.toContain('VALUE')
    expect(r.stdout).not.toContain('default null')
    expect(r.stdout).not.toContain('default []')
  })

  test('--help wins over the other flags of serve', async () => {
    const r = await run(['serve', '--port', '1', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: agentgate serve')
  })
})

describe('bad input: exit 2 and one line naming the problem', () => {
  test('--port abc', async () => expectUsageError(await run(['serve', '--port', 'abc']), '--port', 'abc'))
  test('--port abc without the serve command', async () => expectUsageError(await run(['--port', 'abc']), '--port'))
  test('--port 70000', async () => expectUsageError(await run(['serve', '--port=70000']), '--port', '65535'))
  test('AGENTGATE_PORT=abc', async () => expectUsageError(await run(['serve'], { AGENTGATE_PORT: 'abc' }), 'AGENTGATE_PORT'))
  test('--upstream not a URL', async () => expectUsageError(await run(['serve', '--upstream', 'localhost:8000']), '--upstream'))
  test('--upstream-api unknown', async () =>
    expectUsageError(await run(['serve', '--upstream-api', 'grpc']), '--upstream-api', 'responses|chat'))
  test('--log-level unknown', async () => expectUsageError(await run(['serve', '--log-level', 'loud']), '--log-level'))
  test('an unknown option', async () => expectUsageError(await run(['serve', '--prot', '9000']), '--prot'))
  test('an unknown short option', async () => expectUsageError(await run(['serve', '-x']), '-x'))
  test('a flag without its value', async () => expectUsageError(await run(['serve', '--port']), '--port'))
  test('an unexpected argument', async () => expectUsageError(await run(['serve', 'extra']), 'extra'))
  test('an unknown command', async () => expectUsageError(await run(['frobnicate']), 'frobnicate'))
  test('a missing --config file', async () => expectUsageError(await run(['serve', '--config', join(home, 'nope.toml')]), 'nope.toml'))

  test('a config file with an unknown key', async () => {
    const file = join(home, 'bad-key.toml')
    writeFileSync(file, 'prot = 9000\n')
    expectUsageError(await run(['serve', '--config', file]), 'prot', file)
  })

  test('a config file that is not TOML', async () => {
    const file = join(home, 'bad-syntax.toml')
    writeFileSync(file, 'port = = 1\n[unclosed\n')
    expectUsageError(await run(['serve', '--config', file]), file)
  })
})

describe('serve', () => {
  /** Starts `serve`, waits (bounded) for the start-up line, and always kills the process in the end. */
  async function withServer(
    args: string[],
    extraEnv: Record<string, string>,
    fn: (url: string, proc: ReturnType<typeof Bun.spawn>) => Promise<void>,
  ) {
    const proc = Bun.spawn([process.execPath, 'run', MAIN, ...args], {
      env: env(extraEnv),
      stdout: 'pipe',
      stderr: 'pipe',
      stdin: 'ignore',
    })
    try {
      const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
      let out = ''
      const deadline = Date.now() + 15_000
      let match: RegExpMatchArray | null = null
      while (!match && Date.now() < deadline) {
        const next = await Promise.race([reader.read(), Bun.sleep(deadline - Date.now()).then(() => null)])
        if (!next || next.done) break
        out += new TextDecoder().decode(next.value)
        match = out.match(/agentgate listening on (http:\/\/\S+)\n/)
      }
      if (!match)
        throw new Error(
          `no start-up line; stdout: ${out}; stderr: ${await Promise.race([new Response(proc.stderr as ReadableStream).text(), Bun.sleep(500).then(() => '')])}`,
        )
      reader.releaseLock()
      await fn(match[1], proc)
    } finally {
      if (proc.exitCode === null && !proc.killed) proc.kill('SIGKILL')
      await proc.exited
    }
  }

  test('serve --port 0 prints its URL, serves /health, and stops on SIGTERM', async () => {
    await withServer(['serve', '--port', '0', '--upstream', 'http://127.0.0.1:9/v1'], {}, async (url, proc) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(url).not.toEndWith(':0')
      const res = await fetch(url + '/health')
      expect(res.status).toBe(200)
      expect(((await res.json()) as any).status).toBe('ok')
      // the upstream is a closed port: ready says so, the process keeps serving
      expect((await fetch(url + '/ready')).status).toBe(503)

      proc.kill('SIGTERM')
      const code = await Promise.race([proc.exited, Bun.sleep(5000).then(() => 'still running')])
      expect(code).toBe(0)
      await expect(fetch(url + '/health')).rejects.toThrow()
    })
  })

  test('agentgate with no command is agentgate serve; settings come from the environment', async () => {
    await withServer([], { AGENTGATE_PORT: '0', AGENTGATE_HOST: '127.0.0.1', AGENTGATE_LOG_LEVEL: 'silent' }, async (url, proc) => {
      expect((await fetch(url + '/health')).status).toBe(200)
      proc.kill('SIGINT')
      expect(await Promise.race([proc.exited, Bun.sleep(5000).then(() => 'still running')])).toBe(0)
    })
  })

  test('the database goes to $AGENTGATE_HOME/agentgate.db by default', async () => {
    const ownHome = mkdtempSync(join(tmpdir(), 'agentgate-cli-home-'))
    try {
      await withServer(['serve', '--port', '0'], { AGENTGATE_HOME: ownHome, AGENTGATE_LOG_LEVEL: 'silent' }, async (url, proc) => {
        expect((await fetch(url + '/health')).status).toBe(200)
        expect(await Bun.file(join(ownHome, 'agentgate.db')).exists()).toBe(true)
        proc.kill('SIGTERM')
        await proc.exited
      })
    } finally {
      rmSync(ownHome, { recursive: true, force: true })
    }
  })

  test('a port in use is one error line and a non-zero exit, not a stack trace', async () => {
    const blocker = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
    try {
      const r = await run(['serve', '--port', String(blocker.port)])
      expect(r.code).not.toBe(0)
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))
      expect(lines).toHaveLength(1)
      expect(lines[0]).toStartWith('agentgate: ')
      expect(lines[0]).toContain(String(blocker.port))
      expect(r.stderr).not.toMatch(/\n\s+at /)
    } finally {
      await blocker.stop(true)
    }
  })
})
