// The MCP client against real SDK servers on loopback: Streamable HTTP (pooled sessions, paged tools/list, calls that
// succeed, fail, time out or are cancelled, headers that reach only their own server, a server that goes down) and
// the fallback to the older SSE transport.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { createMcpServers, McpError, type McpServers } from '../../src/mcp'
import { silentLogger } from '../../src/log'
import { type McpTestServer, startMcpServer, startSseMcpServer } from '../support/mcp-server'
import { mcpConfig, recordingLogger, tomlString } from './support'

let mcp: McpTestServer
let other: McpTestServer
let services: McpServers[] = []

beforeAll(async () => {
  mcp = await startMcpServer({ fillerTools: 7 })
  other = await startMcpServer()
})
afterAll(async () => {
  await mcp.stop()
  await other.stop()
})
afterEach(async () => {
  await Promise.all(services.map((s) => s.close()))
  services = []
})

function service(toml: string | null = null, opts: { idleTimeoutMs?: number; logger?: ReturnType<typeof recordingLogger>['logger'] } = {}) {
  const s = createMcpServers(mcpConfig(['--mcp-allowed-hosts', '127.0.0.1'], toml), opts.logger ?? silentLogger, opts)
  services.push(s)
  return s
}

const declare = (s: McpServers, url: string, extra: Record<string, unknown> = {}) =>
  s.resolve({ type: 'mcp', server_label: 'test', server_url: url, ...extra }, 'tools.0')

describe('tools/list', () => {
  test('lists every tool across pages, in order, with schema and annotations', async () => {
    const s = service()
    const tools = await s.listTools(declare(s, mcp.url), {})
    // 8 default tools + 7 fillers at 3 a page: 5 pages
    expect(tools.map((t) => t.name)).toEqual([
      'echo',
      'add',
      'slow',
      'fails',
      'image',
      'headers',
      'pid',
      'env',
      ...[1, 2, 3, 4, 5, 6, 7].map((i) => `filler_00${i}`),
    ])
    expect(tools[0]).toEqual({
      name: 'echo',
      description: 'Echoes the text back',
      input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
      annotations: { readOnlyHint: true },
    })
    expect(tools[2].annotations).toBeNull()
    const lists = mcp.requests.filter((r) => r.method === 'POST').length
    expect(lists).toBeGreaterThanOrEqual(5)
  })

  test('a server that keeps handing out cursors is cut off with an McpError', async () => {
    const endless = await startMcpServer({ fillerTools: 400, pageSize: 1 })
    try {
      const s = service()
      const err = await s.listTools(declare(s, endless.url), {}).catch((e) => e)
      expect(err).toBeInstanceOf(McpError)
      expect(err.message).toContain('listed more than 100 pages of tools')
    } finally {
      await endless.stop()
    }
  })

  test('a server that is down: McpError naming the server and the reason', async () => {
    const down = await startMcpServer()
    const url = down.url
    await down.stop()
    const s = service()
    const err = await s.listTools(declare(s, url), {}).catch((e) => e)
    expect(err).toBeInstanceOf(McpError)
    expect(err.message).toStartWith(`tools/list on MCP server "test" (${url}) failed:`)
    expect(err.message).toContain('refused')
  })

  test('a URL that is not an MCP endpoint: McpError with the HTTP status, not the body', async () => {
    const s = service()
    const err = await s.listTools(declare(s, mcp.url.replace(/\/mcp$/, '/nothing-here')), {}).catch((e) => e)
    expect(err).toBeInstanceOf(McpError)
    expect(err.message).toContain('HTTP 404')
  })
})

describe('tools/call', () => {
  test('text output', async () => {
    const s = service()
    const server = declare(s, mcp.url)
    expect(await s.callTool(server, 'echo', { text: 'hi there' }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: 'hi there' })
    expect(await s.callTool(server, 'add', { a: 2, b: 40 }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: '42' })
    expect(mcp.calls.slice(-2).map((c) => [c.tool, c.arguments])).toEqual([
      ['echo', { text: 'hi there' }],
      ['add', { a: 2, b: 40 }],
    ])
  })

  test('non-text parts are summarised', async () => {
    const s = service()
    expect(await s.callTool(declare(s, mcp.url), 'image', {}, { timeoutMs: 10_000 })).toEqual({
      ok: true,
      output: 'a red dot\n[image/png, 10 bytes]',
    })
  })

  test('isError becomes ok:false with the tool’s text', async () => {
    const s = service()
    expect(await s.callTool(declare(s, mcp.url), 'fails', {}, { timeoutMs: 10_000 })).toEqual({ ok: false, error: 'it failed on purpose' })
  })

  test('a call past its timeout is ok:false "timed out after N s", and the session stays usable', async () => {
    const s = service()
    const server = declare(s, mcp.url)
    const r = await s.callTool(server, 'slow', { ms: 30_000 }, { timeoutMs: 300 })
    expect(r).toEqual({ ok: false, error: `tool "slow" on MCP server "test" (${mcp.url}) timed out after 0.3 s` })
    expect(await s.callTool(server, 'echo', { text: 'still here' }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: 'still here' })
  })

  test('an aborted call is ok:false "cancelled" at once, and the server is told to stop it', async () => {
    let started = false
    let stopped = false
    const waiting = await startMcpServer({
      tools: {
        wait: {
          run: (_a, ctx) =>
            new Promise<string>((resolve) => {
              started = true
              ctx.signal.addEventListener('abort', () => {
                stopped = true
                resolve('stopped')
              })
            }),
        },
      },
    })
    try {
      const s = service()
      const ac = new AbortController()
      const pending = s.callTool(declare(s, waiting.url), 'wait', {}, { timeoutMs: 60_000, signal: ac.signal })
      for (let i = 0; i < 200 && !started; i++) await Bun.sleep(10)
      ac.abort()
      expect(await pending).toEqual({ ok: false, error: `tool "wait" on MCP server "test" (${waiting.url}) was cancelled` })
      for (let i = 0; i < 200 && !stopped; i++) await Bun.sleep(10)
      expect(stopped).toBe(true)
    } finally {
      await waiting.stop()
    }
  })

  test('a server that accepts the connection but never answers: tools/list times out, calls too', async () => {
    const silent = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 0, fetch: () => new Promise<Response>(() => {}) })
    try {
      const s = service()
      const url = `http://127.0.0.1:${silent.port}/mcp`
      const err = await s.listTools(declare(s, url), { timeoutMs: 300 }).catch((e) => e)
      expect(err).toBeInstanceOf(McpError)
      expect(err.message).toBe(`tools/list on MCP server "test" (${url}) timed out after 0.3 s`)
      expect(await s.callTool(declare(s, url), 'echo', { text: 'x' }, { timeoutMs: 200 })).toEqual({
        ok: false,
        error: `tool "echo" on MCP server "test" (${url}) timed out after 0.2 s`,
      })
    } finally {
      await silent.stop(true)
    }
  })

  test('a redirect to another origin is not followed (the allowlist was asked about this URL only)', async () => {
    const before = other.requests.length
    const redirecting = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.redirect(other.url, 307) })
    try {
      const s = service()
      const err = await s.listTools(declare(s, `http://127.0.0.1:${redirecting.port}/mcp`), {}).catch((e) => e)
      expect(err).toBeInstanceOf(McpError)
      expect(err.message).toContain('redirect (HTTP 307) to another origin, which is not followed')
      expect(other.requests.length).toBe(before)
    } finally {
      await redirecting.stop(true)
    }
  })

  test('a tools/list answer that is not valid MCP is an McpError saying so', async () => {
    const broken = await startMcpServer({ tools: { bad: { inputSchema: { type: 'string' }, run: () => 'x' } } })
    try {
      const s = service()
      const err = await s.listTools(declare(s, broken.url), {}).catch((e) => e)
      expect(err).toBeInstanceOf(McpError)
      expect(err.message).toContain('not valid MCP')
    } finally {
      await broken.stop()
    }
  })

  test('a server that went down between calls: ok:false, then a fresh session once it is back', async () => {
    let flaky = await startMcpServer()
    const s = service()
    const server = declare(s, flaky.url)
    expect((await s.callTool(server, 'echo', { text: '1' }, { timeoutMs: 10_000 })).ok).toBe(true)
    const port = new URL(flaky.url).port
    await flaky.stop()
    const r = await s.callTool(server, 'echo', { text: '2' }, { timeoutMs: 10_000 })
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toContain('refused')
    // the same port again (a restarted server): the old session is unknown there, the client opens a new one
    flaky = await startMcpServerOnPort(Number(port))
    try {
      expect(await s.callTool(server, 'echo', { text: '3' }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: '3' })
    } finally {
      await flaky.stop()
    }
  })
})

describe('a restarted server', () => {
  test('a pooled session the server no longer knows (404) is replaced once, and the call runs exactly once', async () => {
    let first = await startMcpServer()
    const s = service()
    const server = declare(s, first.url)
    expect((await s.callTool(server, 'echo', { text: 'before' }, { timeoutMs: 10_000 })).ok).toBe(true)
    const port = Number(new URL(first.url).port)
    await first.stop()
    first = await startMcpServerOnPort(port)
    try {
      expect(await s.callTool(server, 'echo', { text: 'after' }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: 'after' })
      expect(first.calls.map((c) => c.arguments)).toEqual([{ text: 'after' }])
      expect(first.requests.some((r) => r.headers['mcp-session-id'] && r.method === 'POST')).toBe(true)
    } finally {
      await first.stop()
    }
  })
})

/** startMcpServer on a given port (Bun.serve port 0 picks one; a restart needs the old one). */
async function startMcpServerOnPort(port: number): Promise<McpTestServer> {
  for (let i = 0; i < 20; i++) {
    const s = await startMcpServer({ port }).catch(() => null)
    if (s) return s
    await Bun.sleep(50)
  }
  throw new Error(`port ${port} did not free up`)
}

describe('sessions and headers', () => {
  test('one session serves a list and several calls (pooled), and close() ends it', async () => {
    const s = service()
    const before = mcp.sessions()
    const server = declare(s, mcp.url)
    // concurrent first uses wait for the same connection
    await Promise.all([
      s.listTools(server, {}),
      ...[1, 2, 3].map((i) => s.callTool(server, 'echo', { text: String(i) }, { timeoutMs: 10_000 })),
    ])
    await s.listTools(server, {})
    // the same server declared again by a later request (same URL, same credentials) reuses the session
    await s.callTool(declare(s, mcp.url), 'echo', { text: '4' }, { timeoutMs: 10_000 })
    expect(mcp.sessions()).toBe(before + 1)
    await s.close()
    // the client does not always say goodbye (DELETE): what must hold is that its calls stop
    expect(await s.callTool(server, 'echo', { text: '5' }, { timeoutMs: 10_000 })).toMatchObject({ ok: false })
  })

  test('different credentials get different sessions', async () => {
    const s = service()
    const before = mcp.sessions()
    await s.callTool(declare(s, mcp.url, { authorization: 'a' }), 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    await s.callTool(declare(s, mcp.url, { authorization: 'b' }), 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    expect(mcp.sessions()).toBe(before + 2)
  })

  test('an idle session is closed after the idle timeout, and the next call opens a new one', async () => {
    const { logger, lines } = recordingLogger()
    const s = service(null, { idleTimeoutMs: 50, logger })
    const server = declare(s, mcp.url)
    await s.callTool(server, 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('"why":"idle"')); i++) await Bun.sleep(20)
    expect(lines.some((l) => l.includes('mcp connection closed') && l.includes('"why":"idle"'))).toBe(true)
    expect(await s.callTool(server, 'echo', { text: 'y' }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: 'y' })
    expect(lines.filter((l) => l.includes('"msg":"mcp connected"'))).toHaveLength(2)
  })

  test('headers and authorization reach their own server, on every request, and no other', async () => {
    const s = service()
    const mine = declare(s, mcp.url, { headers: { 'X-Team': 'blue', 'X-Api-Key': 'k-123' }, authorization: 'tok-456' })
    const theirs = declare(s, other.url)
    const seen = await s.callTool(mine, 'headers', {}, { timeoutMs: 10_000 })
    expect(seen.ok).toBe(true)
    const h = JSON.parse(seen.ok ? seen.output : '{}')
    expect(h).toMatchObject({ 'x-team': 'blue', 'x-api-key': 'k-123', authorization: 'Bearer tok-456' })
    // every HTTP request of that session carried them (initialize, notifications, list, calls)
    const sid = mcp.requests.find((r) => r.headers['x-api-key'] === 'k-123' && r.headers['mcp-session-id'])?.headers['mcp-session-id']
    const session = mcp.requests.filter((r) => r.headers['mcp-session-id'] === sid)
    expect(session.length).toBeGreaterThan(0)
    expect(session.every((r) => r.headers['x-api-key'] === 'k-123' && r.headers.authorization === 'Bearer tok-456')).toBe(true)
    await s.callTool(theirs, 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    const leaked = other.requests.filter((r) => JSON.stringify(r.headers).match(/k-123|tok-456|blue/))
    expect(leaked).toEqual([])
  })

  test('the debug log of a whole session (connect, list, calls, a failure, idle close) holds no header, token or URL key', async () => {
    const { logger, lines } = recordingLogger()
    const s = service(null, { logger, idleTimeoutMs: 50 })
    const server = declare(s, `${mcp.url}?api_key=qs3cret`, { headers: { 'X-Api-Key': 'hs3cret' }, authorization: 'ts3cret' })
    await s.listTools(server, {})
    await s.callTool(server, 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    await s.callTool(server, 'slow', { ms: 30_000 }, { timeoutMs: 100 })
    await s.callTool(declare(s, 'http://127.0.0.1:1/mcp?token=us3cret'), 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    for (let i = 0; i < 100 && !lines.some((l) => l.includes('"why":"idle"')); i++) await Bun.sleep(20)
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.join('\n')).not.toMatch(/s3cret/)
  })

  test('configured headers reach the configured server; request headers never reach it', async () => {
    const { logger, lines } = recordingLogger()
    const s = service(`[mcp_servers.wiki]\nurl = ${tomlString(other.url)}\nheaders = { X-Conf = "c0nf" }\n`, { logger })
    const wiki = s.resolve({ type: 'mcp', server_label: 'wiki' }, 'tools.0')
    declare(s, mcp.url, { headers: { 'X-Req': 'r3q' } })
    const r = await s.callTool(wiki, 'headers', {}, { timeoutMs: 10_000 })
    const h = JSON.parse(r.ok ? r.output : '{}')
    expect(h['x-conf']).toBe('c0nf')
    expect(h['x-req']).toBeUndefined()
    // nothing secret in the debug log either
    expect(lines.join('\n')).not.toMatch(/c0nf|r3q/)
  })
})

describe('SSE fallback', () => {
  let old: McpTestServer
  beforeAll(async () => {
    old = await startSseMcpServer()
  })
  afterAll(() => old.stop())

  test('a server that answers the Streamable HTTP POST with 405 is reached over SSE: list and call', async () => {
    const { logger, lines } = recordingLogger()
    const s = service(null, { logger })
    const server = declare(s, old.url, { headers: { 'X-Old': 'yes' } })
    const tools = await s.listTools(server, {})
    expect(tools.map((t) => t.name)).toContain('echo')
    expect(await s.callTool(server, 'add', { a: 1, b: 2 }, { timeoutMs: 10_000 })).toEqual({ ok: true, output: '3' })
    expect(lines.some((l) => l.includes('"msg":"mcp connected"') && l.includes('"transport":"sse"'))).toBe(true)
    // the first POST was refused, then the GET stream carried the session; the headers went along on both
    expect(old.requests[0]).toMatchObject({ method: 'POST', path: '/sse' })
    expect(old.requests.some((r) => r.method === 'GET' && r.path === '/sse' && r.headers['x-old'] === 'yes')).toBe(true)
    expect(old.requests.filter((r) => r.path === '/messages').every((r) => r.headers['x-old'] === 'yes')).toBe(true)
  })

  test('a timed-out call over SSE is ok:false too', async () => {
    const s = service()
    expect(await s.callTool(declare(s, old.url), 'slow', { ms: 30_000 }, { timeoutMs: 200 })).toMatchObject({
      ok: false,
      error: expect.stringContaining('timed out after 0.2 s'),
    })
  })
})
