// The way back: upstream events about function calls → the item types the client declared.
// A call to a custom tool becomes a `custom_tool_call` whose input streams as
// `response.custom_tool_call_input.delta/.done` (decoded text, not JSON); local_shell and shell calls
// become `local_shell_call` / `shell_call` items with their action; a namespace member's call gets its
// own name back plus `namespace` (Codex routes on the pair). Plain function calls pass untouched.
// Runs before the engine's normaliser, which then owns ids and sequence numbers.
import type { UpstreamEvent, UpstreamEventOf, UpstreamItem } from '../schema/events'
import { DELTA_RUN } from '../upstream/delta-run'
import type { UpstreamElement } from '../upstream/adapter'
import type { DeclaredTool, ToolRegistry } from './registry'
import { localShellAction, shellAction } from './shapes'
import { StreamedStringArgument } from './streamed-argument'

interface CallState {
  tool: DeclaredTool
  /** the upstream's item as announced, to rebuild the client item from */
  item: UpstreamItem
  arguments: string
  decoder: StreamedStringArgument | null
  inputDone: boolean
}

type ItemEvent = UpstreamEventOf<'response.output_item.added' | 'response.output_item.done'>
type ArgumentsEvent = UpstreamEventOf<'response.function_call_arguments.delta' | 'response.function_call_arguments.done'>
/** Where an event points: the upstream's item id (vLLM's Harmony path may send none) and output index. */
type Where = { item_id?: string | null; output_index: number }

export class ToolCallMapper {
  private readonly byItemId = new Map<string, CallState>()
  private readonly byIndex = new Map<number, CallState>()

  constructor(private readonly registry: ToolRegistry) {}

  /** Client-facing events for one upstream event. */
  map(ev: UpstreamEvent): UpstreamEvent[] {
    switch (ev.type) {
      case 'response.output_item.added':
        return this.added(ev)
      case 'response.function_call_arguments.delta':
        return this.argumentsDelta(ev)
      case 'response.function_call_arguments.done':
        return this.argumentsDone(ev)
      case 'response.output_item.done':
        return this.itemDone(ev)
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        return [this.terminal(ev)]
      default:
        return [ev]
    }
  }

  private mapped(item: UpstreamItem | undefined): DeclaredTool | undefined {
    if (item?.type !== 'function_call' || typeof item.name !== 'string') return undefined
    const tool = this.registry.byUpstreamName(item.name)
    return tool && (tool.kind !== 'function' || tool.namespace !== null) ? tool : undefined
  }

  private stateFor(ev: ItemEvent | ArgumentsEvent): CallState | undefined {
    // `?.` and typeof: the fields are the upstream's, as parsed.
    const itemId = 'item' in ev ? ev.item?.id : ev.item_id
    if (typeof itemId === 'string' && this.byItemId.has(itemId)) return this.byItemId.get(itemId)
    return typeof ev.output_index === 'number' ? this.byIndex.get(ev.output_index) : undefined
  }

  private added(ev: UpstreamEventOf<'response.output_item.added'>): UpstreamEvent[] {
    const item = ev.item
    const tool = this.mapped(item)
    if (!tool) return [ev]
    const st: CallState = {
      tool,
      item,
      arguments: '',
      decoder: tool.kind === 'custom' ? new StreamedStringArgument() : null,
      inputDone: false,
    }
    if (typeof item.id === 'string') this.byItemId.set(item.id, st)
    if (typeof ev.output_index === 'number') this.byIndex.set(ev.output_index, st)
    const out: UpstreamEvent[] = [{ ...ev, item: clientItem(st, 'in_progress', '') }]
    // vLLM may put the first piece of the arguments into the announced item.
    const first = typeof item.arguments === 'string' ? item.arguments : ''
    if (first)
      out.push(
        ...this.deltaOf(st, { item_id: item.id, output_index: ev.output_index }, first, () => ({
          type: 'response.function_call_arguments.delta',
          item_id: item.id ?? '',
          output_index: ev.output_index,
          delta: first,
        })),
      )
    return out
  }

  private argumentsDelta(ev: UpstreamEventOf<'response.function_call_arguments.delta'>): UpstreamEvent[] {
    const st = this.stateFor(ev)
    if (!st) return [ev]
    return this.deltaOf(st, ev, typeof ev.delta === 'string' ? ev.delta : '', () => ev)
  }

  /** A piece of a mapped call's arguments: as it came (a namespace member), as custom tool input, or nothing. */
  private deltaOf(st: CallState, where: Where, delta: string, asFunction: () => UpstreamEvent): UpstreamEvent[] {
    st.arguments += delta
    if (st.tool.kind === 'function') return [asFunction()] // a namespace member: still a function call
    if (!st.decoder) return [] // local_shell / shell: no argument events for those item types
    const text = st.decoder.push(delta)
    return text
      ? [{ type: 'response.custom_tool_call_input.delta', item_id: itemIdOf(where, st), output_index: where.output_index, delta: text }]
      : []
  }

  private argumentsDone(ev: UpstreamEventOf<'response.function_call_arguments.done'>): UpstreamEvent[] {
    const st = this.stateFor(ev)
    if (!st) return [ev]
    if (typeof ev.arguments === 'string') st.arguments = ev.arguments
    if (st.tool.kind === 'function') return [{ ...ev, name: st.tool.name }]
    if (!st.decoder) return []
    return this.inputDone(st, ev)
  }

  /** `custom_tool_call_input.done`, once, preceded by whatever the deltas had not carried yet. */
  private inputDone(st: CallState, ev: Where): UpstreamEvent[] {
    if (st.inputDone) return []
    st.inputDone = true
    const { input, rest } = st.decoder!.finish(st.arguments)
    const where = { item_id: itemIdOf(ev, st), output_index: ev.output_index }
    const out: UpstreamEvent[] = []
    if (rest) out.push({ type: 'response.custom_tool_call_input.delta', ...where, delta: rest })
    out.push({ type: 'response.custom_tool_call_input.done', ...where, input })
    return out
  }

  private itemDone(ev: UpstreamEventOf<'response.output_item.done'>): UpstreamEvent[] {
    const item = ev.item
    let st = this.stateFor(ev)
    if (!st) {
      // A call announced only here (no output_item.added): map it all the same.
      const tool = this.mapped(item)
      if (!tool) return [ev]
      st = { tool, item, arguments: '', decoder: tool.kind === 'custom' ? new StreamedStringArgument() : null, inputDone: false }
    }
    if (typeof item?.arguments === 'string') st.arguments = item.arguments
    // vLLM's Harmony path sends the finished call with `id: null`: keep what the announcement said.
    for (const [k, v] of Object.entries(item ?? {})) if (v !== null && v !== undefined) st.item[k] = v
    const out: UpstreamEvent[] = st.decoder ? this.inputDone(st, { item_id: item?.id, output_index: ev.output_index }) : []
    out.push({ ...ev, item: clientItem(st, typeof item?.status === 'string' ? item.status : 'completed', st.arguments) })
    return out
  }

  /** The final object's output, for upstreams that list items only there. */
  private terminal(ev: UpstreamEventOf<'response.completed' | 'response.incomplete' | 'response.failed'>): UpstreamEvent {
    const r = ev.response
    if (!r || !Array.isArray(r.output)) return ev
    const output = r.output.map((item) => {
      const tool = this.mapped(item)
      if (!tool) return item
      const st: CallState = {
        tool,
        item,
        arguments: String(item.arguments ?? ''),
        decoder: tool.kind === 'custom' ? new StreamedStringArgument() : null,
        inputDone: false,
      }
      return clientItem(st, typeof item.status === 'string' ? item.status : 'completed', st.arguments)
    })
    return { ...ev, response: { ...r, output } }
  }
}

/**
 * The item id an event of a mapped call carries: the upstream's, or the announced item's when it sent none ('' when
 * neither has one: the normaliser then finds the item by its output index, as it would without an id).
 */
function itemIdOf(where: Where, st: CallState): string {
  return where.item_id ?? st.item.id ?? ''
}

/** The item the client declared, from the upstream's function_call item and its arguments so far. */
function clientItem(st: CallState, status: string, args: string): UpstreamItem {
  const { item, tool } = st
  const id = item.id
  const ns = tool.namespace !== null ? { namespace: tool.namespace } : {}
  switch (tool.kind) {
    case 'function':
      return { ...item, name: tool.name, ...ns, arguments: args, status }
    case 'custom': {
      const input = status === 'in_progress' ? '' : (st.decoder?.finish(args).input ?? args)
      return { id, type: 'custom_tool_call', call_id: item.call_id, name: tool.name, ...ns, input, status }
    }
    case 'local_shell':
      return {
        id,
        type: 'local_shell_call',
        call_id: item.call_id,
        action: localShellAction(status === 'in_progress' ? '{}' : args),
        status,
      }
    case 'shell':
      return { id, type: 'shell_call', call_id: item.call_id, action: shellAction(status === 'in_progress' ? '{}' : args), status }
  }
}

/**
 * The mapping of a turn's upstream events to the tool item types its client declared, or null when there is nothing to
 * map (no tools, or plain functions only). The engine (its one call site) maps each event of a batch in its own loop
 * over the batch: a generator layer around the stream for the mapping cost every upstream chunk a hop of its own.
 */
export function toolCallMapping(registry: ToolRegistry): ToolCallMapper | null {
  return registry.tools.some((t) => t.kind !== 'function' || t.namespace !== null) ? new ToolCallMapper(registry) : null
}

/**
 * A batch of the upstream's stream through a call mapping (this one, or tools/gateway-events.ts gatewayCallMapping),
 * event by event. A run of text deltas (upstream/delta-run.ts) is nothing a call mapping changes.
 */
export function mapBatch(batch: UpstreamElement[], mapping: { map(ev: UpstreamEvent): UpstreamEvent[] }): UpstreamElement[] {
  const out: UpstreamElement[] = []
  for (const ev of batch)
    if (ev.type === DELTA_RUN) out.push(ev)
    else for (const e of mapping.map(ev)) out.push(e)
  return out
}
