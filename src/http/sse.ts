// Delivers an event iterator as Server-Sent Events: `event: <type>` + one `data:` line, one write per event. One
// stream for both wire formats: the Responses API's (sseResponse) and the Messages API's (http/messages-sse.ts, with
// pings). Pull-based, so a slow client slows the turn instead of growing a buffer; a client that goes away ends the
// iterator (the engine then stores the turn as incomplete).
import { toApiError, toErrorBody } from '../errors'
import type { ResponseEvent, StreamEvent } from '../schema/events'

const enc = new TextEncoder()

/** One event as one SSE frame: `event: <type>` + one `data:` line (the JSON of the whole event). */
export function sseFrame(e: { type: string }): Uint8Array {
  return enc.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
}

export interface EventStreamOptions<E extends { type: string }> {
  /** the route's own headers (x-request-id, …), added to the SSE ones */
  headers?: Record<string, string>
  /** a gauge (agentgate_active_sse_streams) that counts the stream from here until it ends, fails or the client leaves */
  open?: { inc(): void; dec(): void }
  /** a `ping` event is sent after this many ms without an event (the next event is still awaited); unset: no pings */
  pingMs?: number
  /**
   * The in-band event that reports a failure after the stream began (the status line is long sent), given the last
   * event delivered (null: none yet). The stream ends after it.
   */
  errorEvent(e: unknown, last: E | null): { type: string }
}

/** The iterator as an SSE Response; see EventStreamOptions. */
export function eventStreamResponse<E extends { type: string }>(events: AsyncIterator<E>, opts: EventStreamOptions<E>): Response {
  const { open, pingMs } = opts
  let last: E | null = null
  // The next event may take longer than one ping interval: its promise is kept across pings.
  let pending: Promise<IteratorResult<E>> | null = null
  let ended = false
  const end = () => {
    if (!ended) open?.dec()
    ended = true
  }
  open?.inc()
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      pending ??= events.next()
      let timer: ReturnType<typeof setTimeout> | undefined
      try {
        const r =
          pingMs === undefined
            ? await pending
            : await Promise.race([pending, new Promise<'ping'>((resolve) => (timer = setTimeout(() => resolve('ping'), pingMs)))])
        if (r === 'ping') return ctl.enqueue(sseFrame({ type: 'ping' }))
        pending = null
        if (r.done) {
          end()
          return ctl.close()
        }
        last = r.value
        ctl.enqueue(sseFrame(r.value))
      } catch (e) {
        ctl.enqueue(sseFrame(opts.errorEvent(e, last)))
        ctl.close()
        end()
      } finally {
        clearTimeout(timer)
      }
    },
    async cancel() {
      end()
      await events.return?.(undefined)
    },
  })
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
      ...opts.headers,
    },
  })
}

/** A Responses API stream. `open` (agentgate_active_sse_streams) counts it until it ends, fails or the client leaves. */
export function sseResponse(
  events: AsyncIterator<ResponseEvent>,
  headers: Record<string, string> = {},
  open?: { inc(): void; dec(): void },
): Response {
  return eventStreamResponse(events, {
    headers,
    open,
    errorEvent(e, last): StreamEvent {
      // Errors after the stream started can only be reported in-band (a storage failure as storage_unavailable).
      const err = toApiError(e)
      const body = toErrorBody(err.message, err.type, err.errorCode, err.param).error
      // Both error-event shapes at once (OpenAI's top-level fields and Open Responses' nested `error`).
      return { ...body, type: 'error', sequence_number: (last?.sequence_number ?? -1) + 1, error: body }
    },
  })
}

/**
 * An SSE Response as the answer of a route whose JSON answer has a schema: Elysia types a handler's return by that
 * schema, yet sends a Response as it is (no validation). The one cast between the two views of the same answer.
 */
export function sseAnswer<T>(res: Response): T {
  return res as unknown as T
}
