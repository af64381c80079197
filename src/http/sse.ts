// Delivers an iterator of event batches as Server-Sent Events: `event: <type>` + one `data:` line per event, written to
// a direct stream (Bun's ReadableStream type 'direct': no JS queue, no copy per chunk). A batch — the events one
// upstream chunk carried (engine/running-turn.ts) — is written as one string of frames: one write, one UTF-8 encoding
// and one socket send for hundreds of deltas instead of one each. One stream for
// both wire formats: the Responses API's (sseResponse) and the Messages API's (http/messages-sse.ts, with pings). The
// writer waits whenever the socket pushes back, so a slow client slows the turn instead of growing a buffer; a client
// that goes away ends the iterator (the engine then stores the turn as incomplete).
import { toApiError, toErrorBody } from '../errors'
import type { HookSet } from '../metrics/http'
import { asIs } from './as-is'
import type { ResponseEvent, StreamEvent } from '../schema/events'

const enc = new TextEncoder()

const frameText = (e: { type: string }) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`

/** One event as one SSE frame: `event: <type>` + one `data:` line (the JSON of the whole event). */
export function sseFrame(e: { type: string }): Uint8Array {
  return enc.encode(frameText(e))
}

export interface EventStreamOptions<E extends { type: string }> {
  /**
   * The route's `set`: its headers (x-request-id, …) go onto the stream's Response, which Elysia then sends as it is
   * (http/as-is.ts) instead of rebuilding it around the same body on every streamed turn.
   */
  set?: HookSet
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

/** An iterator of single events as batches of one (a replay from the store, a background turn's live feed). */
export async function* singly<E>(events: AsyncIterable<E>): AsyncGenerator<E[]> {
  for await (const e of events) yield [e]
}

/** The iterator of batches (never empty) as an SSE Response; see EventStreamOptions. */
export function eventStreamResponse<E extends { type: string }>(events: AsyncIterator<E[]>, opts: EventStreamOptions<E>): Response {
  const { open, pingMs } = opts
  let last: E | null = null
  let ended = false
  let gone = false
  let started = false
  const end = () => {
    if (!ended) open?.dec()
    ended = true
  }
  open?.inc()
  /** The next event, with pings: a `ping` frame goes out whenever pingMs pass without one (the event is still awaited). */
  const nextWithPings = async (ctl: ReadableStreamDirectController, pingMs: number): Promise<IteratorResult<E[]>> => {
    const pending = events.next()
    for (;;) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const r = await Promise.race([pending, new Promise<'ping'>((resolve) => (timer = setTimeout(() => resolve('ping'), pingMs)))])
      clearTimeout(timer)
      if (r !== 'ping' || gone) return r === 'ping' ? { done: true, value: undefined } : r
      ctl.write(frameText({ type: 'ping' }))
    }
  }
  const stream = new ReadableStream({
    type: 'direct',
    // Called once: the whole stream is written from here.
    async pull(ctl: ReadableStreamDirectController) {
      // a reader may call pull again once the first call has settled, i.e. after the end
      if (started) return
      started = true
      try {
        for (;;) {
          // Without pings the iterator's own promise is awaited: an async wrapper returning it costs every event extra turns.
          const r = await (pingMs === undefined ? events.next() : nextWithPings(ctl, pingMs))
          if (r.done || gone) break
          const batch = r.value
          let text = ''
          for (let i = 0; i < batch.length; i++) text += frameText(batch[i]!)
          last = batch[batch.length - 1] ?? last
          const written = ctl.write(text)
          // a promise: the socket's buffer is full; wait for it to drain
          if (typeof written !== 'number') await written
        }
      } catch (e) {
        if (!gone) ctl.write(frameText(opts.errorEvent(e, last)))
      }
      end()
      if (!gone) ctl.close()
    },
    async cancel() {
      gone = true
      end()
      await events.return?.(undefined)
    },
  })
  const res = new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
  })
  return opts.set ? asIs(res, opts.set) : res
}

/** A Responses API stream. `open` (agentgate_active_sse_streams) counts it until it ends, fails or the client leaves. */
export function sseResponse(events: AsyncIterator<ResponseEvent[]>, set?: HookSet, open?: { inc(): void; dec(): void }): Response {
  return eventStreamResponse(events, {
    set,
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
