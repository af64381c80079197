// The MCP service: the servers a turn may use (configured or request-declared), their tools, calls to them, and
// the pure approval/filter rules. Core code: no web framework here.

export { type HostPattern, parseHostPatterns } from './allowlist'
export { type McpServerConfig, parseMcpServers } from './config'
export { needsApproval, toolAllowed } from './policy'
export { createMcpServers, type McpServersOptions } from './servers'
export { type McpCallResult, McpError, type McpServer, type McpServers, type McpToolInfo } from './types'
