// README.md states the public interface (settings, commands); these tests keep it from drifting away
// from SETTINGS in src/config.ts and from what .ci/run executes.
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { SETTINGS } from '../src/config'

const ROOT = join(import.meta.dir, '..')
const readme = await Bun.file(join(ROOT, 'README.md')).text()
const ciRun = await Bun.file(join(ROOT, '.ci/run')).text()

/** The rows of the configuration table: cells of every `| \`--flag\` … |` line. */
const rows = readme
  .split('\n')
  .filter((l) => /^\| `--[a-z-]+`/.test(l))
  .map((l) =>
    l
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim()),
  )

function defaultCell(def: unknown): string {
  if (typeof def === 'function') return '`$AGENTGATE_HOME/agentgate.db`'
  if (def === null || (Array.isArray(def) && def.length === 0)) return 'none'
  return `\`${String(def)}\``
}

describe('README configuration table', () => {
  test.each(SETTINGS.map((s) => [s.flag, s] as const))('%s has a row with its env, config key and default', (flag, s) => {
    const row = rows.find((r) => r[0].startsWith(`\`${flag}\``))
    expect(row).toBeDefined()
    expect(row![1]).toBe(`\`${s.env}\``)
    expect(row![2]).toBe(`\`${s.file}\``)
    expect(row![3].startsWith(defaultCell(s.def))).toBe(true)
    expect(row![4].length).toBeGreaterThan(0)
  })

  test('lists no setting that does not exist', () => {
    const flags = new Set(SETTINGS.map((s) => s.flag))
    expect(rows.map((r) => r[0].match(/^`(--[a-z-]+)`/)![1]).filter((f) => !flags.has(f))).toEqual([])
    expect(rows).toHaveLength(SETTINGS.length)
  })
})

describe('README commands', () => {
  test('the test command sits after the marker .ci/run reads, and runs bun test', () => {
    const m = readme.match(/<!-- test-command -->\n```sh\n(.+)\n```/)
    expect(m).not.toBeNull()
    expect(m![1]).toContain('bun test')
    expect(ciRun).toContain('<!-- test-command -->')
  })

  test('the install, run and build commands are the documented ones', () => {
    expect(readme).toContain('npm install -g bun@1.4.5')
    expect(readme).toContain('bun install && bun run src/main.ts')
    expect(readme).toContain('bun run build.ts')
  })
})

describe('README: running from source', () => {
  test('documents bun install --production, which leaves out the test-only Codex CLI', async () => {
    expect(readme).toContain('bun install --production && bun run src/main.ts')
    const pkg = await Bun.file(join(ROOT, 'package.json')).json()
    expect(Object.keys(pkg.devDependencies)).toContain('@openai/codex')
    expect(Object.keys(pkg.dependencies)).not.toContain('@openai/codex')
  })

  test('the snippet that puts agentgate on PATH works: agentgate --version runs from another directory', async () => {
    const m = readme.match(/<!-- path-from-source -->\n```sh\n([\s\S]+?)\n```/)
    expect(m).not.toBeNull()
    const home = mkdtempSync(join(tmpdir(), 'agentgate-path-'))
    try {
      // the wrapper runs `bun` from PATH, as a user's shell would: the Bun running this test is put there
      const env = { ...process.env, HOME: home, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }
      const setup = Bun.spawnSync(['sh', '-ec', m![1]], { cwd: ROOT, env, stdout: 'pipe', stderr: 'pipe' })
      expect(setup.stderr.toString()).toBe('')
      expect(setup.exitCode).toBe(0)
      const run = Bun.spawnSync(['agentgate', '--version'], {
        cwd: home,
        env: { ...env, PATH: `${join(home, '.local', 'bin')}:${env.PATH}` },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      expect(run.stdout.toString()).toStartWith('agentgate ')
      expect(run.exitCode).toBe(0)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
