// The per-tool rules of a request's {"type":"mcp"} declaration, as pure functions: which tools are offered to the
// model (allowed_tools) and which calls wait for the client's approval (require_approval).

import type { McpToolInfo } from './types'

/** The tool_names of a {tool_names:[…]} filter, or null when it has none (an absent or malformed list). */
function namesOf(filter: unknown): string[] | null {
  if (typeof filter !== 'object' || filter === null) return null
  const names = (filter as { tool_names?: unknown }).tool_names
  return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : null
}

/**
 * require_approval: "always" | "never" | {always?:{tool_names?}, never?:{tool_names?}}; absent = "always" (OpenAI's
 * default). In the object form a tool listed under `never` runs without approval, every other tool (listed under
 * `always` or not listed at all) needs it: when in doubt, ask.
 */
export function needsApproval(policy: unknown, toolName: string): boolean {
  if (policy === 'never') return false
  if (policy === undefined || policy === null || policy === 'always') return true
  if (typeof policy !== 'object' || Array.isArray(policy)) return true
  const p = policy as { always?: unknown; never?: unknown }
  if (namesOf(p.always)?.includes(toolName)) return true
  return !namesOf(p.never)?.includes(toolName)
}

/**
 * allowed_tools: [names] | {tool_names?, read_only?} | absent → whether this tool is offered to the model.
 * With read_only: true only tools annotated readOnlyHint: true pass (an unannotated tool is not known to be read-only).
 * Both fields given: a tool must satisfy both.
 */
export function toolAllowed(allowed: unknown, tool: McpToolInfo): boolean {
  if (allowed === undefined || allowed === null) return true
  if (Array.isArray(allowed)) return allowed.includes(tool.name)
  if (typeof allowed !== 'object') return true
  const a = allowed as { tool_names?: unknown; read_only?: unknown }
  const names = namesOf(a)
  if (names && !names.includes(tool.name)) return false
  if (a.read_only === true && tool.annotations?.readOnlyHint !== true) return false
  return true
}
