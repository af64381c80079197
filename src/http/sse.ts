// Delivers an event iterator as Server-Sent Events: `event: <type>` + one `data:` line, one write per
// event. Pull-based, so a slow client slows the turn instead of growing a buffer; a client that goes
// away ends the iterator (the engine then stores the turn as incomplete).
import { toApiError, toErrorBody } from '../errors'
import type { ResponseEvent, StreamEvent } from '../schema/events'

const enc = new TextEncoder()

export function sseFrame(e: StreamEvent): Uint8Array {
  return enc.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
}

/** `open` (agentgate_active_sse_streams) counts the stream from here until it ends, fails or the client leaves. */
export function sseResponse(
  events: AsyncIterator<ResponseEvent>,
  headers: Record<string, string> = {},
  open?: { inc(): void; dec(): void },
): Response {
  let lastSeq = -1
  let ended = false
  const end = () => {
    if (!ended) open?.dec()
    ended = true
  }
  open?.inc()
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const r = await events.next()
        if (r.done) {
          end()
          return ctl.close()
        }
        lastSeq = r.value.sequence_number
        ctl.enqueue(sseFrame(r.value))
      } catch (e) {
        // Errors after the stream started can only be reported in-band (a storage failure as storage_unavailable).
        const err = toApiError(e)
        const body = toErrorBody(err.message, err.type, err.errorCode, err.param).error
        // Both error-event shapes at once (OpenAI's top-level fields and Open Responses' nested `error`).
        ctl.enqueue(sseFrame({ ...body, type: 'error', sequence_number: lastSeq + 1, error: body }))
        ctl.close()
        end()
      }
    },
    async cancel() {
      end()
      await events.return?.(undefined)
    },
  })
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers },
  })
}

/**
 * An SSE Response as the answer of a route whose JSON answer has a schema: Elysia types a handler's return by that
 * schema, yet sends a Response as it is (no validation). The one cast between the two views of the same answer.
 */
export function sseAnswer<T>(res: Response): T {
  return res as unknown as T
}
