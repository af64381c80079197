// The shipped artefact: dist/agentgate, copied alone into an empty directory, run with an empty home.
// It must serve, document itself without any CDN, create its database, and fail on bad settings with
// one line. Everything a user would notice if the binary were missing an embedded file.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pkg from '../../package.json'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { rawRequest, upgradeHead } from '../support/raw-http'
import { copyBinaryAlone, ensureBinary, run, startBinary, type RunningBinary } from '../support/binary'

const EXTERNAL_URL = /https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])[^\s"'<>)]+/g

let upstream: FakeUpstream
let bin: { dir: string; path: string }
let home: string
let gateHome: string
let gw: RunningBinary
let env: Record<string, string>

beforeAll(async () => {
  upstream = startFakeUpstream({ models: [{ id: 'test-model', max_model_len: 32768 }] })
  await ensureBinary()
  bin = copyBinaryAlone()
  home = mkdtempSync(join(tmpdir(), 'agentgate-home-'))
  gateHome = mkdtempSync(join(tmpdir(), 'agentgate-gatehome-'))
  // Nothing from the test runner's environment leaks in: no AGENTGATE_*, no NODE_ENV, no BUN_*.
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: gateHome }
  gw = await startBinary(bin.path, ['--port', '0', '--upstream', upstream.url, '--log-level', 'warn'], {
    cwd: bin.dir,
    env,
    timeoutMs: 20_000,
  })
  console.log(
    `binary: ${(statSync(bin.path).size / 1024 / 1024).toFixed(1)} MB, listening ${Math.round(gw.startMs)} ms after spawn at ${gw.url}`,
  )
}, 300_000)

afterAll(async () => {
  const code = await gw?.stop()
  expect(code === 0 || code === null || code === 143).toBe(true)
  await upstream?.stop()
  for (const d of [bin?.dir, home, gateHome]) if (d) rmSync(d, { recursive: true, force: true })
})

const get = (path: string, init?: RequestInit) => fetch(gw.url + path, { ...init, signal: AbortSignal.timeout(10_000) })

describe('the compiled binary, alone in an empty directory', () => {
  test('prints one parseable listening line with a loopback URL', () => {
    expect(gw.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(gw.stdout().match(/agentgate listening on/g)?.length).toBe(1)
  })

  test('GET /health answers 200 with the package version', async () => {
    const r = await get('/health')
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ status: 'ok', version: pkg.version })
  })

  test('/docs is Swagger UI with no CDN reference', async () => {
    const r = await get('/docs')
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/html')
    const html = await r.text()
    expect(html).toContain('SwaggerUIBundle')
    expect(html.match(EXTERNAL_URL)).toBeNull()
    expect(html).toContain('/docs/assets/swagger-ui-bundle.js')
    expect(html).toContain('/docs/assets/swagger-ui.css')
  })

  test('the Swagger UI assets are embedded: same bytes as swagger-ui-dist', async () => {
    for (const [file, type] of [
      ['swagger-ui-bundle.js', 'javascript'],
      ['swagger-ui.css', 'text/css'],
    ]) {
      const r = await get(`/docs/assets/${file}`)
      expect(r.status).toBe(200)
      expect(r.headers.get('content-type')).toContain(type)
      const body = new Uint8Array(await r.arrayBuffer())
      const expected = new Uint8Array(await Bun.file(join(import.meta.dir, '../../node_modules/swagger-ui-dist', file)).arrayBuffer())
      expect(body.length).toBe(expected.length)
      expect(Bun.hash(body)).toBe(Bun.hash(expected))
    }
    expect((await get('/docs/assets/index.html')).status).toBe(404)
  })

  test('/docs/json is the OpenAPI document', async () => {
    const r = await get('/docs/json')
    expect(r.status).toBe(200)
    const doc = (await r.json()) as any
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/)
    expect(doc.info).toMatchObject({ title: 'agentgate', version: pkg.version })
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/ready', '/v1/models', '/v1/chat/completions']))
    expect(doc.components.schemas.ErrorBody).toBeDefined()
  })

  test('GET /v1/models is the OpenAI list for SDKs', async () => {
    const r = await get('/v1/models')
    expect(r.status).toBe(200)
    const body = (await r.json()) as any
    expect(body.object).toBe('list')
    expect(body.data.map((m: any) => m.id)).toContain('test-model')
  })

  test('GET /v1/models?client_version=0.169.0 is the Codex catalog shape', async () => {
    const r = await get('/v1/models?client_version=0.169.0')
    expect(r.status).toBe(200)
    const body = (await r.json()) as any
    expect(Array.isArray(body.models)).toBe(true)
    expect(body.models.map((m: any) => m.slug)).toContain('test-model')
  })

  test('routes by the real path with a short Host (Host: api): the WebSocket upgrade switches, /v1/v1/models is 404', async () => {
    const port = Number(new URL(gw.url).port)
    expect((await rawRequest(port, upgradeHead('/v1/responses', ['Host: api']))).status).toBe(101)
    expect((await rawRequest(port, 'GET /v1/v1/models HTTP/1.1\r\nHost: x')).status).toBe(404)
    expect((await rawRequest(port, 'GET /v1/models HTTP/1.0')).status).toBe(200)
  })

  test('creates its SQLite database under AGENTGATE_HOME and writes nothing to HOME', () => {
    const db = join(gateHome, 'agentgate.db')
    expect(existsSync(db)).toBe(true)
    expect(statSync(db).size).toBeGreaterThan(0)
    expect(readdirSync(home)).toEqual([])
    // the binary's own directory stays as it was: just the binary
    expect(readdirSync(bin.dir)).toEqual(['agentgate'])
  })

  test('--version prints the package version', async () => {
    const r = await run([bin.path, '--version'], { cwd: bin.dir, env })
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(`agentgate ${pkg.version}`)
  })

  test('--help and serve --help describe the commands and settings', async () => {
    const top = await run([bin.path, '--help'], { cwd: bin.dir, env })
    expect(top.code).toBe(0)
    expect(top.stdout).toContain('Usage:')
    expect(top.stdout).toContain('serve')
    const serve = await run([bin.path, 'serve', '--help'], { cwd: bin.dir, env })
    expect(serve.code).toBe(0)
    for (const flag of ['--port', '--upstream', '--db', '--api-key']) expect(serve.stdout).toContain(flag)
  })

  test('a bad setting exits non-zero with one line naming it and no stack trace', async () => {
    const r = await run([bin.path, '--port', 'abc'], { cwd: bin.dir, env })
    expect(r.code).not.toBe(0)
    expect(r.timedOut).toBe(false)
    const lines = r.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('--port')
    expect(r.stderr).not.toMatch(/^\s+at /m)
    expect(r.stdout).not.toContain('listening')
  })

  test('SIGTERM the moment "listening" is printed still drains and exits 0 (a supervisor may stop it right away)', async () => {
    // Five starts, each signalled as soon as its line is read: before the fix, every one was killed (exit 143).
    for (let i = 0; i < 5; i++) {
      const gateHome = mkdtempSync(join(tmpdir(), 'agentgate-sigterm-'))
      try {
        const g = await startBinary(bin.path, ['--port', '0', '--upstream', upstream.url, '--log-level', 'info'], {
          cwd: bin.dir,
          env: { ...env, AGENTGATE_HOME: gateHome },
          timeoutMs: 20_000,
        })
        process.kill(g.pid, 'SIGTERM')
        expect(await g.exited).toBe(0)
        // the pipes may still hold the last lines when the exit is seen: read on, bounded
        for (let t = 0; t < 40 && !(g.stdout() + g.stderr()).includes('"msg":"shut down"'); t++) await Bun.sleep(50)
        expect(g.stdout() + g.stderr()).toContain('"msg":"shut down"')
      } finally {
        rmSync(gateHome, { recursive: true, force: true })
      }
    }
  }, 60_000)

  test('does not autoload a .env or bunfig.toml from the working directory', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'agentgate-cwd-'))
    try {
      // Either file, if loaded, would make start-up fail (checked against a binary built without the flags).
      writeFileSync(join(cwd, '.env'), 'AGENTGATE_UPSTREAM_API=not-an-api\n')
      writeFileSync(join(cwd, 'bunfig.toml'), 'preload = ["./missing-preload.ts"]\n')
      const gateHome2 = join(cwd, 'home')
      mkdirSync(gateHome2)
      const other = await startBinary(bin.path, ['--port', '0', '--upstream', upstream.url, '--log-level', 'warn'], {
        cwd,
        env: { ...env, AGENTGATE_HOME: gateHome2 },
        timeoutMs: 20_000,
      })
      try {
        expect((await fetch(other.url + '/health', { signal: AbortSignal.timeout(10_000) })).status).toBe(200)
      } finally {
        await other.stop()
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true })
    }
  })
})
