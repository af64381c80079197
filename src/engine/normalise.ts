// Upstream events → gateway events. The gateway owns item ids, output indexes and sequence numbers;
// the upstream's lifecycle events (created/in_progress/completed…) are absorbed here and re-issued by
// the turn runner from the gateway's own Response object. A turn that runs tools itself calls the upstream
// several times (rounds): each round's stream is numbered from 0 by the upstream, and continues the turn's. Deterministic given the id source: the
// table-driven tests in test/engine/normalise.test.ts feed it recorded upstream streams.
import type { IdSource } from '../ids'
import type { ContentPart, EventOf, ResponseEvent, UpstreamEvent, UpstreamEventOf, UpstreamItem, UpstreamItemEvent } from '../schema/events'
import type { ItemBody, UsageT } from '../schema/responses'
import type { UpstreamElement } from '../upstream/adapter'
import { DELTA_RUN, type DeltaRun, runLength, runText, runTexts } from '../upstream/delta-run'
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
  text: Map<string, GrowingText>
}

/** An event as the normaliser makes it, before it is numbered. */
type Unnumbered<E> = E extends unknown ? Omit<E, 'sequence_number'> : never

export class EventNormaliser {
  private seq = 0
  private readonly byUpstreamIndex = new Map<number, ItemState>()
  private readonly byUpstreamId = new Map<string, ItemState>()
  private readonly items: ItemState[] = []
  /** output indexes taken by the gateway's own items (ownItem), before the upstream's */
  private indexOffset = 0
  /** the upstream item id of the last run of deltas found by its id, and its item (deltaRun); null: none */
  private runItemId: string | null = null
  private runItem: ItemState | undefined = undefined
  /** the text of the part the last run of deltas went to (deltaRun): its item, part index and text; none: null */
  private runPartItem: ItemState | null = null
  private runPart = -1
  private runPartText: GrowingText | null = null
  outcome: UpstreamOutcome | null = null

  /** `finish` gets each finished item before anyone sees it (the engine seals reasoning there when asked to). */
  constructor(
    private readonly ids: IdSource,
    private readonly finish: (item: ItemBody) => ItemBody = (item) => item,
  ) {}

  /** Stamps a gateway event with the next sequence number (right after its type, as every event shows it). */
  event<E extends Unnumbered<ResponseEvent>>(e: E): E & { sequence_number: number } {
    return Object.assign({ type: e.type, sequence_number: this.seq++ }, e)
  }

  /**
   * Gateway events for one upstream event (often one, sometimes none). A run of text deltas (upstream/delta-run.ts)
   * comes back as that run, placed: the gateway's item id, index and first sequence number.
   */
  accept(ev: UpstreamEvent): ResponseEvent[]
  accept(ev: UpstreamElement): (ResponseEvent | DeltaRun)[]
  accept(ev: UpstreamElement): (ResponseEvent | DeltaRun)[] {
    const out: (ResponseEvent | DeltaRun)[] = []
    this.acceptInto(ev, out)
    return out
  }

  /**
   * accept(), appending to `out` (the model round's batch of gateway events): no array per upstream event, which for
   * a token-by-token upstream was an array per token.
   */
  acceptInto(ev: UpstreamElement, out: (ResponseEvent | DeltaRun)[]): void {
    switch (ev.type) {
      case DELTA_RUN:
        this.deltaRun(ev, out)
        return
      case 'response.created':
      case 'response.in_progress':
      case 'response.queued':
        return
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed': {
        const r = ev.response ?? {}
        // Items the upstream only listed in its final object (no item events) still count.
        if (this.items.length === this.indexOffset && Array.isArray(r.output))
          for (const item of r.output) this.finishItem(this.addItem(item, this.items.length - this.indexOffset), item)
        const status = ev.type === 'response.completed' ? 'completed' : ev.type === 'response.incomplete' ? 'incomplete' : 'failed'
        this.outcome = {
          status,
          usage: normaliseUsage(r.usage),
          incomplete_details: status === 'incomplete' ? { reason: String(r.incomplete_details?.reason ?? 'max_output_tokens') } : null,
          error: status === 'failed' ? upstreamError(r.error) : null,
        }
        return
      }
      case 'error':
        this.outcome = { status: 'failed', usage: null, incomplete_details: null, error: upstreamError(ev.error ?? ev) }
        return
      case 'response.output_item.added': {
        const st = this.addItem(ev.item, ev.output_index)
        out.push(this.event({ type: ev.type, output_index: st.index, item: st.added }))
        return
      }
      case 'response.output_item.done': {
        const st = this.stateFor(ev) ?? this.addItem(ev.item, ev.output_index)
        const done = this.finishItem(st, ev.item)
        // A gateway-run call (tools/gateway-events.ts): the engine announces it done once the call has run.
        if (!isHeld(done)) out.push(this.event({ type: ev.type, output_index: st.index, item: done }))
        return
      }
      default:
        out.push(this.itemEvent(ev))
    }
  }

  /**
   * An output item of the gateway's own (a compaction item made before the model call), finished at once: it takes
   * the next output index, and the upstream's items follow it. Returns its added and done events.
   */
  ownItem(item: ItemBody): ResponseEvent[] {
    const st: ItemState = { index: this.items.length, id: item.id, added: item, done: item, text: new Map() }
    this.items.push(st)
    // The upstream numbers its own items from 0: they are matched by id or by an index past ours.
    this.indexOffset = this.items.length
    return [
      this.event({ type: 'response.output_item.added', output_index: st.index, item }),
      this.event({ type: 'response.output_item.done', output_index: st.index, item }),
    ]
  }

  /**
   * The next model round of the turn: the upstream numbers its items from 0 again (and may reuse its ids), so its
   * items are matched from here on by index past the ones the turn has, and the round's outcome is read afresh.
   */
  nextRound(): void {
    this.byUpstreamIndex.clear()
    this.byUpstreamId.clear()
    this.runItemId = null
    this.indexOffset = this.items.length
    this.outcome = null
  }

  /** An output item of the gateway's own that is not finished yet (a tool list, a call): its added event. */
  openOwnItem(item: ItemBody): { index: number; events: ResponseEvent[] } {
    const st: ItemState = { index: this.items.length, id: item.id, added: item, done: null, text: new Map() }
    this.items.push(st)
    this.indexOffset = this.items.length
    return { index: st.index, events: [this.event({ type: 'response.output_item.added', output_index: st.index, item })] }
  }

  /** An event about the item at `index` (a gateway-run call's progress), with its id and index. */
  itemEventAt(index: number, type: GatewayItemEventType): ResponseEvent {
    const st = this.items[index]!
    const e: Unnumbered<EventOf<GatewayItemEventType>> = { type, item_id: st.id, output_index: index }
    return this.event(e)
  }

  /** The item at `index` finished by the gateway (a call that ran): its done event. */
  finishItemAt(index: number, item: ItemBody): ResponseEvent {
    const st = this.items[index]!
    st.done = item
    return this.event({ type: 'response.output_item.done', output_index: index, item })
  }

  /** Gateway-run calls the model made from output index `from` on, whose done the engine has not announced yet. */
  heldItems(from: number): { index: number; item: ItemBody }[] {
    const out: { index: number; item: ItemBody }[] = []
    for (const st of this.items.slice(from)) if (st.done && isHeld(st.done)) out.push({ index: st.index, item: st.done })
    return out
  }

  get length(): number {
    return this.items.length
  }

  /** An event that belongs to an item (deltas, parts, tool-call arguments, reasoning…): the gateway's id, index and number. */
  private itemEvent(ev: UpstreamItemEvent): ResponseEvent {
    const st = this.stateFor(ev)
    if (!st) return this.unplaced(ev)
    // One copy of the event: type, number, the gateway's item id and index first (as every event shows them), then
    // the upstream's other fields in their order; the upstream's own number, id and index are left out. A for-in copy:
    // Object.assign onto the literal cost several times as much, on every delta.
    const out = { type: ev.type, sequence_number: this.seq++, item_id: st.id, output_index: st.index } as Record<string, unknown>
    for (const k in ev)
      if (k !== 'type' && k !== 'sequence_number' && k !== 'item_id' && k !== 'output_index') out[k] = (ev as Record<string, unknown>)[k]
    this.track(st, ev)
    if ('part' in out) out.part = normalisePart(out.part as ContentPart)
    if (out.type === 'response.output_text.delta' || out.type === 'response.output_text.done') out.logprobs ??= []
    return out as unknown as ResponseEvent
  }

  /**
   * A run of text deltas, placed as each of its deltas would be (itemEvent): numbered, the gateway's item id and index,
   * its text added to the item's. The run is the adapter's, handed over: it is placed in place. Deltas of an item never
   * announced go the way of any such event, one by one.
   */
  private deltaRun(run: DeltaRun, out: (ResponseEvent | DeltaRun)[]): void {
    // A token-by-token stream's runs all name one item: its state is kept from the run before (stateFor, with its `in`
    // and reads on every kind of event, showed in the LLM-like load's profile). Any item added forgets it (addItem).
    let st: ItemState | undefined
    if (run.item_id === this.runItemId) st = this.runItem
    else {
      st = this.stateFor(run)
      if (st !== undefined && this.byUpstreamId.get(run.item_id) === st) {
        this.runItemId = run.item_id
        this.runItem = st
      }
    }
    if (!st) {
      for (const delta of runTexts(run))
        out.push(
          this.unplaced({
            type: 'response.output_text.delta',
            item_id: run.item_id,
            output_index: run.output_index,
            content_index: run.content_index,
            delta,
            logprobs: [],
          }),
        )
      return
    }
    run.sequence_number = this.seq
    run.item_id = st.id
    run.output_index = st.index
    this.seq += runLength(run)
    // the part's text, kept from the run before when it is the same part (a token-by-token stream's every run): an item's
    // part keeps its text object from its first piece on, so what was found once stays right
    let text = this.runPartText
    if (st !== this.runPartItem || run.content_index !== this.runPart || text === null) {
      text = textOf(st, partKey('text', run.content_index))
      this.runPartItem = st
      this.runPart = run.content_index
      this.runPartText = text
    }
    text.add(runText(run))
    out.push(run)
  }

  /**
   * An event whose item we never saw announced — or one of a type we do not list, which the parse edge let through
   * as one of ours: passed on with our number only, without the upstream's item id and index.
   */
  private unplaced(ev: UpstreamItemEvent): ResponseEvent {
    const { type, sequence_number: _s, item_id: _i, output_index: _o, ...rest } = ev
    // Without its item id and index it is not the event its type describes: the one event typed as what it claims.
    return { type, sequence_number: this.seq++, ...rest } as ResponseEvent
  }

  /** The output so far, in order: finished items as they are, unfinished ones rebuilt from their deltas. */
  output(): ItemBody[] {
    return this.items.map((st) => st.done ?? partialItem(st))
  }

  get sequence(): number {
    return this.seq
  }

  private stateFor(ev: UpstreamItemEvent | UpstreamEventOf<'response.output_item.done'> | DeltaRun): ItemState | undefined {
    // `?.`: the fields are the upstream's, as parsed (upstream/responses.ts checks only that an event is an object).
    const upstreamId = 'item_id' in ev ? ev.item_id : ev.item?.id
    const byId = typeof upstreamId === 'string' ? this.byUpstreamId.get(upstreamId) : undefined
    if (byId) return byId
    return typeof ev.output_index === 'number' ? this.byUpstreamIndex.get(ev.output_index + this.indexOffset) : undefined
  }

  private addItem(item: UpstreamItem, upstreamIndex: number): ItemState {
    this.runItemId = null
    const type = String(item?.type ?? 'message')
    const id = this.ids(idPrefixFor(type))
    const st: ItemState = { index: this.items.length, id, added: normaliseItem({ ...item, id, type }), done: null, text: new Map() }
    this.items.push(st)
    this.byUpstreamIndex.set(typeof upstreamIndex === 'number' ? upstreamIndex + this.indexOffset : st.index, st)
    if (typeof item?.id === 'string') this.byUpstreamId.set(item.id, st)
    return st
  }

  private finishItem(st: ItemState, item: UpstreamItem): ItemBody {
    st.done = this.finish(normaliseItem({ ...item, id: st.id, type: item.type ?? st.added.type }))
    return st.done
  }

  private track(st: ItemState, ev: UpstreamItemEvent) {
    let key: string
    switch (ev.type) {
      case 'response.output_text.delta':
        key = partKey('text', ev.content_index)
        break
      case 'response.reasoning_text.delta':
        key = partKey('reasoning', ev.content_index)
        break
      case 'response.reasoning_summary_text.delta':
        key = partKey('summary', ev.summary_index)
        break
      case 'response.function_call_arguments.delta':
        key = 'arguments'
        break
      case 'response.custom_tool_call_input.delta':
        key = 'input'
        break
      case 'response.mcp_call_arguments.delta':
        key = 'arguments'
        break
      default:
        return
    }
    // As parsed: a delta that is not text is not kept.
    if (typeof ev.delta === 'string') textOf(st, key).add(ev.delta)
  }
}

/** Pieces joined into one string at a time: the most an item part's text holds apart. */
const TEXT_BLOCK = 32

/**
 * An item part's text as it streams: its pieces kept apart, joined into one string every TEXT_BLOCK of them. A string
 * grown by `+` at every token is a rope: two strings a token (the piece and the rope over it), all alive until the item
 * ends. With 500 streams half-way through answers of 250 tokens they were 129k of the 270k objects alive after a full
 * collection, which every full collection marks (the main thread stopped up to 20 ms, bench/tail-breakdown.ts llm).
 */
export class GrowingText {
  /** the blocks joined so far (a rope of one string per block) */
  private joined = ''
  private pieces: string[] = []

  add(piece: string): void {
    const pieces = this.pieces
    pieces.push(piece)
    if (pieces.length < TEXT_BLOCK) return
    this.joined += pieces.join('')
    pieces.length = 0
  }

  text(): string {
    return this.pieces.length ? this.joined + this.pieces.join('') : this.joined
  }
}

/** The text of one part of an item (partKey), begun when its first piece comes. */
function textOf(st: ItemState, key: string): GrowingText {
  let text = st.text.get(key)
  if (text === undefined) st.text.set(key, (text = new GrowingText()))
  return text
}

const FIRST_PART = { text: 'text:0', reasoning: 'reasoning:0', summary: 'summary:0' } as const

/**
 * The key an item's text of one part is kept under ("<kind>:<index>"). The first part's is a constant: no string built
 * per delta in the common case.
 */
function partKey(kind: keyof typeof FIRST_PART, index: number | null | undefined): string {
  return index === 0 || index == null ? FIRST_PART[kind] : `${kind}:${index}`
}

/** The progress events of a gateway-run call or tool list: they carry only the item's id and index. */
type GatewayItemEventType =
  | 'response.mcp_call.in_progress'
  | 'response.mcp_call.completed'
  | 'response.mcp_call.failed'
  | 'response.mcp_list_tools.in_progress'
  | 'response.mcp_list_tools.completed'
  | 'response.mcp_list_tools.failed'
  | 'response.web_search_call.searching'
  | 'response.web_search_call.completed'

/** A gateway-run call the model made, not run yet: the engine runs it and announces it done. */
export function isHeld(item: ItemBody): boolean {
  return (item.type === 'mcp_call' || item.type === 'web_search_call') && item.status === 'in_progress'
}

/** The upstream's error object (or error event) → the Response's error. */
function upstreamError(e: unknown): { code: string; message: string } {
  const { message, code } = (e ?? {}) as { message?: unknown; code?: unknown }
  return {
    code: typeof code === 'string' && code ? code : 'upstream_error',
    message: `upstream error: ${typeof message === 'string' && message ? message : 'The upstream model server reported an error.'}`,
  }
}

/** output_text parts always carry annotations and logprobs (strict clients require them). */
function normalisePart(part: ContentPart): ContentPart {
  if (part.type !== 'output_text') return part
  return { ...part, annotations: part.annotations ?? [], logprobs: part.logprobs ?? [] }
}

export function normaliseItem(item: ItemBody): ItemBody {
  if (item.type === 'message' && Array.isArray(item.content)) return { ...item, content: item.content.map(normalisePart) }
  return item
}

/** An item cut off before output_item.done, rebuilt from what streamed; marked incomplete. */
function partialItem(st: ItemState): ItemBody {
  const item: ItemBody = { ...st.added, status: 'incomplete' }
  const texts = [...st.text.entries()]
  const collect = (kind: string) =>
    texts
      .filter(([k]) => k.startsWith(kind + ':'))
      .sort(([a], [b]) => Number(a.split(':')[1]) - Number(b.split(':')[1]))
      .map(([, v]) => v.text())
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
    case 'mcp_call':
    case 'mcp_approval_request':
      item.arguments = st.text.get('arguments')?.text() ?? ''
      break
    case 'custom_tool_call':
      item.input = st.text.get('input')?.text() ?? ''
      break
  }
  return item
}

/**
 * Whether an event carries a piece of generated text (the first one marks time to first token). Kept in the engine: the
 * schema modules load the web framework, and the engine takes only their types.
 */
export function isDelta(ev: ResponseEvent | DeltaRun): boolean {
  switch (ev.type) {
    case DELTA_RUN:
    case 'response.output_text.delta':
    case 'response.refusal.delta':
    case 'response.reasoning_text.delta':
    case 'response.reasoning_summary_text.delta':
    case 'response.function_call_arguments.delta':
    case 'response.custom_tool_call_input.delta':
    case 'response.mcp_call_arguments.delta':
      return true
    default:
      return false
  }
}
