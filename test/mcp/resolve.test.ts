// resolve(): which servers a request may use. Request-declared servers only on --mcp-allowed-hosts hosts (an SSRF
// guard), configured servers by label; every refusal is a 400 naming the field, never echoing a credential.
import { afterAll, describe, expect, test } from 'bun:test'
import { ApiError } from '../../src/errors'
import { createMcpServers, type McpServers } from '../../src/mcp'
import { silentLogger } from '../../src/log'
import { mcpConfig } from './support'

const opened: McpServers[] = []
afterAll(() => Promise.all(opened.map((s) => s.close())))

function servers(allowed: string[], toml: string | null = null): McpServers {
  const s = createMcpServers(
    mcpConfig(
      allowed.flatMap((h) => ['--mcp-allowed-hosts', h]),
      toml,
    ),
    silentLogger,
  )
  opened.push(s)
  return s
}

function refusal(fn: () => unknown): ApiError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    return e as ApiError
  }
  throw new Error('expected an ApiError')
}

const declared = (server_url: string, extra: Record<string, unknown> = {}) => ({ type: 'mcp', server_label: 'docs', server_url, ...extra })

describe('request-declared servers and --mcp-allowed-hosts', () => {
  const cases: [name: string, allowed: string[], url: string, ok: boolean][] = [
    ['an exact host', ['mcp.example.com'], 'https://mcp.example.com/mcp', true],
    ['an exact host, any port when none is listed', ['mcp.example.com'], 'http://mcp.example.com:8080/mcp', true],
    ['an exact host does not cover its subdomains', ['example.com'], 'https://mcp.example.com/mcp', false],
    ['hosts compare case-insensitively, trailing dot ignored', ['MCP.Example.com'], 'https://mcp.example.COM./mcp', true],
    ['*.suffix covers a subdomain', ['*.example.com'], 'https://mcp.example.com/mcp', true],
    ['*.suffix covers deeper subdomains', ['*.example.com'], 'https://a.b.example.com/mcp', true],
    ['*.suffix does not cover the bare domain', ['*.example.com'], 'https://example.com/mcp', false],
    ['*.suffix does not match by string end alone', ['*.example.com'], 'https://badexample.com/mcp', false],
    ['host:port matches that port', ['mcp.example.com:8443'], 'https://mcp.example.com:8443/x', true],
    ['host:port refuses another port', ['mcp.example.com:8443'], 'https://mcp.example.com:9443/x', false],
    ['host:443 matches https without a port', ['mcp.example.com:443'], 'https://mcp.example.com/x', true],
    ['loopback is refused when not listed', ['mcp.example.com'], 'http://127.0.0.1:9/mcp', false],
    ['localhost is refused when not listed', ['*.example.com'], 'http://localhost:9/mcp', false],
    ['loopback listed exactly is allowed', ['127.0.0.1'], 'http://127.0.0.1:9/mcp', true],
    ['loopback in another spelling is still loopback', ['mcp.example.com'], 'http://2130706433:9/mcp', false],
    ['the other spelling matches a listed 127.0.0.1', ['127.0.0.1'], 'http://2130706433:9/mcp', true],
    ['0.0.0.0 is refused when not listed', ['127.0.0.1'], 'http://0.0.0.0:9/mcp', false],
    ['IPv6 loopback listed with brackets', ['[::1]'], 'http://[::1]:9/mcp', true],
    ['IPv6 loopback not listed', ['127.0.0.1'], 'http://[::1]:9/mcp', false],
    ['IPv6 with a port', ['[::1]:9'], 'http://[::1]:9/mcp', true],
    ['an IDN host compares in punycode', ['bücher.example'], 'https://xn--bcher-kva.example/mcp', true],
  ]
  test.each(cases)('%s', (_name, allowed, url, ok) => {
    const s = servers(allowed)
    if (ok) {
      const server = s.resolve(declared(url), 'tools.0')
      expect(server).toMatchObject({ label: 'docs', source: 'request', description: null })
    } else {
      const e = refusal(() => s.resolve(declared(url), 'tools.0'))
      expect(e.status).toBe(400)
      expect(e.errorCode).toBe('mcp_server_not_allowed')
      expect(e.param).toBe('tools.0.server_url')
      expect(e.message).toContain('not in --mcp-allowed-hosts')
    }
  })

  test('without --mcp-allowed-hosts every request-declared server is refused, saying why', () => {
    const e = refusal(() => servers([]).resolve(declared('https://mcp.example.com/mcp'), 'tools.2'))
    expect(e.errorCode).toBe('mcp_server_not_allowed')
    expect(e.param).toBe('tools.2.server_url')
    expect(e.message).toContain('no --mcp-allowed-hosts')
  })

  test.each([
    ['file:///etc/passwd', 'must be http or https'],
    ['ftp://mcp.example.com/x', 'must be http or https'],
    ['not a url', 'not a valid URL'],
  ])('a server_url like %s is refused (%s)', (url, why) => {
    const e = refusal(() => servers(['mcp.example.com']).resolve(declared(url), 'tools.0'))
    expect(e.errorCode).toBe('mcp_server_not_allowed')
    expect(e.message).toContain(why)
  })

  test('a server_url with credentials is refused, and the message does not repeat them', () => {
    const e = refusal(() => servers(['mcp.example.com']).resolve(declared('https://alice:s3cret@mcp.example.com/mcp?token=t0k'), 'tools.0'))
    expect(e.errorCode).toBe('mcp_server_not_allowed')
    expect(e.message).toContain('must not carry credentials')
    expect(e.message).not.toContain('s3cret')
    expect(e.message).not.toContain('alice')
    expect(e.message).not.toContain('t0k')
  })

  test('where names the server by its URL with key-like parameters hidden', () => {
    const s = servers(['mcp.example.com']).resolve(declared('https://mcp.example.com/mcp?api_key=k3y&x=1'), 'tools.0')
    expect(s.where).toBe('https://mcp.example.com/mcp?api_key=***&x=1')
  })

  test('headers and authorization are not properties of the resolved server (nothing to log or serialise)', () => {
    const s = servers(['mcp.example.com']).resolve(
      declared('https://mcp.example.com/mcp', { headers: { 'X-Key': 'h3ader' }, authorization: 'tok3n', server_description: 'Docs' }),
      'tools.0',
    )
    expect(JSON.stringify(s)).not.toContain('h3ader')
    expect(JSON.stringify(s)).not.toContain('tok3n')
    expect(s.description).toBe('Docs')
  })

  test.each([
    [{ headers: 'x' }, 'tools.0.headers'],
    [{ headers: { 'Bad Name': 'v' } }, 'tools.0.headers'],
    [{ headers: { 'X-Key': 'line\r\nbreak' } }, 'tools.0.headers'],
    [{ headers: { 'X-Key': 42 } }, 'tools.0.headers'],
    [{ authorization: '' }, 'tools.0.authorization'],
  ])('bad headers or authorization (%j) are a 400 on %s that does not echo the value', (extra, param) => {
    const e = refusal(() => servers(['mcp.example.com']).resolve(declared('https://mcp.example.com/mcp', extra), 'tools.0'))
    expect(e.status).toBe(400)
    expect(e.param).toBe(param)
    expect(e.message).not.toContain('break')
  })

  test('a bad server_label is a 400 on server_label', () => {
    const e = refusal(() =>
      servers(['mcp.example.com']).resolve(declared('https://mcp.example.com/mcp', { server_label: 'has space' }), 'tools.0'),
    )
    expect(e.param).toBe('tools.0.server_label')
  })
})

describe('configured servers', () => {
  const toml = `
[mcp_servers.wiki]
url = "http://127.0.0.1:9/mcp"
headers = { Authorization = "Bearer conf1g" }
description = "The team wiki"

[mcp_servers.files]
command = "/usr/local/bin/files-mcp"
args = ["--root", "/srv"]
`

  test('a label without server_url resolves to the configured server, whatever the allowlist says', () => {
    const s = servers([], toml)
    expect(s.resolve({ type: 'mcp', server_label: 'wiki' }, 'tools.0')).toEqual({
      label: 'wiki',
      source: 'configured',
      where: 'http://127.0.0.1:9/mcp',
      description: 'The team wiki',
    })
    expect(s.resolve({ type: 'mcp', server_label: 'files' }, 'tools.1')).toMatchObject({ label: 'files', where: 'files-mcp' })
  })

  test('an unknown label is a 400 unknown_mcp_server on server_label', () => {
    const e = refusal(() => servers([], toml).resolve({ type: 'mcp', server_label: 'nope' }, 'tools.3'))
    expect(e.status).toBe(400)
    expect(e.errorCode).toBe('unknown_mcp_server')
    expect(e.param).toBe('tools.3.server_label')
    expect(e.message).toContain('"nope"')
  })

  test('connector_id is refused as unsupported', () => {
    const e = refusal(() => servers([], toml).resolve({ type: 'mcp', server_label: 'x', connector_id: 'connector_gmail' }, 'tools.0'))
    expect(e.param).toBe('tools.0.connector_id')
  })

  test('the configured headers are not in the resolved server', () => {
    expect(JSON.stringify(servers([], toml).resolve({ type: 'mcp', server_label: 'wiki' }, 'tools.0'))).not.toContain('conf1g')
  })
})
