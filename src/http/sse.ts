// Delivers an iterator of event batches as Server-Sent Events: `event: <type>` + one `data:` line per event, written to
// a direct stream (Bun's ReadableStream type 'direct': no JS queue, no copy per chunk). A batch — the events one
// upstream chunk carried (engine/running-turn.ts) — is written as one string of frames: one write, one UTF-8 encoding
// and one socket send for hundreds of deltas instead of one each; a batch holding a run of text deltas (kept as the
// upstream's bytes, upstream/delta-run.ts) is written as one buffer, those bytes copied into it. One stream for
// both wire formats: the Responses API's (sseResponse) and the Messages API's (http/messages-sse.ts, with pings). The
// writer waits whenever the socket pushes back, so a slow client slows the turn instead of growing a buffer; a client
// that goes away ends the iterator (the engine then stores the turn as incomplete).
import { toApiError, toErrorBody } from '../errors'
import type { HookSet } from '../metrics/http'
import { asIs } from './as-is'
import type { ResponseEvent, StreamEvent } from '../schema/events'
import type { BatchSink } from '../engine/turn-types'
import { DELTA_RUN, type DeltaRun, runLength } from '../upstream/delta-run'

const enc = new TextEncoder()

const frameText = (e: { type: string }) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`

// The frames of a run of text deltas (upstream/delta-run.ts), as bytes: these pieces, the sequence number's digits and
// the delta's bytes as the upstream sent them — byte for byte frameText of each delta event (the same keys in the same
// order as the normaliser's event; the run holds only deltas JSON.stringify writes as they are).
const RUN_HEAD = enc.encode('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":')
const RUN_TAIL = enc.encode('","logprobs":[]}\n\n')

const TAIL_HEAD = new Uint8Array([...RUN_TAIL, ...RUN_HEAD])

/** `lead`, room for a sequence number of `digits` digits, then a run's middle piece: made again only when either changes. */
class NumberedPiece {
  private bytes: Uint8Array
  private digits = -1
  constructor(private readonly lead: Uint8Array) {
    this.bytes = lead
  }

  /** Forgets the piece: the run's middle piece changed. */
  reset(): void {
    this.digits = -1
  }

  of(digits: number, middle: Uint8Array): Uint8Array {
    if (digits !== this.digits) {
      const bytes = new Uint8Array(this.lead.length + digits + middle.length)
      bytes.set(this.lead, 0)
      bytes.set(middle, this.lead.length + digits)
      this.bytes = bytes
      this.digits = digits
    }
    return this.bytes
  }
}

/**
 * A buffer of `size` bytes for frames that fill every byte of it. A large one is taken unzeroed: zeroing a 1,000-delta
 * burst's ~214 KB before writing all of it was wasted work on the serving thread. A small one (a token's frame) stays
 * as it was: zeroing it costs nothing worth a change to the token-by-token path.
 */
const UNZEROED_FROM = 4096
const frameBuffer = (size: number): Uint8Array => (size < UNZEROED_FROM ? new Uint8Array(size) : Buffer.allocUnsafeSlow(size))

/**
 * A stream's batches as what is written for each: a string of frames, or — when a batch holds a run of deltas — one
 * buffer of exactly its size (frameBuffer), the run's frames and the other events' (UTF-8) in order. One per stream: it keeps the
 * last run's middle piece (a token-by-token stream has a run per chunk, all of one item).
 */
class BatchWriter {
  private item = ''
  private output = -1
  private content = -1
  private middle: Uint8Array = RUN_TAIL
  /**
   * What goes between two deltas' texts in a run's frames: a frame's tail, the next one's head, room for its sequence
   * number, the middle piece — one copy per delta (two copies cost measurably more).
   */
  private readonly joint = new NumberedPiece(TAIL_HEAD)
  /** What a run's frames begin with: the head, room for the sequence number, the middle piece (one copy too). */
  private readonly opening = new NumberedPiece(RUN_HEAD)

  frames(batch: { type: string }[]): string | Uint8Array {
    // one event or one run: a token-by-token stream's every batch (one upstream chunk, one token)
    if (batch.length === 1) {
      const e = batch[0]!
      if (e.type !== DELTA_RUN) return frameText(e)
      const out = frameBuffer(this.runSize(e as DeltaRun))
      this.writeRun(e as DeltaRun, out, 0)
      return out
    }
    let runs = 0
    for (let i = 0; i < batch.length; i++) if (batch[i]!.type === DELTA_RUN) runs++
    if (runs === 0) {
      let text = ''
      for (let i = 0; i < batch.length; i++) text += frameText(batch[i]!)
      return text
    }
    const pieces: (Uint8Array | DeltaRun)[] = []
    let size = 0
    let text = ''
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i]!
      if (e.type !== DELTA_RUN) {
        text += frameText(e)
        continue
      }
      if (text) {
        const bytes = enc.encode(text)
        size += bytes.length
        pieces.push(bytes)
        text = ''
      }
      size += this.runSize(e as DeltaRun)
      pieces.push(e as DeltaRun)
    }
    if (text) {
      const bytes = enc.encode(text)
      size += bytes.length
      pieces.push(bytes)
    }
    // exactly its size: a view of a part of a buffer (subarray) cost more than the copying
    const out = frameBuffer(size)
    let p = 0
    for (const piece of pieces) {
      if (piece instanceof Uint8Array) {
        out.set(piece, p)
        p += piece.length
      } else p = this.writeRun(piece, out, p)
    }
    return out
  }

  /** The piece of a run's frames between the sequence number and the delta: the item, its index, the part's. */
  private middleOf(run: DeltaRun): Uint8Array {
    if (this.item !== run.item_id || this.output !== run.output_index || this.content !== run.content_index) {
      this.item = run.item_id
      this.output = run.output_index
      this.content = run.content_index
      this.middle = enc.encode(
        `,"item_id":${JSON.stringify(run.item_id)},"output_index":${run.output_index},"content_index":${run.content_index},"delta":"`,
      )
      this.joint.reset()
      this.opening.reset()
    }
    return this.middle
  }

  /** How many bytes the frames of a placed run of text deltas take. */
  private runSize(run: DeltaRun): number {
    const { spans } = run
    const n = spans.length >> 1
    let texts = 0
    for (let i = 0; i < spans.length; i += 2) texts += spans[i + 1]! - spans[i]!
    return n * (RUN_HEAD.length + RUN_TAIL.length + this.middleOf(run).length) + digitsFrom(run.sequence_number, n) + texts
  }

  /** Writes the SSE frames of a placed run of text deltas at out[p]; returns the end. */
  private writeRun(run: DeltaRun, out: Uint8Array, p: number): number {
    this.middleOf(run)
    const { bytes, spans } = run
    let seq = run.sequence_number
    let digits = digitsOf(seq)
    // the first number with one digit more
    let next = POW10[digits]!
    for (let i = 0; i < spans.length; i += 2, seq++) {
      if (seq === next) {
        digits++
        next *= 10
      }
      let at: number
      if (i === 0) {
        // one copy for the head, the number's room and the middle (a copy each cost more: a token's frame is little else)
        const opening = this.opening.of(digits, this.middle)
        out.set(opening, p)
        at = p + RUN_HEAD.length
        p += opening.length
      } else {
        const joint = this.joint.of(digits, this.middle)
        out.set(joint, p)
        at = p + TAIL_HEAD.length
        p += joint.length
      }
      for (let k = at + digits - 1, n = seq; k >= at; k--, n = (n / 10) | 0) out[k] = 0x30 + (n % 10)
      for (let k = spans[i]!, end = spans[i + 1]!; k < end; k++) out[p++] = bytes[k]!
    }
    out.set(RUN_TAIL, p)
    return p + RUN_TAIL.length
  }
}

/** 10 ** i: the first number of i + 1 digits (a sequence number has at most 15) */
const POW10 = Array.from({ length: 17 }, (_, i) => 10 ** i)

/** How many decimal digits n (a non-negative integer) has. */
function digitsOf(n: number): number {
  let digits = 1
  while (digits < 16 && n >= POW10[digits]!) digits++
  return digits
}

/** How many decimal digits the n numbers from `first` on have together. */
function digitsFrom(first: number, n: number): number {
  let total = 0
  const end = first + n
  for (let lo = first, digits = digitsOf(first); lo < end; digits++) {
    const hi = Math.min(end, POW10[digits]!)
    total += (hi - lo) * digits
    lo = hi
  }
  return total
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

/**
 * An iterator of batches, or what makes one given a sink (engine/turn-types.ts BatchSink): the producer then writes most
 * of its batches to the stream itself, from wherever it makes them, and yields the rest.
 */
export type BatchSource<E> = AsyncIterator<E[]> | ((sink: BatchSink<E>) => AsyncIterator<E[]>)

/** The batches (never empty) as an SSE Response; see EventStreamOptions. */
export function eventStreamResponse<E extends { type: string }>(source: BatchSource<E>, opts: EventStreamOptions<E>): Response {
  const { open, pingMs } = opts
  let last: E | null = null
  let ended = false
  let gone = false
  let started = false
  const writer = new BatchWriter()
  /** the stream's controller, once pull() runs (the producer writes nothing before it asks for its first batch) */
  let out: ReadableStreamDirectController | null = null
  /** A batch written: a promise when the socket's buffer is full (wait for it to drain). Nothing once the client left. */
  const write = (batch: E[]): Promise<unknown> | undefined => {
    if (gone) return undefined
    last = batch[batch.length - 1] ?? last
    const written = out!.write(writer.frames(batch))
    return typeof written === 'number' ? undefined : written
  }
  const events = typeof source === 'function' ? source({ write }) : source
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
      out = ctl
      try {
        for (;;) {
          // Without pings the iterator's own promise is awaited: an async wrapper returning it costs every event extra turns.
          const r = await (pingMs === undefined ? events.next() : nextWithPings(ctl, pingMs))
          if (r.done || gone) break
          const written = write(r.value)
          if (written) await written
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

/**
 * A Responses API stream: an iterator of batches, or a turn's `(sink) => turn.batches(sink)` (its model events written
 * from the adapter's loop). `open` (agentgate_active_sse_streams) counts it until it ends, fails or the client leaves.
 */
export function sseResponse(events: BatchSource<ResponseEvent | DeltaRun>, set?: HookSet, open?: { inc(): void; dec(): void }): Response {
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
