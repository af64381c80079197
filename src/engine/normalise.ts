// Upstream events → gateway events. The gateway owns item ids, output indexes and sequence numbers;
// the upstream's lifecycle events (created/in_progress/completed…) are absorbed here and re-issued by
// the turn runner from the gateway's own Response object. Deterministic given the id source: the
// table-driven tests in test/engine/normalise.test.ts feed it recorded upstream streams.
import type { IdSource } from '../ids'
import type { UsageT } from '../schema/responses'
import type { ItemBody } from '../store/types'
import type { UpstreamEvent } from '../upstream/adapter'
import { idPrefixFor } from './input'
import { normaliseUsage } from './response-object'

/** How the upstream said the turn ended. */
export interface UpstreamOutcome {
  status: 'completed' | 'incomplete' | 'failed'
  usage: UsageT | null
  incomplete_details: { reason: string } | null
  error: { code: string; message: string } | null
}

interface ItemState {
  index: number
  id: string
  /** the item as announced by output_item.added, with our id */
  added: ItemBody
  /** the finished item, once output_item.done arrived */
  done: ItemBody | null
  /** text accumulated from deltas, keyed by "<kind>:<content_index>" */
  text: Map<string, string>
}

const LIFECYCLE = new Set(['response.created', 'response.in_progress', 'response.queued'])

export class EventNormaliser {
  private seq = 0
  private readonly byUpstreamIndex = new Map<number, ItemState>()
  private readonly byUpstreamId = new Map<string, ItemState>()
  private readonly items: ItemState[] = []
  /** output indexes taken by the gateway's own items (ownItem), before the upstream's */
  private indexOffset = 0
  outcome: UpstreamOutcome | null = null

  /** `finish` gets each finished item before anyone sees it (the engine seals reasoning there when asked to). */
  constructor(
    private readonly ids: IdSource,
    private readonly finish: (item: ItemBody) => ItemBody = (item) => item,
  ) {}

  /** Stamps a gateway event with the next sequence number. */
  event<T extends Record<string, unknown>>(type: string, fields: T): { type: string; sequence_number: number } & T {
    return { type, sequence_number: this.seq++, ...fields }
  }

  /** Gateway events for one upstream event (often one, sometimes none). */
  accept(ev: UpstreamEvent): Record<string, unknown>[] {
    const { type } = ev
    if (LIFECYCLE.has(type)) return []
    if (type === 'response.completed' || type === 'response.incomplete' || type === 'response.failed') {
      const r = (ev.response ?? {}) as Record<string, any>
      // Items the upstream only listed in its final object (no item events) still count.
      if (this.items.length === this.indexOffset && Array.isArray(r.output)) for (const item of r.output) this.finishItem(this.addItem(item, this.items.length - this.indexOffset), item)
      const status = type === 'response.completed' ? 'completed' : type === 'response.incomplete' ? 'incomplete' : 'failed'
      this.outcome = {
        status,
        usage: normaliseUsage(r.usage),
        incomplete_details: status === 'incomplete' ? { reason: String(r.incomplete_details?.reason ?? 'max_output_tokens') } : null,
        error: status === 'failed' ? upstreamError(r.error) : null,
      }
      return []
    }
    if (type === 'error') {
      this.outcome = { status: 'failed', usage: null, incomplete_details: null, error: upstreamError((ev as any).error ?? ev) }
      return []
    }
    if (type === 'response.output_item.added') {
      const st = this.addItem(ev.item as ItemBody, ev.output_index as number)
      return [this.event(type, { output_index: st.index, item: st.added })]
    }
    if (type === 'response.output_item.done') {
      const st = this.stateFor(ev) ?? this.addItem(ev.item as ItemBody, ev.output_index as number)
      this.finishItem(st, ev.item as ItemBody)
      return [this.event(type, { output_index: st.index, item: st.done })]
    }
    // Everything else that belongs to an item (deltas, parts, tool-call arguments, reasoning…).
    const st = this.stateFor(ev)
    const { sequence_number: _s, type: _t, item_id: _i, output_index: _o, ...rest } = ev as Record<string, unknown>
    if (!st) return [this.event(type, rest)]
    this.track(st, ev)
    if (rest.part && typeof rest.part === 'object') rest.part = normalisePart(rest.part as Record<string, unknown>)
    if (type === 'response.output_text.delta' || type === 'response.output_text.done') rest.logprobs ??= []
    return [this.event(type, { item_id: st.id, output_index: st.index, ...rest })]
  }

  /**
   * An output item of the gateway's own (a compaction item made before the model call), finished at once: it takes
   * the next output index, and the upstream's items follow it. Returns its added and done events.
   */
  ownItem(item: ItemBody): Record<string, unknown>[] {
    const st: ItemState = { index: this.items.length, id: item.id, added: item, done: item, text: new Map() }
    this.items.push(st)
    // The upstream numbers its own items from 0: they are matched by id or by an index past ours.
    this.indexOffset = this.items.length
    return [this.event('response.output_item.added', { output_index: st.index, item }), this.event('response.output_item.done', { output_index: st.index, item })]
  }

  /** The output so far, in order: finished items as they are, unfinished ones rebuilt from their deltas. */
  output(): ItemBody[] {
    return this.items.map((st) => st.done ?? partialItem(st))
  }

  get sequence(): number {
    return this.seq
  }

  private stateFor(ev: UpstreamEvent): ItemState | undefined {
    const byId = typeof ev.item_id === 'string' ? this.byUpstreamId.get(ev.item_id) : undefined
    if (byId) return byId
    if (typeof (ev.item as any)?.id === 'string') {
      const s = this.byUpstreamId.get((ev.item as any).id)
      if (s) return s
    }
    return typeof ev.output_index === 'number' ? this.byUpstreamIndex.get(ev.output_index + this.indexOffset) : undefined
  }

  private addItem(item: ItemBody, upstreamIndex: number): ItemState {
    const type = String(item?.type ?? 'message')
    const id = this.ids(idPrefixFor(type))
    const st: ItemState = { index: this.items.length, id, added: normaliseItem({ ...item, id }), done: null, text: new Map() }
    this.items.push(st)
    this.byUpstreamIndex.set(typeof upstreamIndex === 'number' ? upstreamIndex + this.indexOffset : st.index, st)
    if (typeof item?.id === 'string') this.byUpstreamId.set(item.id, st)
    return st
  }

  private finishItem(st: ItemState, item: ItemBody) {
    st.done = this.finish(normaliseItem({ ...item, id: st.id }))
  }

  private track(st: ItemState, ev: UpstreamEvent) {
    const delta = typeof ev.delta === 'string' ? ev.delta : null
    if (delta === null) return
    const key =
      ev.type === 'response.output_text.delta'
        ? `text:${ev.content_index ?? 0}`
        : ev.type === 'response.reasoning_text.delta'
          ? `reasoning:${ev.content_index ?? 0}`
          : ev.type === 'response.reasoning_summary_text.delta'
            ? `summary:${ev.summary_index ?? 0}`
            : ev.type === 'response.function_call_arguments.delta'
              ? 'arguments'
              : ev.type === 'response.custom_tool_call_input.delta'
                ? 'input'
                : null
    if (key) st.text.set(key, (st.text.get(key) ?? '') + delta)
  }
}

function upstreamError(e: any): { code: string; message: string } {
  const message = typeof e?.message === 'string' && e.message ? e.message : 'The upstream model server reported an error.'
  const code = typeof e?.code === 'string' && e.code ? e.code : 'upstream_error'
  return { code, message: `upstream error: ${message}` }
}

/** output_text parts always carry annotations and logprobs (strict clients require them). */
function normalisePart(part: Record<string, unknown>): Record<string, unknown> {
  if (part.type !== 'output_text') return part
  return { ...part, annotations: part.annotations ?? [], logprobs: part.logprobs ?? [] }
}

export function normaliseItem(item: ItemBody): ItemBody {
  if (item.type === 'message' && Array.isArray(item.content)) return { ...item, content: (item.content as Record<string, unknown>[]).map(normalisePart) }
  return item
}

/** An item cut off before output_item.done, rebuilt from what streamed; marked incomplete. */
function partialItem(st: ItemState): ItemBody {
  const item: ItemBody = { ...st.added, status: 'incomplete' }
  const texts = [...st.text.entries()]
  const collect = (kind: string) => texts.filter(([k]) => k.startsWith(kind + ':')).sort(([a], [b]) => Number(a.split(':')[1]) - Number(b.split(':')[1])).map(([, v]) => v)
  switch (item.type) {
    case 'message':
      item.content = collect('text').map((text) => ({ type: 'output_text', text, annotations: [], logprobs: [] }))
      break
    case 'reasoning': {
      const content = collect('reasoning')
      const summary = collect('summary')
      if (content.length) item.content = content.map((text) => ({ type: 'reasoning_text', text }))
      item.summary = summary.map((text) => ({ type: 'summary_text', text }))
      break
    }
    case 'function_call':
      item.arguments = st.text.get('arguments') ?? ''
      break
    case 'custom_tool_call':
      item.input = st.text.get('input') ?? ''
      break
  }
  return item
}
