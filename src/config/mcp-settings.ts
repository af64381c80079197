// The MCP settings: which hosts request-declared MCP servers may be on, and the bounds of talking to MCP servers.
// The servers the gateway itself knows are tables in the config file ([mcp_servers.LABEL], src/mcp/config.ts).

import type { Setting } from './types'

export const MCP_SETTINGS: readonly Setting[] = [
  {
    key: 'mcpAllowedHosts',
    flag: '--mcp-allowed-hosts',
    env: 'AGENTGATE_MCP_ALLOWED_HOSTS',
    file: 'mcp_allowed_hosts',
    kind: 'list',
    arg: 'HOSTS',
    help: 'hosts a request may declare MCP servers on: host, *.suffix or host:port (repeatable; comma-separated); loopback only when listed; unset: request-declared servers are refused',
    def: [],
  },
  {
    key: 'mcpTimeoutMs',
    flag: '--mcp-timeout-ms',
    env: 'AGENTGATE_MCP_TIMEOUT_MS',
    file: 'mcp_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'time allowed to connect to an MCP server and list its tools',
    def: 30_000,
  },
  {
    key: 'mcpIdleTimeoutMs',
    flag: '--mcp-idle-timeout-ms',
    env: 'AGENTGATE_MCP_IDLE_TIMEOUT_MS',
    file: 'mcp_idle_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'close a connection to an HTTP MCP server after this long unused (stdio servers run until the gateway stops)',
    def: 300_000,
  },
]
