// `agentgate doctor`, run as a real process: a ✓/✗ checklist of config, database, upstream, catalog and agent CLIs,
// exit 1 when a check fails.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { openStore } from '../../src/store'
import { run } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startMcpServer, stdioServerCommand } from '../support/mcp-server'
import { createTestDatabase } from '../support/postgres'

const BIN_DIR = resolve(import.meta.dir, '../../node_modules/.bin')
let root: string
let up: FakeUpstream

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'agentgate-doctor-'))
  up = startFakeUpstream({ models: [{ id: 'served-model', max_model_len: 8192 }] })
})
afterAll(async () => {
  await up.stop()
  rmSync(root, { recursive: true, force: true })
})

const doctor = (args: string[], extraEnv: Record<string, string> = {}) =>
  run([process.execPath, MAIN, 'doctor', ...args], {
    env: cleanEnv({ AGENTGATE_HOME: join(root, 'home'), PATH: `${BIN_DIR}:/usr/bin:/bin`, NO_COLOR: '1', ...extraEnv }),
    timeoutMs: 30_000,
  })

const line = (out: string, name: string) => out.split('\n').find((l) => new RegExp(`^[✓⚠✗] ${name}\\s\\s`).test(l)) ?? ''

describe('agentgate doctor', () => {
  test('passes against a working upstream: every check ✓, the models listed, codex found with its version, exit 0', async () => {
    const db = join(root, 'ok.db')
    const store = await openStore({ db, databaseUrl: null })
    await store.close()
    const r = await doctor(['--upstream', up.url, '--db', db, '--probe'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(line(r.stdout, 'config')).toStartWith('✓')
    expect(line(r.stdout, 'database')).toMatch(/^✓ .*integrity ok, schema version \d+ \(current\)/)
    expect(line(r.stdout, 'upstream')).toMatch(/^✓ .*serves served-model/)
    expect(line(r.stdout, 'upstream probe')).toMatch(/^✓ .*\/responses/)
    expect(line(r.stdout, 'codex catalog')).toMatch(/^✓ .*served-model: 8192 tokens/)
    expect(line(r.stdout, 'codex')).toMatch(/^✓ codex\s+codex-cli \d+\.\d+/)
    expect(r.stdout).toContain('all checks passed')
    // the probe is one 1-token request on the configured wire API
    const probe = up.requestsTo('/v1/responses').at(-1)!
    expect(probe.body).toMatchObject({ model: 'served-model', max_output_tokens: 1 })
  }, 60_000)

  test('--upstream-api chat probes /chat/completions with max_tokens 1', async () => {
    const before = up.requestsTo('/v1/chat/completions').length
    const r = await doctor(['--upstream', up.url, '--db', join(root, 'none.db'), '--upstream-api', 'chat', '--probe'])
    expect(r.code).toBe(0)
    expect(line(r.stdout, 'upstream probe')).toMatch(/^✓ .*\/chat\/completions/)
    expect(
      up
        .requestsTo('/v1/chat/completions')
        .slice(before)
        .map((q) => q.body.max_tokens),
    ).toEqual([1])
  }, 60_000)

  test('fails against a dead upstream, naming its URL without the credentials, with a hint; exit 1', async () => {
    const dead = startFakeUpstream()
    const port = dead.port
    await dead.stop()
    const r = await doctor(['--upstream', `http://probe-user:s3cret-pw@127.0.0.1:${port}/v1`, '--db', join(root, 'none.db')])
    expect(r.code).toBe(1)
    const upstream = line(r.stdout, 'upstream')
    expect(upstream).toStartWith('✗')
    expect(upstream).toContain(`127.0.0.1:${port}/v1`)
    expect(upstream).toContain('not answering')
    expect(r.stdout).not.toContain('s3cret-pw')
    expect(r.stdout).toContain('→ start the inference server')
    expect(r.stdout).toMatch(/1 check failed/)
  }, 60_000)

  test('a file that is not a database fails the database check, naming the path', async () => {
    const bad = join(root, 'not-a-db.db')
    writeFileSync(bad, 'this is not SQLite '.repeat(500))
    const r = await doctor(['--upstream', up.url, '--db', bad])
    expect(r.code).toBe(1)
    expect(line(r.stdout, 'database')).toMatch(new RegExp(`^✗ database\\s+cannot open ${bad.replace(/[.]/g, '\\.')}: .*not a database`))
  }, 60_000)

  test('codex and claude missing from PATH are warnings, not failures', async () => {
    const r = await doctor(['--upstream', up.url, '--db', join(root, 'none.db')], { PATH: '/nonexistent' })
    expect(r.code).toBe(0)
    expect(line(r.stdout, 'codex')).toMatch(/^⚠ codex\s+not on PATH/)
    expect(line(r.stdout, 'claude')).toMatch(/^⚠ claude\s+not on PATH/)
    expect(r.stdout).toContain('npm install -g @openai/codex')
  }, 60_000)

  test('a bad setting is a failed config check, exit 1', async () => {
    const r = await doctor(['--upstream-api', 'grpc'])
    expect(r.code).toBe(1)
    expect(line(r.stdout, 'config')).toMatch(/^✗ config\s+invalid value for --upstream-api/)
  }, 30_000)

  test('with --database-url it queries PostgreSQL and reads the schema version; a wrong password fails without showing it', async () => {
    const pg = await createTestDatabase('doctor')
    if (!pg) return console.warn('skipped: no PostgreSQL server (see test/support/postgres.ts)')
    try {
      const store = await openStore({ db: ':memory:', databaseUrl: pg.url })
      await store.close()
      const ok = await doctor(['--upstream', up.url, '--database-url', pg.url])
      expect(ok.code).toBe(0)
      expect(line(ok.stdout, 'database')).toMatch(/^✓ database\s+PostgreSQL .*schema version \d+ \(current\)/)
      const wrong = new URL(pg.url)
      wrong.username = 'nobody'
      wrong.password = 'wr0ng-secret'
      const bad = await doctor(['--upstream', up.url, '--database-url', wrong.toString()])
      expect(bad.code).toBe(1)
      expect(line(bad.stdout, 'database')).toMatch(/^✗ database\s+cannot query PostgreSQL at /)
      expect(bad.stdout).not.toContain('wr0ng-secret')
    } finally {
      await pg.drop()
    }
  }, 60_000)

  test('lists the tools of each configured MCP server (HTTP and stdio); one that is down fails, named, without its headers', async () => {
    const mcp = await startMcpServer()
    const down = await startMcpServer()
    const downUrl = down.url
    await down.stop()
    const { command, args } = stdioServerCommand()
    const config = join(root, 'mcp.toml')
    writeFileSync(
      config,
      [
        `[mcp_servers.web]\nurl = ${JSON.stringify(mcp.url)}\nheaders = { X-Key = "hdr-s3cret" }`,
        `[mcp_servers.local]\ncommand = ${JSON.stringify(command)}\nargs = ${JSON.stringify(args)}`,
        `[mcp_servers.gone]\nurl = ${JSON.stringify(downUrl)}\nheaders = { X-Key = "hdr-s3cret" }`,
      ].join('\n'),
    )
    try {
      const r = await doctor(['--config', config, '--upstream', up.url, '--db', join(root, 'none.db'), '--mcp-timeout-ms', '20000'])
      expect(line(r.stdout, 'mcp web')).toMatch(/^✓ mcp web\s+http:\/\/127\.0\.0\.1:\d+\/mcp \(HTTP\): 8 tools \(echo, add, slow, /)
      expect(line(r.stdout, 'mcp local')).toStartWith('✓ mcp local')
      expect(line(r.stdout, 'mcp local')).toContain(`${basename(command)} (stdio): 8 tools`)
      expect(line(r.stdout, 'mcp gone')).toStartWith('✗ mcp gone')
      expect(line(r.stdout, 'mcp gone')).toContain(`tools/list on MCP server "gone" (${downUrl}) failed: the connection was refused`)
      expect(r.stdout).toContain('→ check [mcp_servers.gone]')
      expect(r.stdout).not.toContain('hdr-s3cret')
      expect(mcp.requests.every((q) => q.headers['x-key'] === 'hdr-s3cret')).toBe(true)
      expect(r.code).toBe(1)
    } finally {
      await mcp.stop()
    }
  }, 60_000)

  test('--help describes the checks', async () => {
    const r = await doctor(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: agentgate doctor')
    expect(r.stdout).toContain('--probe')
  })
})
