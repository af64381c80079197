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
import { DELTA_RUN, type DeltaRun, runLength } from '../upstream/delta-run'

const enc = new TextEncoder()

const frameText = (e: { type: string }) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`

// The frames of a run of text deltas (upstream/delta-run.ts), as bytes: these pieces, the sequence number's digits and
// the delta's bytes as the upstream sent them — byte for byte frameText of each delta event (the same keys in the same
// order as the normaliser's event; the run holds only deltas JSON.stringify writes as they are).
const RUN_HEAD = enc.encode('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":')
const RUN_TAIL = enc.encode('","logprobs":[]}\n\n')

const TAIL_HEAD = new Uint8Array([...RUN_TAIL, ...RUN_HEAD])

/** The last run's middle piece (its item and part): a token-by-token stream has a run per chunk, all of one item. */
let middle = { item: '', output: -1, content: -1, bytes: new Uint8Array(0) }

/** The piece of a run's frames between the sequence number and the delta: the item, its index, the part's. */
function runMiddle(run: DeltaRun): Uint8Array {
  const m = middle
  if (m.item === run.item_id && m.output === run.output_index && m.content === run.content_index) return m.bytes
  const text = `,"item_id":${JSON.stringify(run.item_id)},"output_index":${run.output_index},"content_index":${run.content_index},"delta":"`
  middle = { item: run.item_id, output: run.output_index, content: run.content_index, bytes: enc.encode(text) }
  return middle.bytes
}

/** At most how many bytes the frames of a placed run of text deltas take. */
function runFramesSize(run: DeltaRun): number {
  const { spans } = run
  const each = RUN_HEAD.length + RUN_TAIL.length + String(run.sequence_number + runLength(run)).length + 128 + run.item_id.length * 6
  let size = 0
  for (let i = 0; i < spans.length; i += 2) size += each + spans[i + 1]! - spans[i]!
  return size
}

/** Writes the SSE frames of a placed run of text deltas at out[p] (room enough: runFramesSize); returns the end. */
function writeRunFrames(run: DeltaRun, out: Uint8Array, p: number): number {
  const mid = runMiddle(run)
  const { bytes, spans } = run
  let seq = run.sequence_number
  out.set(RUN_HEAD, p)
  p += RUN_HEAD.length
  for (let i = 0; i < spans.length; i += 2, seq++) {
    // one frame's tail and the next one's head are one piece
    if (i) {
      out.set(TAIL_HEAD, p)
      p += TAIL_HEAD.length
    }
    p = writeDigits(out, p, seq)
    out.set(mid, p)
    p += mid.length
    for (let k = spans[i]!, end = spans[i + 1]!; k < end; k++) out[p++] = bytes[k]!
  }
  out.set(RUN_TAIL, p)
  return p + RUN_TAIL.length
}

/** n (a non-negative integer) in decimal ASCII at out[p]; returns the position after it. */
function writeDigits(out: Uint8Array, p: number, n: number): number {
  let digits = 1
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++
  for (let i = p + digits - 1; i >= p; i--) {
    out[i] = 0x30 + (n % 10)
    n = Math.floor(n / 10)
  }
  return p + digits
}

/**
 * A batch's frames as one write: a string of frames, or — when it holds a run of deltas — one buffer, the run's frames
 * and the other events' (UTF-8 encoded into it) in order.
 */
function batchFrames(batch: { type: string }[]): string | Uint8Array {
  let runs = 0
  for (let i = 0; i < batch.length; i++) if (batch[i]!.type === DELTA_RUN) runs++
  if (runs === 0) {
    let text = ''
    for (let i = 0; i < batch.length; i++) text += frameText(batch[i]!)
    return text
  }
  // the events between runs as text, each piece's room its UTF-16 length × 3 (UTF-8 never takes more)
  const pieces: (string | DeltaRun)[] = []
  let size = 0
  let text = ''
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i]!
    if (e.type !== DELTA_RUN) {
      text += frameText(e)
      continue
    }
    if (text) pieces.push(text)
    size += text.length * 3 + runFramesSize(e as DeltaRun)
    pieces.push(e as DeltaRun)
    text = ''
  }
  if (text) pieces.push(text)
  size += text.length * 3
  const out = new Uint8Array(size)
  let p = 0
  for (const piece of pieces)
    p = typeof piece === 'string' ? p + enc.encodeInto(piece, out.subarray(p)).written : writeRunFrames(piece, out, p)
  return out.subarray(0, p)
}

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
          last = batch[batch.length - 1] ?? last
          const written = ctl.write(batchFrames(batch))
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
export function sseResponse(
  events: AsyncIterator<(ResponseEvent | DeltaRun)[]>,
  set?: HookSet,
  open?: { inc(): void; dec(): void },
): Response {
  return eventStreamResponse<ResponseEvent | DeltaRun>(events, {
    set,
    open,
    errorEvent(e, last): StreamEvent {
      // Errors after the stream started can only be reported in-band (a storage failure as storage_unavailable).
      const err = toApiError(e)
      const body = toErrorBody(err.message, err.type, err.errorCode, err.param).error
      // Both error-event shapes at once (OpenAI's top-level fields and Open Responses' nested `error`).
      const seq = last === null ? -1 : last.type === DELTA_RUN ? last.sequence_number + runLength(last) - 1 : last.sequence_number
      return { ...body, type: 'error', sequence_number: seq + 1, error: body }
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
