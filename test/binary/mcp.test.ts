// The MCP client inside the compiled binary: `agentgate doctor` of dist/agentgate (copied alone into an empty
// directory) lists the tools of configured MCP servers over Streamable HTTP, the older SSE transport and stdio —
// the SDK's transports, its JSON schema validation and child-process spawning all work from the embedded bundle —
// and `serve` runs a turn with a request-declared MCP server (lazily loaded SDK included).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { copyBinaryAlone, ensureBinary, run, startBinary } from '../support/binary'
import { type FakeUpstream, startFakeUpstream } from '../support/fake-upstream'
import { type McpTestServer, startMcpServer, startSseMcpServer, stdioServerCommand } from '../support/mcp-server'

let upstream: FakeUpstream
let http: McpTestServer
let sse: McpTestServer
let bin: { dir: string; path: string }
let home: string

beforeAll(async () => {
  upstream = startFakeUpstream({ models: [{ id: 'test-model', max_model_len: 32768 }] })
  http = await startMcpServer()
  sse = await startSseMcpServer()
  await ensureBinary()
  bin = copyBinaryAlone()
  home = mkdtempSync(join(tmpdir(), 'agentgate-mcp-bin-'))
}, 300_000)

afterAll(async () => {
  await upstream?.stop()
  await http?.stop()
  await sse?.stop()
  for (const d of [bin?.dir, home]) if (d) rmSync(d, { recursive: true, force: true })
})

describe('the compiled binary talks to MCP servers', () => {
  test('agentgate doctor lists the tools of a Streamable HTTP, an SSE-only and a stdio server', async () => {
    const { command, args } = stdioServerCommand()
    const config = join(home, 'config.toml')
    writeFileSync(
      config,
      [
        `[mcp_servers.streamable]\nurl = ${JSON.stringify(http.url)}\nheaders = { X-Key = "bin-s3cret" }`,
        `[mcp_servers.oldsse]\nurl = ${JSON.stringify(sse.url)}`,
        `[mcp_servers.local]\ncommand = ${JSON.stringify(command)}\nargs = ${JSON.stringify(args)}`,
      ].join('\n'),
    )
    const r = await run(
      [bin.path, 'doctor', '--config', config, '--upstream', upstream.url, '--db', join(home, 'none.db'), '--mcp-timeout-ms', '30000'],
      { cwd: bin.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home }, timeoutMs: 60_000 },
    )
    const line = (name: string) =>
      r.stdout.split('\n').find((l) => l.includes(` mcp ${name} `)) ?? `(no line for ${name})\n${r.stdout}\n${r.stderr}`
    expect(line('streamable')).toMatch(/^✓ .*\(HTTP\): 8 tools \(echo, add, /)
    expect(line('oldsse')).toMatch(/^✓ .*\(HTTP\): 8 tools \(echo, add, /)
    expect(line('local')).toMatch(/^✓ .*\(stdio\): 8 tools \(echo, add, /)
    // the SSE server was reached over its GET stream after refusing the Streamable HTTP POST
    expect(sse.requests.some((q) => q.method === 'GET' && q.path === '/sse')).toBe(true)
    expect(http.requests.length).toBeGreaterThan(0)
    expect(http.requests.every((q) => q.headers['x-key'] === 'bin-s3cret')).toBe(true)
    expect(r.stdout + r.stderr).not.toContain('bin-s3cret')
    expect(r.code).toBe(0)
  }, 120_000)

  test('agentgate serve runs a turn with a request-declared MCP server: list, call with the real output, answer', async () => {
    upstream.queue({ functionCalls: [{ name: 'mcp__wiki__add', arguments: JSON.stringify({ a: 20, b: 22 }), call_id: 'c1' }] })
    upstream.queue({ text: 'It is 42.' })
    const gw = await startBinary(
      bin.path,
      ['serve', '--port', '0', '--upstream', upstream.url, '--db', join(home, 'serve.db'), '--mcp-allowed-hosts', '127.0.0.1'],
      { cwd: bin.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home } },
    )
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'add 20 and 22',
        tools: [{ type: 'mcp', server_label: 'wiki', server_url: http.url, require_approval: 'never' }],
      })
      expect(r.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message'])
      expect(r.output[1]).toMatchObject({ type: 'mcp_call', name: 'add', output: '42', error: null })
      expect(r.output_text).toBe('It is 42.')
      expect(r.status).toBe('completed')
    } finally {
      expect(await gw.stop()).toBe(0)
    }
  }, 120_000)
})
