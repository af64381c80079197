// The way back for gateway-run tools: the model's function calls to an MCP tool or to the search function become the
// items OpenAI shows for them — `mcp_call` (arguments streamed as `response.mcp_call_arguments.*`),
// `mcp_approval_request` (a call that waits for the client), `web_search_call` (`response.web_search_call.in_progress`
// once announced). A call to run is finished `in_progress`: the normaliser holds its done event and the engine
// announces it once the call has run (engine/tool-rounds.ts). Runs after tools/events.ts, before the normaliser.
import type { UpstreamEvent, UpstreamEventOf, UpstreamItem } from '../schema/events'
import type { GatewayTool, GatewayTools } from './gateway'

/** Whether a call to this MCP tool waits for the client's approval (the MCP service's needsApproval). */
export type ApprovalPolicy = (policy: unknown, toolName: string) => boolean

interface CallState {
  tool: GatewayTool
  approval: boolean
  item: UpstreamItem
  arguments: string
  argumentsDone: boolean
}

type ItemEvent = UpstreamEventOf<'response.output_item.added' | 'response.output_item.done'>
type ArgumentsEvent = UpstreamEventOf<'response.function_call_arguments.delta' | 'response.function_call_arguments.done'>

export class GatewayCallMapper {
  private readonly byItemId = new Map<string, CallState>()
  private readonly byIndex = new Map<number, CallState>()

  constructor(
    private readonly gateway: GatewayTools,
    private readonly needsApproval: ApprovalPolicy,
  ) {}

  map(ev: UpstreamEvent): UpstreamEvent[] {
    switch (ev.type) {
      case 'response.output_item.added':
        return this.added(ev)
      case 'response.function_call_arguments.delta': {
        const st = this.stateFor(ev)
        if (!st) return [ev]
        const delta = typeof ev.delta === 'string' ? ev.delta : ''
        st.arguments += delta
        return this.isMcpCall(st) && delta ? [{ ...ev, type: 'response.mcp_call_arguments.delta', item_id: itemIdOf(ev, st), delta }] : []
      }
      case 'response.function_call_arguments.done': {
        const st = this.stateFor(ev)
        if (!st) return [ev]
        if (typeof ev.arguments === 'string') st.arguments = ev.arguments
        return this.argumentsDone(st, ev)
      }
      case 'response.output_item.done':
        return this.itemDone(ev)
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        // Upstreams that list items only in the final object: the same items, without events.
        const r = ev.response
        if (!r || !Array.isArray(r.output)) return [ev]
        const output = r.output.map((item) => {
          const st = this.newState(item)
          return st ? this.clientItem(st, String(item.arguments ?? ''), 'done') : item
        })
        return [{ ...ev, response: { ...r, output } }]
      }
      default:
        return [ev]
    }
  }

  private newState(item: UpstreamItem | undefined): CallState | null {
    if (item?.type !== 'function_call' || typeof item.name !== 'string') return null
    const tool = this.gateway.byUpstreamName(item.name)
    if (!tool) return null
    const approval = tool.kind === 'mcp' && this.needsApproval(tool.server.requireApproval, tool.tool.name)
    return { tool, approval, item: { ...item }, arguments: '', argumentsDone: false }
  }

  private isMcpCall(st: CallState): boolean {
    return st.tool.kind === 'mcp' && !st.approval
  }

  private stateFor(ev: ItemEvent | ArgumentsEvent): CallState | undefined {
    // `?.` and typeof: the fields are the upstream's, as parsed.
    const itemId = 'item' in ev ? ev.item?.id : ev.item_id
    if (typeof itemId === 'string' && this.byItemId.has(itemId)) return this.byItemId.get(itemId)
    return typeof ev.output_index === 'number' ? this.byIndex.get(ev.output_index) : undefined
  }

  private track(st: CallState, ev: ItemEvent) {
    if (typeof st.item.id === 'string') this.byItemId.set(st.item.id, st)
    if (typeof ev.output_index === 'number') this.byIndex.set(ev.output_index, st)
  }

  private added(ev: UpstreamEventOf<'response.output_item.added'>): UpstreamEvent[] {
    const st = this.newState(ev.item)
    if (!st) return [ev]
    this.track(st, ev)
    const where = { item_id: st.item.id ?? '', output_index: ev.output_index }
    const out: UpstreamEvent[] = [{ ...ev, item: this.clientItem(st, '', 'added') }]
    if (st.tool.kind === 'web_search') out.push({ type: 'response.web_search_call.in_progress', ...where })
    // vLLM may put the first piece of the arguments into the announced item.
    const first = typeof ev.item.arguments === 'string' ? ev.item.arguments : ''
    if (first) {
      st.arguments = first
      if (this.isMcpCall(st)) out.push({ type: 'response.mcp_call_arguments.delta', ...where, delta: first })
    }
    return out
  }

  private argumentsDone(st: CallState, where: { item_id?: string | null; output_index: number }): UpstreamEvent[] {
    if (st.argumentsDone || !this.isMcpCall(st)) return []
    st.argumentsDone = true
    return [
      { type: 'response.mcp_call_arguments.done', item_id: itemIdOf(where, st), output_index: where.output_index, arguments: st.arguments },
    ]
  }

  private itemDone(ev: UpstreamEventOf<'response.output_item.done'>): UpstreamEvent[] {
    let st = this.stateFor(ev)
    const out: UpstreamEvent[] = []
    if (!st) {
      // A call announced only here (no output_item.added): announced now, then finished.
      const fresh = this.newState(ev.item)
      if (!fresh) return [ev]
      st = fresh
      this.track(st, ev)
      out.push(...this.added({ type: 'response.output_item.added', output_index: ev.output_index, item: { ...ev.item, arguments: '' } }))
    }
    if (typeof ev.item?.arguments === 'string') st.arguments = ev.item.arguments
    // vLLM's Harmony path sends the finished call with `id: null`: keep what the announcement said.
    for (const [k, v] of Object.entries(ev.item ?? {})) if (v !== null && v !== undefined && k !== 'id') st.item[k] = v
    out.push(...this.argumentsDone(st, ev))
    out.push({ ...ev, item: this.clientItem(st, st.arguments, 'done') })
    return out
  }

  /**
   * The client's item for a call: as announced, or finished. A finished call the gateway still has to run stays
   * `in_progress` (the normaliser holds it: engine/normalise.ts isHeld).
   */
  private clientItem(st: CallState, args: string, phase: 'added' | 'done'): UpstreamItem {
    const id = st.item.id
    const { tool } = st
    if (tool.kind === 'web_search') {
      const base = { id, type: 'web_search_call', status: 'in_progress' }
      return phase === 'added' ? base : { ...base, action: { type: 'search', query: searchQuery(args) } }
    }
    if (st.approval) return { id, type: 'mcp_approval_request', server_label: tool.server.label, name: tool.tool.name, arguments: args }
    return {
      id,
      type: 'mcp_call',
      server_label: tool.server.label,
      name: tool.tool.name,
      arguments: args,
      output: null,
      error: null,
      approval_request_id: null,
      status: 'in_progress',
    }
  }
}

/** The query of the search function's arguments (`{"query": …}`); '' when they are not that. */
export function searchQuery(args: string): string {
  try {
    const parsed = JSON.parse(args) as unknown
    const q = parsed && typeof parsed === 'object' ? (parsed as { query?: unknown }).query : undefined
    return typeof q === 'string' ? q : ''
  } catch {
    return ''
  }
}

function itemIdOf(where: { item_id?: string | null }, st: CallState): string {
  return where.item_id ?? st.item.id ?? ''
}

/**
 * The mapping of a model round's events for the calls the gateway runs itself, or null without gateway tools. The
 * engine (its one call site) maps each event of a batch in its own loop over the batch, as for the client's tool types
 * (tools/events.ts toolCallMapping): no generator layer per mapping around the stream.
 */
export function gatewayCallMapping(gateway: GatewayTools | null, needsApproval: ApprovalPolicy): GatewayCallMapper | null {
  return gateway ? new GatewayCallMapper(gateway, needsApproval) : null
}
