// History and input items → what the upstream accepts: tool calls of every declared kind become
// function_call / function_call_output (the registry of the current request picks the function name;
// items naming a tool it no longer declares are translated by their type anyway), and explicit nulls
// (Codex resends reasoning items as `{"content":null,"encrypted_content":null}`) are dropped. The items of
// gateway-run tools (mcp_call, web_search_call, approvals) become the function call and output the model saw. Pure.
import { isSettled, keptBeginning, settled, settledSlot } from '../store/settled-items'
import type { ItemBody } from '../store/types'
import { formatSearchResults } from '../websearch'
import { DEFAULT_GATEWAY_NAMES, type GatewayNames } from './gateway'
import { flatName, type ToolRegistry } from './registry'
import { localShellArguments, shellArguments, shellOutputText } from './shapes'

/** Output items of hosted tools the gateway does not run: the upstream cannot take them back. */
const HOSTED_ITEM_TYPES = new Set([
  'file_search_call',
  'image_generation_call',
  'code_interpreter_call',
  'computer_call',
  'computer_call_output',
  'mcp_list_tools',
  'tool_search_call',
  'tool_search_output',
])

export function toUpstreamItems(items: ItemBody[], registry: ToolRegistry, names: GatewayNames = DEFAULT_GATEWAY_NAMES): ItemBody[] {
  // A settled beginning the previous request of the chain converted already: its forms, and only the rest to do.
  const kept = keptFormsOf(items, registry)
  let i = kept.items.length
  // The beginning goes on while the items are settled and each is its own form (no gateway-run tool items: theirs
  // depend on the answers later in the list). It grows in place: a turn adds its items, not a copy of the chain.
  for (; i < items.length; i++) {
    const item = items[i]!
    if (!isSettled(item) || GATEWAY_ITEM_TYPES.has(item.type)) break
    kept.items.push(item)
    if (HOSTED_ITEM_TYPES.has(item.type)) continue
    const name = upstreamNameOf(item, registry)
    if (name !== undefined) kept.named.push([i, name])
    kept.forms.push(upstreamForm(item, registry))
  }
  const out = kept.forms.slice()
  const rest = i
  // An approval request becomes the model's call only once it has an answer (the call, or a denial) to pair it with.
  // The sets are made for the first item that needs them: most lists have no gateway-run tool items at all.
  let answered: Set<string> | undefined
  for (i = rest; i < items.length; i++) {
    const item = items[i]!
    const type = item.type
    if ((type === 'mcp_approval_response' || type === 'mcp_call') && typeof item.approval_request_id === 'string')
      (answered ??= new Set()).add(item.approval_request_id)
  }
  let requested: Set<string> | undefined
  // Requests whose answer (the call's output, or the denial) the model got: one answer per call, the first.
  let paired: Set<string> | undefined
  for (i = rest; i < items.length; i++) {
    const item = items[i]!
    const type = String(item.type)
    if (HOSTED_ITEM_TYPES.has(type)) continue
    if (GATEWAY_ITEM_TYPES.has(type)) {
      requested ??= new Set()
      paired ??= new Set()
      if (type === 'mcp_approval_request' && answered?.has(item.id)) requested.add(item.id)
      out.push(...gatewayCallItems(item, names, requested, paired))
      continue
    }
    out.push(upstreamForm(item, registry))
  }
  return out
}

/** Items of the tools the gateway runs itself: their forms depend on the answers later in the list. */
const GATEWAY_ITEM_TYPES = new Set(['mcp_call', 'mcp_approval_request', 'mcp_approval_response', 'web_search_call'])

/**
 * The upstream forms of a list's settled beginning, by its first item (src/store/settled-items.ts): the next request
 * of the same chain begins with the very same items. `items` is what a list must begin with for the forms to hold,
 * `named` the tool names the forms took (checked against each request's tools). Grown in place by toUpstreamItems.
 */
interface Beginning {
  items: ItemBody[]
  forms: ItemBody[]
  named: [number, string][]
}
const beginnings = new WeakMap<object, Beginning>()

/** The kept beginning of `items` (src/store/settled-items.ts keptBeginning), while its tool names still hold. */
function keptFormsOf(items: ItemBody[], registry: ToolRegistry): Beginning {
  return keptBeginning(
    beginnings,
    items,
    () => ({ items: [], forms: [], named: [] }),
    (kept) => kept.named.every(([j, name]) => upstreamNameOf(items[j]!, registry) === name),
  )
}

/**
 * Upstream forms of settled items (src/store/settled-items.ts), with the tool name the registry gave them: the one
 * thing a form depends on beyond the item (a chain's requests may declare their tools differently).
 */
const upstreamForms = settledSlot<{ name: string | undefined; form: ItemBody }>()

/** An item as the upstream takes it: computed once for a settled item (and settled too), every time for others. */
function upstreamForm(item: ItemBody, registry: ToolRegistry): ItemBody {
  const name = upstreamNameOf(item, registry)
  const kept = upstreamForms.get(item)
  if (kept !== undefined && kept.name === name) return kept.form
  const form = toUpstreamItem(withoutNulls(item), name)
  if (!isSettled(item)) return form
  upstreamForms.set(item, { name, form: settled(form) })
  return form
}

const call = (id: string, name: string, args: string): ItemBody => ({ id, type: 'function_call', call_id: id, name, arguments: args })
const output = (callId: string, text: string): ItemBody => ({
  id: `${callId}_output`,
  type: 'function_call_output',
  call_id: callId,
  output: text,
})

/** A gateway-run tool's item as the function call and output the model saw (none for what it never saw). */
function gatewayCallItems(item: ItemBody, names: GatewayNames, requested: ReadonlySet<string>, paired: Set<string>): ItemBody[] {
  switch (item.type) {
    case 'mcp_call': {
      const text =
        typeof item.output === 'string' ? item.output : typeof item.error === 'string' ? `Error: ${item.error}` : 'The call did not finish.'
      // A call the client approved answers the approval request, which stands for the model's call (earlier in the
      // transcript; within the turn that runs it, already in what the upstream got).
      const approved = typeof item.approval_request_id === 'string' ? item.approval_request_id : null
      if (approved) return once(paired, approved) ? [output(approved, text)] : []
      return [
        call(item.id, names.mcpFunctionName(String(item.server_label), String(item.name)), String(item.arguments ?? '')),
        output(item.id, text),
      ]
    }
    case 'mcp_approval_request':
      return requested.has(item.id)
        ? [call(item.id, names.mcpFunctionName(String(item.server_label), String(item.name)), String(item.arguments ?? ''))]
        : []
    case 'mcp_approval_response': {
      const id = String(item.approval_request_id)
      if (item.approve === true || !requested.has(id) || !once(paired, id)) return []
      const reason = typeof item.reason === 'string' && item.reason ? `: ${item.reason}` : '.'
      return [output(id, `The user denied this call${reason} Do not retry it; answer without it.`)]
    }
    case 'web_search_call': {
      const action = (item.action ?? {}) as { query?: unknown; sources?: unknown }
      const query = typeof action.query === 'string' ? action.query : ''
      return [
        call(item.id, names.webSearchName, JSON.stringify({ query })),
        output(item.id, searchText(item, query, action.sources, names)),
      ]
    }
    default:
      return []
  }
}

/** Whether `id` is seen for the first time (and now marked seen). */
function once(seen: Set<string>, id: string): boolean {
  if (seen.has(id)) return false
  seen.add(id)
  return true
}

/** What the model was told for a search: this turn's text, or what the stored item keeps of it. */
function searchText(item: ItemBody, query: string, sources: unknown, names: GatewayNames): string {
  const kept = names.searchOutput(item.id)
  if (kept !== undefined) return kept
  if (item.status === 'failed') return `The web search for "${query}" failed.`
  const list = Array.isArray(sources) ? (sources as { url?: unknown; title?: unknown; snippet?: unknown }[]) : []
  // Sources with their snippets (kept with every search; "No results." when it found none): the very text the model
  // was given. Items stored before the gateway kept them have none, or only their URLs (their request asked for them).
  if (Array.isArray(sources) && list.every((s) => typeof s.url === 'string' && typeof s.snippet === 'string'))
    return formatSearchResults(
      query,
      list.map((s) => ({ url: String(s.url), title: typeof s.title === 'string' ? s.title : '', snippet: String(s.snippet) })),
    )
  if (!list.length)
    return `The results of the web search for "${query}" were given in an earlier turn and are not kept; search again if you need them.`
  const lines = list.map((s, i) => `${i + 1}. ${typeof s.title === 'string' && s.title ? `${s.title} — ` : ''}${String(s.url ?? '')}`)
  return `Results of the web search for "${query}" (given in an earlier turn; snippets not kept):\n${lines.join('\n')}`
}

/**
 * The function name the upstream knows a tool call item by, from the request's tools; undefined for other items
 * (explicit nulls count as absent, as withoutNulls drops them).
 */
function upstreamNameOf(item: ItemBody, registry: ToolRegistry): string | undefined {
  const upstreamName = (name: unknown, ns: unknown) => {
    const n = String(name ?? '')
    const space = typeof ns === 'string' && ns ? ns : null
    return registry.find(n, space)?.upstreamName ?? (space ? flatName(space, n) : n)
  }
  switch (item.type) {
    case 'function_call':
      return item.namespace === undefined || item.namespace === null ? undefined : upstreamName(item.name, item.namespace)
    case 'custom_tool_call':
      return upstreamName(item.name, item.namespace)
    case 'local_shell_call':
      return registry.find('local_shell')?.upstreamName ?? 'local_shell'
    case 'shell_call':
      return registry.find('shell')?.upstreamName ?? 'shell'
    default:
      return undefined
  }
}

/** `item` dressed as an item of another type: `extra`, and its id and status when it has them. */
function dressed(item: ItemBody, type: string, extra: Record<string, unknown>): ItemBody {
  const out = { type, ...extra } as ItemBody
  if (item.id !== undefined) out.id = item.id
  if (item.status !== undefined) out.status = item.status
  return out
}

/** `item` (explicit nulls dropped) as the upstream takes it; `name`: its upstreamNameOf. */
function toUpstreamItem(item: ItemBody, name: string | undefined): ItemBody {
  switch (item.type) {
    case 'function_call': {
      if (item.namespace === undefined) return item
      const { namespace: _ns, ...rest } = item
      return { ...rest, name: name! }
    }
    case 'custom_tool_call':
      return dressed(item, 'function_call', {
        call_id: item.call_id,
        name: name!,
        arguments: JSON.stringify({ input: String(item.input ?? '') }),
      })
    case 'custom_tool_call_output':
      return dressed(item, 'function_call_output', { call_id: item.call_id, output: item.output ?? '' })
    case 'local_shell_call':
      return dressed(item, 'function_call', {
        call_id: item.call_id ?? item.id,
        name: name!,
        arguments: localShellArguments(item.action),
      })
    case 'local_shell_call_output':
      return dressed(item, 'function_call_output', { call_id: item.call_id ?? item.id, output: item.output ?? '' })
    case 'shell_call':
      return dressed(item, 'function_call', {
        call_id: item.call_id,
        name: name!,
        arguments: shellArguments(item.action),
      })
    case 'shell_call_output':
      return dressed(item, 'function_call_output', { call_id: item.call_id, output: shellOutputText(item.output) })
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
