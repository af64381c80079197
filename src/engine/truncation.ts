// Fitting a turn's input into the model's context window. `truncation: "disabled"` (the default) refuses input
// that does not fit with OpenAI's 400 context_length_exceeded; `"auto"` drops the oldest items until it fits —
// a user message with the answer to it, a tool call with its output (and the reasoning before it), never the
// instructions (system/developer messages) and never the latest user message or anything after it.
import { ApiError } from '../errors'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody } from '../store/types'
import type { ContextWindows } from '../upstream/context-window'
import { estimateInputTokens, type Tokenizer } from '../upstream/tokenize'
import { toUpstreamRequest } from './upstream-request'

export function contextLengthExceeded(tokens: number, window: number, truncated: boolean): ApiError {
  return ApiError.badRequest(
    `Your input exceeds the context window of this model: ${tokens} input tokens, ${window} allowed.` +
      (truncated
        ? ' Even after dropping every older item it does not fit.'
        : " Shorten the input, compact the history (POST /v1/responses/compact), or set truncation: 'auto' to drop the oldest items."),
    'input',
    'context_length_exceeded',
  )
}

/** Estimated input tokens below which the window is not looked up: no model served today has a smaller context. */
export const SHORT_INPUT_TOKENS = 1024

/** Units the oldest-first truncation may drop, oldest first: index lists that go together. */
export function droppableUnits(items: ItemBody[]): number[][] {
  // Without a user message there is no turn to keep whole: nothing is dropped (the window check then refuses it).
  let tail = 0
  for (let i = items.length - 1; i >= 0; i--)
    if (items[i]!.type === 'message' && items[i]!.role === 'user') {
      tail = i
      break
    }
  const units: number[][] = []
  const taken = new Set<number>()
  for (let i = 0; i < tail; i++) {
    const item = items[i]!
    if (taken.has(i) || (item.type === 'message' && (item.role === 'system' || item.role === 'developer'))) continue
    const unit = [i]
    let j = i
    // A user message goes with the assistant's plain answer to it (a history does not start with an answer).
    if (item.type === 'message' && item.role === 'user')
      while (j + 1 < tail && items[j + 1]!.type === 'message' && items[j + 1]!.role === 'assistant') unit.push(++j)
    // Reasoning goes with the item it led to.
    while (items[j]?.type === 'reasoning' && j + 1 < tail && !taken.has(j + 1)) unit.push(++j)
    const callId = items[j]?.call_id
    if (typeof callId === 'string') for (let k = j + 1; k < tail; k++) if (items[k]!.call_id === callId && !taken.has(k)) unit.push(k)
    for (const k of unit) taken.add(k)
    units.push(unit)
  }
  return units
}

/** The estimated input tokens of `items` as the upstream would get them with `req`. */
export function estimateItems(req: CreateResponseRequest, items: ItemBody[]): number {
  return estimateInputTokens(toUpstreamRequest(req, [], items))
}

/**
 * The upstream items, fitted to the model's window; `first` is their estimate (estimateItems), which the caller
 * looked at already: below SHORT_INPUT_TOKENS they fit any model, with no window lookup (an upstream call, at most
 * once a minute) and no call here. Counting asks the upstream's tokenizer only when the estimate is past half the
 * window (so most turns cost no extra call); without a known window nothing is checked.
 */
export async function fitContextWindow(
  deps: { tokenizer?: Tokenizer; windows?: ContextWindows },
  req: CreateResponseRequest,
  items: ItemBody[],
  first: number,
  signal?: AbortSignal,
): Promise<{ items: ItemBody[]; dropped: number; tokens: number | null }> {
  const window = (await deps.windows?.windowOf(req.model)) ?? null
  if (window === null) return { items, dropped: 0, tokens: null }
  /** `list`'s tokens; `estimated`: its estimate, already made (the whole history: a long chain costs a pass each time). */
  const count = async (list: ItemBody[], estimated?: number) => {
    const estimate = estimated ?? estimateItems(req, list)
    if (estimate < window / 2) return estimate
    return (await deps.tokenizer?.countInput(toUpstreamRequest(req, [], list), signal)) ?? estimate
  }
  let tokens = await count(items, first)
  if (tokens <= window) return { items, dropped: 0, tokens }
  if (req.truncation !== 'auto') throw contextLengthExceeded(tokens, window, false)
  let kept = items
  // Each round drops what the estimate says is enough, then counts again; a few rounds settle it.
  for (let round = 0; round < 4 && tokens > window; round++) {
    const units = droppableUnits(kept)
    if (units.length === 0) break
    const size = (i: number) => JSON.stringify(kept[i]).length / 4
    const total = kept.reduce((n, _, i) => n + size(i), 0)
    const scale = total > 0 ? tokens / total : 1
    let need = tokens - window
    const drop = new Set<number>()
    for (const unit of units) {
      if (need <= 0) break
      for (const i of unit) {
        drop.add(i)
        need -= size(i) * scale
      }
    }
    kept = kept.filter((_, i) => !drop.has(i))
    tokens = await count(kept)
  }
  if (tokens > window) throw contextLengthExceeded(tokens, window, true)
  return { items: kept, dropped: items.length - kept.length, tokens }
}
