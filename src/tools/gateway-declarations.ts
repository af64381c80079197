// The fields of a request's gateway-run tools ({"type":"mcp"}, web_search) that the gateway acts on, checked by type:
// a wrong one is a 400 naming it, never read as absent — a malformed allowed_tools would otherwise offer every tool
// of the server, a malformed require_approval would quietly mean "always". Pure. (server_url, headers and
// authorization are the MCP service's to check: src/mcp/servers.ts.)
import { ApiError } from '../errors'

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const absent = (v: unknown) => v === undefined || v === null

function invalid(param: string, expected: string): ApiError {
  return ApiError.badRequest(`Invalid type for '${param}': expected ${expected}.`, param, 'invalid_type')
}

function checkNames(v: unknown, param: string): void {
  if (absent(v)) return
  if (!Array.isArray(v)) throw invalid(param, 'an array of tool names')
  v.forEach((n, i) => {
    if (typeof n !== 'string') throw invalid(`${param}.${i}`, 'a tool name (string)')
  })
}

/** An {"type":"mcp"} tool at `param` (tools.N): label, description, allowed_tools, require_approval. */
export function checkMcpDeclaration(tool: Record<string, unknown>, param: string): void {
  if (!absent(tool.server_label) && typeof tool.server_label !== 'string') throw invalid(`${param}.server_label`, 'a string')
  if (!absent(tool.server_description) && typeof tool.server_description !== 'string')
    throw invalid(`${param}.server_description`, 'a string')
  const allowed = tool.allowed_tools
  if (Array.isArray(allowed)) checkNames(allowed, `${param}.allowed_tools`)
  else if (isObject(allowed)) {
    checkNames(allowed.tool_names, `${param}.allowed_tools.tool_names`)
    if (!absent(allowed.read_only) && typeof allowed.read_only !== 'boolean') throw invalid(`${param}.allowed_tools.read_only`, 'a boolean')
  } else if (!absent(allowed)) throw invalid(`${param}.allowed_tools`, 'an array of tool names or {tool_names, read_only}')
  const approval = tool.require_approval
  if (isObject(approval)) {
    for (const k of ['always', 'never'] as const) {
      const filter = approval[k]
      if (absent(filter)) continue
      if (!isObject(filter)) throw invalid(`${param}.require_approval.${k}`, 'an object {tool_names}')
      checkNames(filter.tool_names, `${param}.require_approval.${k}.tool_names`)
    }
  } else if (!absent(approval) && approval !== 'always' && approval !== 'never')
    throw ApiError.badRequest(
      `Invalid value for '${param}.require_approval': expected "always", "never" or {always:{tool_names}, never:{tool_names}}.`,
      `${param}.require_approval`,
      'invalid_value',
    )
}

/** A web_search tool at `param` (tools.N): filters and search_context_size (filters.allowed_domains: tools/rounds). */
export function checkWebSearchDeclaration(tool: Record<string, unknown>, param: string): void {
  if (!absent(tool.filters) && !isObject(tool.filters)) throw invalid(`${param}.filters`, 'an object {allowed_domains}')
  const size = tool.search_context_size
  if (!absent(size) && size !== 'low' && size !== 'medium' && size !== 'high')
    throw ApiError.badRequest(
      `Invalid value for '${param}.search_context_size': expected "low", "medium" or "high".`,
      `${param}.search_context_size`,
      'invalid_value',
    )
}
