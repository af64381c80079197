// vLLM's /v1/responses stream, evened out to the OpenAI event contract before the engine sees it
// (the responses adapter applies it), so every adapter hands the engine the same events.
import type { UpstreamEvent } from './adapter'

const RENAMED: Record<string, string> = {
  // vLLM's own names (openai-python#2634), where OpenAI sends content_part events with a reasoning_text part
  'response.reasoning_part.added': 'response.content_part.added',
  'response.reasoning_part.done': 'response.content_part.done',
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
  private held: UpstreamEvent | null = null

  accept(raw: UpstreamEvent): UpstreamEvent[] {
    let ev = RENAMED[raw.type] ? { ...raw, type: RENAMED[raw.type]! } : raw
    if (ev.item && typeof ev.item === 'object') ev = { ...ev, item: cleanItem(ev.item as Record<string, unknown>, ev.type === 'response.output_item.added') }
    const out: UpstreamEvent[] = []
    if (ev.type === 'response.completed') {
      const status = (ev.response as any)?.status
      if (status === 'incomplete' || status === 'failed') ev = { ...ev, type: `response.${status}` }
    }
    if (this.held) {
      const held = this.held
      this.held = null
      out.push(ev.type === 'response.incomplete' ? { ...held, item: { ...(held.item as object), status: 'incomplete' } } : held)
    }
    if (ev.type === 'response.output_item.done') this.held = ev
    else out.push(ev)
    return out
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
function cleanItem(item: Record<string, unknown>, announced: boolean): Record<string, unknown> {
  const stray = STRAY_ITEM_KEYS[String(item.type)] ?? []
  const drop = (k: string) => stray.includes(k) || (announced && item[k] === null)
  if (!Object.keys(item).some(drop)) return item
  return Object.fromEntries(Object.entries(item).filter(([k]) => !drop(k)))
}
