// Server-sent events parsing for upstream streams, read straight from the upstream's body with the stream's bounds
// applied on the way: a line length limit (a broken or hostile upstream cannot make the gateway buffer without limit),
// optionally the stream's total bytes (--max-stream-bytes) and the longest silence between chunks (idle timeout).
// One reader and one loop per stream, and the messages of one chunk handed over together: per event there is no
// stream layer, promise or timer of its own. A token-by-token upstream sends one event per chunk, so per chunk there is
// one generator too (translatedBatches reads, parses and translates in one loop) and the read's promise is awaited as
// the reader gives it (a generator or async function per stage cost every token a hop of its own).
import { ApiError } from '../errors'
import { idleTimeout, streamFailure } from './failure'
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
  /** longest line (UTF-16 units of the decoded text; never more than its UTF-8 bytes) */
  maxLineBytes: number
  /** the whole stream's bytes; past it: 502 upstream_stream_too_large */
  maxStreamBytes?: number
  /** longest wait for the next chunk (ms); past it: 504 */
  idleMs?: number
  /** the upstream call, as errors name it (failure.ts describeCall) */
  call?: string | null
}

/**
 * An upstream's event stream as batches of what its messages translate to: `into` adds a message's events to the
 * batch of its chunk (one batch per network chunk, never empty), until the `[DONE]` message. A message `into` throws
 * for (not JSON, not an event) ends the stream after the batch so far: what streamed before it still counts. Returns
 * whether `[DONE]` came. Both upstream adapters (responses.ts, chat.ts) read their streams through here. Ending the
 * iteration early (or any error) cancels the body, which closes the upstream connection.
 */
export async function* translatedBatches<E>(
  body: ReadableStream<Uint8Array>,
  limits: SseLimits,
  into: (msg: SseMessage, batch: E[]) => void,
): AsyncGenerator<E[], boolean> {
  const src = new SseSource(body, limits)
  try {
    for (;;) {
      let r: ReadResult
      try {
        r = await src.read()
      } catch (e) {
        throw src.failure(e)
      }
      const messages = src.messages(r)
      const batch: E[] = []
      for (const msg of messages) {
        if (msg.data === '[DONE]') {
          if (batch.length) yield batch
          return true
        }
        try {
          into(msg, batch)
        } catch (e) {
          if (batch.length) yield batch
          throw e
        }
      }
      if (batch.length) yield batch
      if (r.done) return false
    }
  } finally {
    src.close()
  }
}

/**
 * One upstream SSE body: its reader, the bounds of the stream (bytes, idle time) and the framing of its lines into
 * messages across chunk boundaries. The loop reading it (above) awaits `read()` and hands what it got to `messages`.
 */
class SseSource {
  private readonly reader: Reader
  private readonly maxLineBytes: number
  private readonly maxStreamBytes: number
  private readonly idleMs: number
  private readonly call: string | null
  private readonly decoder = new TextDecoder()
  private buf = ''
  private event: string | null = null
  /** the message's first data line, and any further ones (null: none) */
  private data: string | null = null
  private more: string[] | null = null
  private seen = 0
  // The idle timeout: one timer for the whole stream, not one per read (a token-by-token upstream sends a chunk per
  // event, and a timer set and cleared per chunk was a good part of what such an event cost). It fires at most once per
  // idleMs while reads keep coming, finds the read pending since less than idleMs, and is set again for the rest.
  /** performance.now() when the pending read began; -1: no read pending */
  private waitingSince = -1
  private idle = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(body: ReadableStream<Uint8Array>, limits: SseLimits) {
    this.reader = readerOf(body)
    this.maxLineBytes = limits.maxLineBytes
    this.maxStreamBytes = limits.maxStreamBytes ?? Number.POSITIVE_INFINITY
    this.idleMs = limits.idleMs ?? 0
    this.call = limits.call ?? null
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

  /** The messages a read completed (at the end of the stream: the last one, unterminated, if any). */
  messages(r: ReadResult): SseMessage[] {
    this.waitingSince = -1
    if (this.idle) throw idleTimeout(this.idleMs, this.call)
    const out: SseMessage[] = []
    if (r.done) {
      this.buf += this.decoder.decode()
      if (this.buf.startsWith('data:')) {
        const value = this.buf.slice(5).replace(/^ /, '')
        if (this.data === null) this.data = value
        else (this.more ??= []).push(value)
      }
      this.buf = ''
      if (this.data !== null) out.push(this.message())
      return out
    }
    this.seen += r.value.byteLength
    if (this.seen > this.maxStreamBytes) throw streamTooLarge(this.maxStreamBytes)
    const buf = (this.buf += this.decoder.decode(r.value, { stream: true }))
    const max = this.maxLineBytes
    // Walk the buffer with an index and cut it once per chunk: slicing per line would copy a large
    // buffer of many lines over and over.
    let pos = 0
    // The next \r at or after pos (-1: none left in this buffer). Looked up again only once pos passes it: searching
    // from every line for a \r that an LF-only stream never sends would scan the rest of the buffer each time.
    let cr = buf.indexOf('\r')
    for (;;) {
      const lf = buf.indexOf('\n', pos)
      if (cr >= 0 && cr < pos) cr = buf.indexOf('\r', pos)
      const nl = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr)
      if (nl < 0) break
      // a lone \r at the end of the buffer may be the first half of \r\n: wait for more
      if (buf.charCodeAt(nl) === 13 /* \r */ && nl === buf.length - 1) break
      if (nl - pos > max) throw this.tooLong()
      // The line is read in place (no copy of it, nor of its field name): only a value is cut out.
      const next = nl + (buf.charCodeAt(nl) === 13 && buf.charCodeAt(nl + 1) === 10 ? 2 : 1)
      if (nl === pos) {
        if (this.data !== null) out.push(this.message())
        this.event = null
      } else if (isField(buf, pos, nl, 'data')) {
        const value = buf.slice(valueStart(buf, pos + 4, nl), nl)
        if (this.data === null) this.data = value
        else (this.more ??= []).push(value)
      } else if (isField(buf, pos, nl, 'event')) {
        this.event = buf.slice(valueStart(buf, pos + 5, nl), nl)
      }
      // other fields (id, retry), and comments (keep-alives): nothing to keep
      pos = next
    }
    this.buf = pos ? buf.slice(pos) : buf
    if (this.buf.length > max) throw this.tooLong()
    return out
  }

  /** Ends the reading: the timer stopped, the body cancelled (closing the upstream connection when it is not done). */
  close(): void {
    clearTimeout(this.timer)
    this.reader.cancel().catch(() => {})
  }

  /** The message whose lines were read, which a blank line (or the stream's end) completes. */
  private message(): SseMessage {
    const m = { event: this.event, data: this.more === null ? this.data! : [this.data!, ...this.more].join('\n') }
    this.data = null
    this.more = null
    return m
  }

  private tooLong(): ApiError {
    return new ApiError(502, `upstream sent an SSE line longer than ${this.maxLineBytes} bytes`, 'upstream_error', 'upstream_line_too_long')
  }
}

const COLON = 58

/** Whether the line buf[pos, nl) is the field `name`: the name, then a colon or the line's end. */
function isField(buf: string, pos: number, nl: number, name: string): boolean {
  const end = pos + name.length
  return end <= nl && buf.startsWith(name, pos) && (end === nl || buf.charCodeAt(end) === COLON)
}

/** Where the value of a field whose name ends at `end` starts: after the colon and one space, if any. */
function valueStart(buf: string, end: number, nl: number): number {
  if (end === nl) return nl
  return buf.charCodeAt(end + 1) === 32 && end + 1 < nl ? end + 2 : end + 1
}
