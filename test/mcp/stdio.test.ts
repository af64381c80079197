// Configured stdio servers: the gateway starts the command on first use, keeps it for later calls, starts it again
// when it died, stops it on close(); the child's environment is the safe defaults plus the configured env, and its
// stderr goes to the debug log.
import { afterEach, describe, expect, test } from 'bun:test'
import { createMcpServers, McpError, type McpServers } from '../../src/mcp'
import { stdioServerCommand } from '../support/mcp-server'
import { mcpConfig, recordingLogger, tomlString } from './support'

let services: McpServers[] = []
afterEach(async () => {
  await Promise.all(services.map((s) => s.close()))
  services = []
})

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitUntil(cond: () => boolean, what: string) {
  for (let i = 0; i < 200; i++) {
    if (cond()) return
    await Bun.sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

function stdioService(extraToml = '') {
  const { command, args } = stdioServerCommand()
  const toml = `[mcp_servers.local]\ncommand = ${tomlString(command)}\nargs = [${args.map(tomlString).join(', ')}]\ndescription = "Local tools"\n${extraToml}`
  const { logger, lines } = recordingLogger()
  const s = createMcpServers(mcpConfig([], toml), logger)
  services.push(s)
  return { s, server: s.resolve({ type: 'mcp', server_label: 'local' }, 'tools.0'), lines }
}

const pidOf = async (s: McpServers, server: ReturnType<McpServers['resolve']>) => {
  const r = await s.callTool(server, 'pid', {}, { timeoutMs: 20_000 })
  if (!r.ok) throw new Error(r.error)
  return Number(r.output)
}

describe('stdio servers', () => {
  test('started on first use, listed and called, and the same process serves every later call', async () => {
    const { s, server, lines } = stdioService()
    expect(server).toMatchObject({ label: 'local', source: 'configured', where: process.execPath.split('/').pop() })
    // nothing runs before the first use
    expect(lines.some((l) => l.includes('mcp connected'))).toBe(false)
    const tools = await s.listTools(server, { timeoutMs: 20_000 })
    expect(tools.map((t) => t.name)).toContain('echo')
    expect(await s.callTool(server, 'echo', { text: 'over stdio' }, { timeoutMs: 20_000 })).toEqual({ ok: true, output: 'over stdio' })
    const pid = await pidOf(s, server)
    expect(await pidOf(s, server)).toBe(pid)
    expect(lines.filter((l) => l.includes('"msg":"mcp connected"'))).toHaveLength(1)
  })

  test('its stderr goes to the debug log, line by line', async () => {
    const { s, server, lines } = stdioService()
    const pid = await pidOf(s, server)
    await waitUntil(() => lines.some((l) => l.includes('mcp server stderr')), 'the stderr line')
    const line = JSON.parse(lines.find((l) => l.includes('mcp server stderr'))!)
    expect(line).toMatchObject({ level: 'debug', server: 'local', line: `mcp stdio test server ${pid} ready` })
  })

  test('a server that died is started again on its next use', async () => {
    const { s, server, lines } = stdioService()
    const pid = await pidOf(s, server)
    process.kill(pid, 'SIGKILL')
    await waitUntil(() => lines.some((l) => l.includes('mcp stdio server exited')), 'the exit to be noticed')
    const again = await pidOf(s, server)
    expect(again).not.toBe(pid)
    expect(alive(again)).toBe(true)
  })

  test('a call running when the server dies is ok:false, and the next call gets a new server', async () => {
    const { s, server } = stdioService()
    const pid = await pidOf(s, server)
    const pending = s.callTool(server, 'slow', { ms: 30_000 }, { timeoutMs: 60_000 })
    await Bun.sleep(100)
    process.kill(pid, 'SIGKILL')
    const r = await pending
    expect(r.ok).toBe(false)
    expect(!r.ok && r.error).toContain('MCP server "local"')
    expect(await pidOf(s, server)).not.toBe(pid)
  })

  test('close() stops the server process', async () => {
    const { s, server } = stdioService()
    const pid = await pidOf(s, server)
    expect(alive(pid)).toBe(true)
    await s.close()
    await waitUntil(() => !alive(pid), 'the server to stop')
  })

  test('the child sees the configured env and the safe defaults, not the gateway’s own environment', async () => {
    // the upstream key, and the runtime settings the gateway runs with (serve's re-execution adds the first two,
    // fetch-cap.ts; an operator may set JavaScriptCore's options): a child that is a Bun program would otherwise boot
    // with the gateway's fetch cap, purge delay and JIT tiers (README, Limits)
    const gatewayOwn = {
      AGENTGATE_UPSTREAM_KEY_FOR_TEST: 'gateway-secret',
      BUN_CONFIG_MAX_HTTP_REQUESTS: '4096',
      MIMALLOC_PURGE_DELAY: '5000',
      BUN_JSC_useFTLJIT: '0',
    }
    const before = Object.fromEntries(Object.keys(gatewayOwn).map((k) => [k, process.env[k]]))
    Object.assign(process.env, gatewayOwn)
    try {
      const { s, server } = stdioService('env = { MCP_TEST_VALUE = "from-config" }\n')
      const env = (name: string) => s.callTool(server, 'env', { name }, { timeoutMs: 20_000 })
      expect(await env('MCP_TEST_VALUE')).toEqual({ ok: true, output: 'from-config' })
      expect(await env('PATH')).toEqual({ ok: true, output: process.env.PATH ?? '(unset)' })
      for (const name of Object.keys(gatewayOwn)) expect({ name, ...(await env(name)) }).toEqual({ name, ok: true, output: '(unset)' })
    } finally {
      for (const [k, v] of Object.entries(before)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  test('a command that does not exist: McpError saying the command was not found, and a call says the same', async () => {
    const { logger } = recordingLogger()
    const s = createMcpServers(mcpConfig([], '[mcp_servers.ghost]\ncommand = "/nonexistent/mcp-ghost"\n'), logger)
    services.push(s)
    const server = s.resolve({ type: 'mcp', server_label: 'ghost' }, 'tools.0')
    const err = await s.listTools(server, { timeoutMs: 10_000 }).catch((e) => e)
    expect(err).toBeInstanceOf(McpError)
    expect(err.message).toBe('tools/list on MCP server "ghost" (mcp-ghost) failed: the command was not found (ENOENT)')
    const r = await s.callTool(server, 'echo', { text: 'x' }, { timeoutMs: 10_000 })
    expect(r).toEqual({ ok: false, error: 'tool "echo" on MCP server "ghost" (mcp-ghost) failed: the command was not found (ENOENT)' })
  })
})
