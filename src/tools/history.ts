// History and input items → what the upstream accepts: tool calls of every declared kind become
// function_call / function_call_output (the registry of the current request picks the function name;
// items naming a tool it no longer declares are translated by their type anyway), and explicit nulls
// (Codex resends reasoning items as `{"content":null,"encrypted_content":null}`) are dropped. Pure.
import type { ItemBody } from '../store/types'
import { flatName, type ToolRegistry } from './registry'
import { localShellArguments, shellArguments, shellOutputText } from './shapes'

/** Output items of hosted tools: the gateway never produces them and the upstream cannot take them back. */
const HOSTED_ITEM_TYPES = new Set([
  'web_search_call',
  'file_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'computer_call',
  'computer_call_output',
  'mcp_call',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'tool_search_call',
  'tool_search_output',
])

export function toUpstreamItems(items: ItemBody[], registry: ToolRegistry): ItemBody[] {
  const out: ItemBody[] = []
  for (const item of items) {
    if (HOSTED_ITEM_TYPES.has(String(item.type))) continue
    out.push(toUpstreamItem(withoutNulls(item), registry))
  }
  return out
}

function toUpstreamItem(item: ItemBody, registry: ToolRegistry): ItemBody {
  const upstreamName = (name: unknown, ns: unknown) => {
    const n = String(name ?? '')
    const space = typeof ns === 'string' && ns ? ns : null
    return registry.find(n, space)?.upstreamName ?? (space ? flatName(space, n) : n)
  }
  const base = (type: string, extra: Record<string, unknown>): ItemBody => {
    const out = { type, ...extra } as ItemBody
    if (item.id !== undefined) out.id = item.id
    if (item.status !== undefined) out.status = item.status
    return out
  }
  switch (item.type) {
    case 'function_call': {
      if (item.namespace === undefined) return item
      const { namespace, ...rest } = item
      return { ...rest, name: upstreamName(item.name, namespace) }
    }
    case 'custom_tool_call':
      return base('function_call', {
        call_id: item.call_id,
        name: upstreamName(item.name, item.namespace),
        arguments: JSON.stringify({ input: String(item.input ?? '') }),
      })
    case 'custom_tool_call_output':
      return base('function_call_output', { call_id: item.call_id, output: item.output ?? '' })
    case 'local_shell_call':
      return base('function_call', {
        call_id: item.call_id ?? item.id,
        name: registry.find('local_shell')?.upstreamName ?? 'local_shell',
        arguments: localShellArguments(item.action),
      })
    case 'local_shell_call_output':
      return base('function_call_output', { call_id: item.call_id ?? item.id, output: item.output ?? '' })
    case 'shell_call':
      return base('function_call', {
        call_id: item.call_id,
        name: registry.find('shell')?.upstreamName ?? 'shell',
        arguments: shellArguments(item.action),
      })
    case 'shell_call_output':
      return base('function_call_output', { call_id: item.call_id, output: shellOutputText(item.output) })
    case 'reasoning':
      return { ...item, summary: Array.isArray(item.summary) ? item.summary : [] }
    default:
      return item
  }
}

function withoutNulls(item: ItemBody): ItemBody {
  let out: ItemBody | null = null
  for (const k of Object.keys(item)) {
    if (item[k] !== null) continue
    out ??= { ...item }
    delete out[k]
  }
  return out ?? item
}
