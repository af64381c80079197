// Server-sent events parsing for upstream streams, read straight from the upstream's body with the stream's bounds
// applied on the way: a line length limit (a broken or hostile upstream cannot make the gateway buffer without limit),
// optionally the stream's total bytes (--max-stream-bytes) and the longest silence between chunks (idle timeout).
// One reader and one loop per stream, and the messages of one chunk handed over together: per event there is no
// stream layer, promise or timer of its own. A token-by-token upstream sends one event per chunk, so per chunk there is
// one generator too (translatedBatches opens the call, reads, parses and translates in one loop: it is the adapter's
// stream) and the read's promise is awaited as the reader gives it (a generator or async function per stage cost every
// token a hop of its own).
import { ApiError } from '../errors'
import type { BatchStep } from './adapter'
import { utf8Text } from './bytes-text'
import { idleTimeout, streamFailure } from './failure'
import { openUpstreamStreams } from './open-streams'
import { streamTooLarge } from './stream-limit'

export interface SseMessage {
  event: string | null
  data: string
}

const readerOf = (body: ReadableStream<Uint8Array>) => body.getReader()
type Reader = ReturnType<typeof readerOf>
/** What one read of the body gives: a chunk, or the end. */
type ReadResult = Awaited<ReturnType<Reader['read']>>

export interface SseLimits {
  /** longest line, in bytes */
  maxLineBytes: number
  /** the whole stream's bytes; past it: 502 upstream_stream_too_large */
  maxStreamBytes?: number
  /** longest wait for the next chunk (ms); past it: 504 */
  idleMs?: number
  /** the upstream call, as errors name it (failure.ts describeCall) */
  call?: string | null
}

/**
 * Messages an adapter takes into the batch as the upstream's bytes, without decoding them (text deltas kept as bytes,
 * upstream/delta-run.ts); a message neither takes is decoded and translated as any other.
 */
export interface Splice<E> {
  /**
   * The message whose one data line is b[start, end): taken? The whole message (its first line to the end of its blank
   * line) is b[msgStart, msgEnd) when it is all in b (msgStart -1: it began in an earlier chunk).
   */
  take(b: Uint8Array, start: number, end: number, batch: E[], msgStart: number, msgEnd: number): boolean
  /**
   * Offered at the start of each line where no message is begun: the whole message starting at b[pos] taken as it is,
   * if it is one it knows, of at most `maxBytes`; returns where it ends (after its blank line), -1: not taken.
   */
  takeAt(b: Uint8Array, pos: number, batch: E[], maxBytes: number): number
}

/**
 * Where an adapter's stream comes from: the call that opens it, resolving to the event-stream body to read — or, for
 * an upstream that answered with one whole JSON object, the events made of it (one batch, nothing read or held).
 */
export type StreamSource<E> = () => Promise<ReadableStream<Uint8Array> | E[]>

/**
 * An upstream's event stream as batches of what its messages translate to: `into` adds a message's events to the
 * batch of its chunk (one batch per network chunk, never empty), until the `[DONE]` message; then `end` (given
 * whether `[DONE]` came) gives what the translation held back to the end, as the last batch. A message `into` throws
 * for (not JSON, not an event) ends the stream after the batch so far: what streamed before it still counts. Returns
 * whether `[DONE]` came. Both upstream adapters (responses.ts, chat.ts) are this generator, opened by their call
 * (`source`): one generator from the upstream's bytes to the adapter's events, as an adapter's own generator around
 * this one cost every chunk one more hop. `splice`, when given, is offered each message of one data line first.
 * `step`, when given, is the caller's work on each batch (adapter.ts BatchStep), done here for the same reason: what
 * its `map` makes of a batch is what is yielded, its `after` is awaited before the next read, and once its `done` says
 * so the stream ends there. Ending the iteration early (or any error) cancels the body, which closes the upstream
 * connection.
 */
export async function* translatedBatches<E, O = E>(
  source: ReadableStream<Uint8Array> | StreamSource<E>,
  limits: SseLimits,
  into: (msg: SseMessage, batch: E[]) => void,
  { splice, end, step }: { splice?: Splice<E>; end?: (sawDone: boolean) => E[]; step?: BatchStep<O, E> } = {},
): AsyncGenerator<O[], boolean> {
  // without a step a batch is yielded as it is (O is E)
  const map = step ? step.map : (batch: E[]) => batch as unknown as O[]
  const body = typeof source === 'function' ? await source() : source
  if (Array.isArray(body)) {
    if (!body.length) return false
    const out = map(body)
    if (out.length) yield out
    const written = step?.after()
    if (written) await written
    return false
  }
  const src = new SseSource(body, limits, into, splice ?? null)
  // A chunk's batch array, once what it held is no longer needed, is the next chunk's: a step's map makes what is
  // yielded of it (a fresh array per chunk was one per token from a token-by-token upstream). Not when it is yielded
  // itself (no step, or a map that hands it back).
  let spare: E[] | null = null
  let sawDone = false
  try {
    for (;;) {
      let r: ReadResult
      try {
        r = await src.read()
      } catch (e) {
        throw src.failure(e)
      }
      const batch: E[] = spare ?? []
      spare = null
      try {
        sawDone = src.take(r, batch)
      } catch (e) {
        // a message the translation refused ends the stream after what came before it
        if (src.refused && batch.length) {
          const out = map(batch)
          if (out.length) yield out
        }
        throw e
      }
      if (batch.length) {
        const out = map(batch)
        if ((out as unknown) !== batch) {
          batch.length = 0
          spare = batch
        }
        if (out.length) yield out
        if (step) {
          // awaited only when there is a write to wait for: an `await` of nothing still costs a turn of the queue
          const written = step.after()
          if (written) await written
          if (step.done()) return sawDone
        }
      } else spare = batch
      if (sawDone || r.done) break
    }
  } finally {
    src.close()
  }
  const last = end?.(sawDone)
  if (last?.length) {
    const out = map(last)
    if (out.length) yield out
    const written = step?.after()
    if (written) await written
  }
  return sawDone
}

const EMPTY = new Uint8Array(0)
const BOM = [0xef, 0xbb, 0xbf]
const LF = 10
const CR = 13
const COLON = 58
const SPACE = 32
const DATA = [0x64, 0x61, 0x74, 0x61]
const EVENT = [0x65, 0x76, 0x65, 0x6e, 0x74]

/**
 * One upstream SSE body: its reader, the bounds of the stream (bytes, idle time) and the framing of its lines into
 * messages across chunk boundaries, each message handed on as it completes: to the splice, or decoded to `into`. The
 * loop reading it (above) awaits `read()` and hands what it got to `take`. Lines are framed on the bytes (the line ends
 * are ASCII), and a message's data is decoded only when it is not taken as bytes: a delta copied through as bytes is
 * never decoded here, and one the splice knows whole is not even framed line by line (Splice.takeAt).
 */
class SseSource<E> {
  private readonly reader: Reader
  private readonly maxLineBytes: number
  private readonly maxStreamBytes: number
  private readonly idleMs: number
  private readonly call: string | null
  /** the chunk being framed, with the unfinished line of the chunk before in front */
  private buffer: Uint8Array = EMPTY
  /** the unfinished last line of the chunks before, in pieces (null: none), and its length */
  private rest: Uint8Array[] | null = null
  private restBytes = 0
  private started = false
  /** the message's event name: decoded, or still the bytes [eventStart, eventEnd) of this buffer (eventStart -1: not) */
  private event: string | null = null
  private eventStart = -1
  private eventEnd = -1
  /** the message's first data line, and any further ones (null: none) */
  private data: string | null = null
  private more: string[] | null = null
  /** the message's first data line while it is still bytes of this buffer: [dataStart, dataEnd); -1: none */
  private dataStart = -1
  private dataEnd = -1
  /** where the message's first line began in this buffer (-1: in an earlier one, or no message begun) */
  private msgStart = -1
  private seen = 0
  /** `into` threw for a message (the stream ends after the events before it) */
  refused = false
  // The idle timeout: one timer for the whole stream, not one per read (a token-by-token upstream sends a chunk per
  // event, and a timer set and cleared per chunk was a good part of what such an event cost). It fires at most once per
  // idleMs while reads keep coming, finds the read pending since less than idleMs, and is set again for the rest.
  /** performance.now() when the pending read began; -1: no read pending */
  private waitingSince = -1
  private idle = false
  private timer: ReturnType<typeof setTimeout> | undefined

  /** counts this stream closed in the process's open upstream streams (open-streams.ts) */
  private readonly uncount: () => void

  constructor(
    body: ReadableStream<Uint8Array>,
    limits: SseLimits,
    private readonly into: (msg: SseMessage, batch: E[]) => void,
    private readonly splice: Splice<E> | null,
  ) {
    this.reader = readerOf(body)
    this.maxLineBytes = limits.maxLineBytes
    this.maxStreamBytes = limits.maxStreamBytes ?? Number.POSITIVE_INFINITY
    this.idleMs = limits.idleMs ?? 0
    this.call = limits.call ?? null
    this.uncount = openUpstreamStreams.opened()
  }

  /** The next chunk, within idleMs when set (a silent upstream is cancelled and the read ends in a 504). */
  read(): Promise<ReadResult> {
    if (this.idleMs > 0) {
      this.waitingSince = performance.now()
      this.timer ??= setTimeout(this.onTimer, this.idleMs)
    }
    return this.reader.read()
  }

  /** What a failed read ends the stream with: the idle timeout, or the reset connection, malformed chunk… in our words. */
  failure(e: unknown): ApiError {
    this.waitingSince = -1
    return this.idle ? idleTimeout(this.idleMs, this.call) : streamFailure(e, this.call)
  }

  private readonly onTimer = () => {
    this.timer = undefined
    if (this.waitingSince < 0) return // no read pending: the next read sets the timer again
    const left = this.idleMs - (performance.now() - this.waitingSince)
    if (left > 0) {
      this.timer = setTimeout(this.onTimer, left)
      return
    }
    this.idle = true
    this.reader.cancel(idleTimeout(this.idleMs, this.call)).catch(() => {})
  }

  /** The text of buffer[start, end). */
  private text(start: number, end: number): string {
    // A line's value is decoded whole (never split), so no stream decoder is needed; a BOM is dropped at the stream's
    // start only (as a stream decoder does), never inside a line.
    return utf8Text(this.buffer, start, end)
  }

  private setBuffer(buf: Uint8Array): void {
    this.buffer = buf
    this.msgStart = -1
  }

  /**
   * The messages a read completed (at the end of the stream: the last one, unterminated, if any) into the batch, in
   * order; returns whether the `[DONE]` message came (nothing after it is read).
   */
  take(r: ReadResult, batch: E[]): boolean {
    this.waitingSince = -1
    if (this.idle) throw idleTimeout(this.idleMs, this.call)
    if (r.done) {
      const rest = this.rest && (this.rest.length === 1 ? this.rest[0]! : Buffer.concat(this.rest))
      this.rest = null
      this.setBuffer(EMPTY)
      if (rest && rest.length >= 5 && startsWith(rest, 0, rest.length, DATA) && rest[4] === COLON) {
        const value = utf8Text(rest, rest[5] === SPACE ? 6 : 5, rest.length)
        if (this.data === null) this.data = value
        else (this.more ??= []).push(value)
      }
      return this.data !== null && this.dispatch(this.messageData(), batch)
    }
    this.seen += r.value.byteLength
    if (this.seen > this.maxStreamBytes) throw streamTooLarge(this.maxStreamBytes)
    let buf = r.value
    let pos = 0
    if (this.rest) {
      const last = this.rest[this.rest.length - 1]!
      const first = firstLineEnd(buf)
      if (this.started && last[last.length - 1] !== CR) {
        // A long line coming in many chunks is joined once it ends, not at every chunk (that would copy it over and over).
        if (first < 0) {
          this.rest.push(buf)
          this.restBytes += buf.length
          if (this.restBytes > this.maxLineBytes) throw this.tooLong()
          return false
        }
        // The line the chunk finishes is framed on its own (rest and the chunk's first bytes joined), then the chunk in
        // place: no copy of the whole chunk to put a few bytes in front of it.
        if (first < buf.length) {
          this.rest.push(buf.subarray(0, first))
          const head = joined(this.rest, this.restBytes + first)
          this.rest = null
          this.restBytes = 0
          this.setBuffer(head)
          // (its line ends at its end, a \r too: the chunk's next byte is not a \n)
          if (this.frame(head, 0, batch, true) < 0) return true
          this.settle()
          pos = first
        }
      }
      if (this.rest) {
        this.rest.push(buf)
        buf = joined(this.rest, this.restBytes + buf.length)
        this.rest = null
        this.restBytes = 0
      }
    }
    if (!this.started) {
      // a BOM at the stream's start is not part of its first line (a chunk of fewer bytes than it may be its beginning)
      let n = 0
      while (n < 3 && n < buf.length && buf[n] === BOM[n]) n++
      if (n === buf.length && n < 3) {
        this.rest = [buf]
        this.restBytes = buf.length
        return false
      }
      this.started = true
      if (n === 3) pos = 3
    }
    this.setBuffer(buf)
    pos = this.frame(buf, pos, batch)
    if (pos < 0) return true
    // the message goes on in the next chunk: its data line and event name are decoded now (this buffer is not kept)
    this.settle()
    if (pos < buf.length) {
      if (buf.length - pos > this.maxLineBytes) throw this.tooLong()
      this.rest = [buf.slice(pos)]
      this.restBytes = buf.length - pos
    }
    return false
  }

  /**
   * Frames the lines of buf from pos into messages, handed on into the batch; returns where the unfinished last line
   * begins (buf.length: none), or -1 at the `[DONE]` message. `ended`: a \r at buf's end ends its line (no \n follows).
   */
  private frame(buf: Uint8Array, pos: number, batch: E[], ended = false): number {
    const max = this.maxLineBytes
    const splice = this.splice
    // The next \r at or after pos (-1: none left in this buffer; -2: not looked for yet). Looked up again only once pos
    // passes it: searching from every line for a \r that an LF-only stream never sends would scan the rest of the
    // buffer each time. Not looked for before a line is framed: a chunk the splice takes whole (a token-by-token
    // upstream's every chunk) needs no search at all.
    let cr = -2
    for (;;) {
      // no message begun (none of its lines seen, in this buffer or an earlier one)
      const fresh = this.msgStart < 0 && this.data === null && this.dataStart < 0 && this.eventStart < 0 && this.event === null
      if (fresh && splice !== null && pos < buf.length) {
        // one the splice knows whole is taken without framing its lines (a message's lines are at most the whole
        // message, so one within the line limit keeps its lines within it)
        const next = splice.takeAt(buf, pos, batch, max)
        if (next >= 0) {
          pos = next
          continue
        }
      }
      if (pos === buf.length) break
      const lf = buf.indexOf(LF, pos)
      if (cr !== -1 && cr < pos) cr = buf.indexOf(CR, pos)
      const nl = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)
      if (nl < 0) break
      // a lone \r at the end of the buffer may be the first half of \r\n: wait for more
      if (buf[nl] === CR && nl === buf.length - 1 && !ended) break
      if (nl - pos > max) throw this.tooLong()
      const next = nl + (buf[nl] === CR && buf[nl + 1] === LF ? 2 : 1)
      if (nl === pos) {
        let done = false
        if (this.dataStart >= 0) {
          const start = this.dataStart
          this.dataStart = -1
          if (splice === null || !splice.take(buf, start, this.dataEnd, batch, this.msgStart, next))
            done = this.dispatch(this.text(start, this.dataEnd), batch)
        } else if (this.data !== null) done = this.dispatch(this.messageData(), batch)
        this.event = null
        this.eventStart = -1
        this.msgStart = -1
        if (done) return -1
        pos = next
        continue
      }
      if (fresh) this.msgStart = pos
      if (isField(buf, pos, nl, DATA)) {
        const start = valueStart(buf, pos + 4, nl)
        if (this.data === null && this.dataStart < 0) {
          // kept as bytes until the message ends: one data line may be taken as it is
          this.dataStart = start
          this.dataEnd = nl
        } else {
          this.keepData()
          ;(this.more ??= []).push(this.text(start, nl))
        }
      } else if (isField(buf, pos, nl, EVENT)) {
        // decoded only for a message that is decoded (a delta taken as bytes says its type in its data)
        this.eventStart = valueStart(buf, pos + 5, nl)
        this.eventEnd = nl
        this.event = null
      }
      // other fields (id, retry), and comments (keep-alives): nothing to keep
      pos = next
    }
    return pos
  }

  /** The message's lines still held as bytes of this buffer, decoded (the buffer is about to change). */
  private settle(): void {
    this.keepData()
    if (this.eventStart >= 0) {
      this.event = this.text(this.eventStart, this.eventEnd)
      this.eventStart = -1
    }
  }

  /** Ends the reading: the timer stopped, the body cancelled (closing the upstream connection when it is not done). */
  close(): void {
    this.uncount()
    clearTimeout(this.timer)
    this.reader.cancel().catch(() => {})
  }

  /** The message's data line still held as bytes, decoded. */
  private keepData(): void {
    if (this.dataStart < 0) return
    this.data = this.text(this.dataStart, this.dataEnd)
    this.dataStart = -1
  }

  /** The data of the message whose lines were read (decoded), which a blank line (or the stream's end) completes. */
  private messageData(): string {
    const data = this.more === null ? this.data! : [this.data!, ...this.more].join('\n')
    this.data = null
    this.more = null
    return data
  }

  /** A completed message that is not taken as bytes, translated into the batch; true: it is `[DONE]`. */
  private dispatch(data: string, batch: E[]): boolean {
    if (data === '[DONE]') return true
    const event = this.eventStart >= 0 ? this.text(this.eventStart, this.eventEnd) : this.event
    try {
      this.into({ event, data }, batch)
    } catch (e) {
      this.refused = true
      throw e
    }
    return false
  }

  private tooLong(): ApiError {
    return new ApiError(502, `upstream sent an SSE line longer than ${this.maxLineBytes} bytes`, 'upstream_error', 'upstream_line_too_long')
  }
}

/**
 * Where the first line of buf ends, its line break included (a \r\n whole); -1: no line break in it; buf.length + 1:
 * a \r at its very end (a \n may follow in the next chunk).
 */
function firstLineEnd(buf: Uint8Array): number {
  const lf = buf.indexOf(LF)
  const cr = buf.indexOf(CR)
  const nl = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)
  if (nl < 0) return -1
  if (buf[nl] === LF) return nl + 1
  if (nl === buf.length - 1) return buf.length + 1
  return buf[nl + 1] === LF ? nl + 2 : nl + 1
}

/** The pieces as one buffer of `size` bytes. */
function joined(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size)
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

function startsWith(buf: Uint8Array, pos: number, end: number, name: number[]): boolean {
  if (pos + name.length > end) return false
  for (let i = 0; i < name.length; i++) if (buf[pos + i] !== name[i]) return false
  return true
}

/** Whether the line buf[pos, nl) is the field `name`: the name, then a colon or the line's end. */
function isField(buf: Uint8Array, pos: number, nl: number, name: number[]): boolean {
  const end = pos + name.length
  return startsWith(buf, pos, nl, name) && (end === nl || buf[end] === COLON)
}

/** Where the value of a field whose name ends at `end` starts: after the colon and one space, if any. */
function valueStart(buf: Uint8Array, end: number, nl: number): number {
  if (end === nl) return nl
  return buf[end + 1] === SPACE && end + 1 < nl ? end + 2 : end + 1
}
