// vLLM's /v1/responses stream, evened out to the OpenAI event contract before the engine sees it
// (the responses adapter applies it), so every adapter hands the engine the same events.
import type { UpstreamEvent, UpstreamEventOf, UpstreamItem } from '../schema/events'
import { DELTA_RUN, type DeltaRun } from './delta-run'

/** vLLM's own names (openai-python#2634), where OpenAI sends content_part events with a reasoning_text part. */
type ReasoningPartEvent =
  | (Omit<UpstreamEventOf<'response.content_part.added'>, 'type'> & { type: 'response.reasoning_part.added' })
  | (Omit<UpstreamEventOf<'response.content_part.done'>, 'type'> & { type: 'response.reasoning_part.done' })

/** An event of vLLM's /v1/responses stream: the OpenAI ones, and its reasoning_part events. */
export type VllmEvent = UpstreamEvent | ReasoningPartEvent

function renamed(raw: VllmEvent): UpstreamEvent {
  switch (raw.type) {
    case 'response.reasoning_part.added':
      return { ...raw, type: 'response.content_part.added' }
    case 'response.reasoning_part.done':
      return { ...raw, type: 'response.content_part.done' }
    default:
      return raw
  }
}

/**
 * vLLM /v1/responses → the OpenAI contract:
 * - a run stopped by max_tokens ends with `response.completed` carrying status "incomplete": it becomes
 *   `response.incomplete`, and the item that was cut off is marked incomplete (the last
 *   output_item.done is held back one event to know);
 * - `response.reasoning_part.*` become `response.content_part.*`;
 * - stray keys on items (`summary` on messages, event fields on function calls) are dropped, and so are
 *   the null fields of an announced item (`content: null` on a reasoning item just begun).
 * Pure.
 */
export class ResponsesStreamFixer {
  private held: UpstreamEventOf<'response.output_item.done'> | null = null

  accept(raw: VllmEvent): UpstreamEvent[] {
    const out: UpstreamEvent[] = []
    this.acceptInto(raw, out as (UpstreamEvent | DeltaRun)[])
    return out
  }

  /** Whether an output_item.done is held back (the next event decides whether it was cut off). */
  get holding(): boolean {
    return this.held !== null
  }

  /** accept(), appending to `out` (the adapter's batch): no array per event. A run of text deltas passes as they would. */
  acceptInto(raw: VllmEvent | DeltaRun, out: (UpstreamEvent | DeltaRun)[]): void {
    if (raw.type === DELTA_RUN) {
      if (this.held) out.push(this.held)
      this.held = null
      out.push(raw)
      return
    }
    let ev = renamed(raw)
    if ((ev.type === 'response.output_item.added' || ev.type === 'response.output_item.done') && ev.item && typeof ev.item === 'object')
      ev = { ...ev, item: cleanItem(ev.item, ev.type === 'response.output_item.added') }
    if (ev.type === 'response.completed') {
      const status = ev.response?.status
      if (status === 'incomplete' || status === 'failed')
        ev = { ...ev, type: status === 'incomplete' ? 'response.incomplete' : 'response.failed' }
    }
    if (this.held) {
      const held = this.held
      this.held = null
      out.push(ev.type === 'response.incomplete' ? { ...held, item: { ...held.item, status: 'incomplete' } } : held)
    }
    if (ev.type === 'response.output_item.done') this.held = ev
    else out.push(ev)
  }

  end(): UpstreamEvent[] {
    const held = this.held
    this.held = null
    return held ? [held] : []
  }
}

const STRAY_ITEM_KEYS: Record<string, string[]> = {
  message: ['summary', 'annotations', 'logprobs', 'item_id', 'output_index', 'sequence_number'],
  function_call: ['item_id', 'output_index', 'sequence_number'],
}

/** Without vLLM's stray keys; an announced item also without its null fields (pydantic dumps every unset one). */
function cleanItem(item: UpstreamItem, announced: boolean): UpstreamItem {
  const stray = STRAY_ITEM_KEYS[String(item.type)] ?? NO_KEYS
  // Most items have nothing to drop: looked at key by key, without a closure made for every item of every turn.
  let clean = true
  for (const k in item)
    if (dropped(item, k, stray, announced)) {
      clean = false
      break
    }
  if (clean) return item
  return Object.fromEntries(Object.entries(item).filter(([k]) => !dropped(item, k, stray, announced)))
}

const NO_KEYS: string[] = []

const dropped = (item: UpstreamItem, k: string, stray: string[], announced: boolean) => stray.includes(k) || (announced && item[k] === null)
