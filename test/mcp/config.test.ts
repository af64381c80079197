// The MCP settings and [mcp_servers.LABEL] tables: parsed at start-up, and every mistake is one ConfigError line that
// names the server and the key — never a header value or an env value.
import { describe, expect, test } from 'bun:test'
import { ConfigError } from '../../src/config'
import { mcpConfig } from './support'

function configError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as Error).message).not.toContain('\n')
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('MCP settings', () => {
  test('defaults: no allowed hosts, no servers, 30 s to connect and list, 5 min idle', () => {
    expect(mcpConfig()).toMatchObject({ mcpAllowedHosts: [], mcpServers: {}, mcpTimeoutMs: 30_000, mcpIdleTimeoutMs: 300_000 })
  })

  test('--mcp-allowed-hosts is repeatable, and also takes a comma-separated list', () => {
    expect(mcpConfig(['--mcp-allowed-hosts', 'a.example', '--mcp-allowed-hosts', '*.b.example,127.0.0.1:8080']).mcpAllowedHosts).toEqual([
      'a.example',
      '*.b.example',
      '127.0.0.1:8080',
    ])
    expect(mcpConfig([], 'mcp_allowed_hosts = ["a.example", "[::1]"]').mcpAllowedHosts).toEqual(['a.example', '[::1]'])
  })

  test.each([
    ['https://a.example', 'is not a host'],
    ['a.example/path', 'is not a host'],
    ['*', 'would allow every host'],
    ['a.*.example', 'only as the first label'],
    ['*.10.0.0.1', 'not an IP address'],
    ['::1', 'is not a host'],
  ])('a bad --mcp-allowed-hosts entry %s stops start-up (%s)', (entry, why) => {
    const m = configError(() => mcpConfig(['--mcp-allowed-hosts', entry]))
    expect(m).toContain('--mcp-allowed-hosts')
    expect(m).toContain(why)
  })
})

describe('[mcp_servers.LABEL] in config.toml', () => {
  test('url servers with headers and description, command servers with args, env and cwd', () => {
    const c = mcpConfig(
      [],
      `
[mcp_servers.wiki]
url = "https://wiki.example/mcp"
headers = { "X-Api-Key" = "k" }
description = "Wiki"

[mcp_servers.files]
command = "files-mcp"
args = ["--root", "/srv"]
env = { FILES_TOKEN = "t" }
cwd = "/srv"
`,
    )
    expect(c.mcpServers).toEqual({
      wiki: { kind: 'url', url: 'https://wiki.example/mcp', headers: { 'X-Api-Key': 'k' }, description: 'Wiki' },
      files: { kind: 'stdio', command: 'files-mcp', args: ['--root', '/srv'], env: { FILES_TOKEN: 't' }, cwd: '/srv', description: null },
    })
  })

  test.each([
    ['mcp_servers = 3', 'expected [mcp_servers.LABEL] tables'],
    ['[mcp_servers."bad label"]\nurl = "http://a/"', 'a label is 1-64 letters'],
    ['[mcp_servers.a]\ndescription = "x"', 'give either url'],
    ['[mcp_servers.a]\nurl = "http://a/"\ncommand = "x"', 'not both'],
    ['[mcp_servers.a]\nurl = "ftp://a/"', 'url must be an http(s) URL'],
    ['[mcp_servers.a]\nurl = 5', 'url must be an http(s) URL'],
    ['[mcp_servers.a]\nurl = "http://a/"\nargs = ["x"]', 'unknown key "args" in mcp_servers.a'],
    ['[mcp_servers.a]\ncommand = "x"\nheaders = { A = "b" }', 'unknown key "headers" in mcp_servers.a'],
    ['[mcp_servers.a]\ncommand = ""', 'command must be a non-empty string'],
    ['[mcp_servers.a]\ncommand = "x"\nargs = "--y"', 'args must be a list of strings'],
    ['[mcp_servers.a]\ncommand = "x"\nargs = [1]', 'args must be a list of strings'],
    ['[mcp_servers.a]\ncommand = "x"\nenv = { "1BAD" = "v" }', 'env.1BAD: not a valid variable name'],
    ['[mcp_servers.a]\ncommand = "x"\nenv = { A = 1 }', 'env.A: expected a string'],
    ['[mcp_servers.a]\nurl = "http://a/"\nheaders = "x"', 'headers: expected a table'],
    ['[mcp_servers.a]\nurl = "http://a/"\nheaders = { "Bad Name" = "v" }', 'not a valid HTTP header name'],
    ['[mcp_servers.a]\nurl = "http://a/"\ndescription = 1', 'description must be a string'],
  ])('%s → %s', (toml, why) => {
    const m = configError(() => mcpConfig([], toml))
    expect(m).toContain(why)
    expect(m).toContain('/tmp/agentgate-mcp-test/config.toml')
  })

  test('a url with credentials is refused without repeating them', () => {
    const m = configError(() => mcpConfig([], '[mcp_servers.a]\nurl = "https://bob:pa55@a.example/mcp"'))
    expect(m).toContain('must not carry credentials')
    expect(m).not.toContain('pa55')
  })

  test('a header value with a line break is refused without repeating it', () => {
    const m = configError(() => mcpConfig([], '[mcp_servers.a]\nurl = "http://a/"\nheaders = { X-Key = "s3cret\\nx" }'))
    expect(m).toContain('headers.X-Key')
    expect(m).not.toContain('s3cret')
  })
})
