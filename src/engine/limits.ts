// The limits a turn runs under, apart from those of the edges (request body, WebSocket frame and queue) and of the
// upstream stream (upstream/stream-limit.ts): how long a history may be (--max-history-items) and how large a stored
// response may be (--max-stored-response-bytes). Each ends the turn with a clear error or status and leaves the
// store consistent (engine/turn-start.ts and engine/turn-finish.ts).
import { ApiError } from '../errors'
import type { ResponseObjectT } from '../schema/responses'
import type { ItemBody } from '../store/types'

export interface TurnLimits {
  /** items a previous_response_id chain or a conversation may hold as the history of a new turn */
  maxHistoryItems: number
  /** bytes of the final Response object's JSON a stored turn may keep */
  maxStoredResponseBytes: number
}

export const NO_LIMITS: TurnLimits = { maxHistoryItems: Number.POSITIVE_INFINITY, maxStoredResponseBytes: Number.POSITIVE_INFINITY }

/** incomplete_details.reason of a turn whose output was cut to fit --max-stored-response-bytes */
export const STORED_SIZE_REASON = 'max_stored_response_bytes'

/**
 * 400 for a history over --max-history-items, before any model call. The code is OpenAI's for an input too long for
 * the model, which clients (Codex among them) already tell their users about.
 */
export function historyTooLong(param: 'previous_response_id' | 'conversation', ref: string, count: number, max: number): ApiError {
  const what = param === 'conversation' ? `Conversation '${ref}'` : `The previous_response_id chain of '${ref}'`
  return ApiError.badRequest(
    `${what} has ${count} items, more than this gateway's limit of ${max} (--max-history-items). Start a new chain or conversation (e.g. with a summary of this one).`,
    param,
    'context_length_exceeded',
  )
}

export function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v))
}

/**
 * The longest run of whole output items, from the start, whose Response (built by `build`) fits in `max` bytes of
 * JSON — never half an item. `cut` says whether any item was left out. Cheap when it fits (one serialisation);
 * otherwise a binary search (the size grows with every item).
 */
export function fitOutput(
  build: (output: ItemBody[]) => ResponseObjectT,
  output: ItemBody[],
  max: number,
): { response: ResponseObjectT; output: ItemBody[]; cut: boolean } {
  const full = build(output)
  if (!Number.isFinite(max) || jsonBytes(full) <= max) return { response: full, output, cut: false }
  let lo = 0 // fits (or nothing does: then no output at all)
  let hi = output.length - 1 // largest count still worth trying
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (jsonBytes(build(output.slice(0, mid))) <= max) lo = mid
    else hi = mid - 1
  }
  const kept = output.slice(0, lo)
  return { response: build(kept), output: kept, cut: lo < output.length }
}
