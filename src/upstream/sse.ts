// Server-sent events parsing for upstream streams, read straight from the upstream's body with the stream's bounds
// applied on the way: a line length limit (a broken or hostile upstream cannot make the gateway buffer without limit),
// optionally the stream's total bytes (--max-stream-bytes) and the longest silence between chunks (idle timeout).
// One reader and one loop per stream, and the messages of one chunk handed over together: per event there is no
// stream layer, promise or timer of its own.
import { ApiError } from '../errors'
import { idleTimeout, streamFailure } from './failure'
import { streamTooLarge } from './stream-limit'

export interface SseMessage {
  event: string | null
  data: string
}

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
 * whether `[DONE]` came. Both upstream adapters (responses.ts, chat.ts) read their streams through here.
 */
export async function* translatedBatches<E>(
  body: ReadableStream<Uint8Array>,
  limits: SseLimits,
  into: (msg: SseMessage, batch: E[]) => void,
): AsyncGenerator<E[], boolean> {
  for await (const messages of sseBatches(body, limits)) {
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
  }
  return false
}

/** Parses an SSE byte stream into messages (event name + joined data lines), one at a time. */
export async function* parseSse(body: ReadableStream<Uint8Array>, limits: number | SseLimits): AsyncGenerator<SseMessage> {
  for await (const batch of sseBatches(body, limits)) yield* batch
}

/**
 * Parses an SSE byte stream into messages, handed over per chunk read (a chunk may carry many events). Ending the
 * iteration early (or any error) cancels the body, which closes the upstream connection.
 */
export async function* sseBatches(body: ReadableStream<Uint8Array>, limits: number | SseLimits): AsyncGenerator<SseMessage[]> {
  const {
    maxLineBytes,
    maxStreamBytes = Number.POSITIVE_INFINITY,
    idleMs = 0,
    call = null,
  } = typeof limits === 'number' ? { maxLineBytes: limits } : limits
  const decoder = new TextDecoder()
  let buf = ''
  let event: string | null = null
  /** the message's first data line, and any further ones (null: none) */
  let data: string | null = null
  let more: string[] | null = null
  let seen = 0
  const reader = body.getReader()
  const tooLong = () =>
    new ApiError(502, `upstream sent an SSE line longer than ${maxLineBytes} bytes`, 'upstream_error', 'upstream_line_too_long')
  // The idle timeout: one timer for the whole stream, not one per read (a token-by-token upstream sends a chunk per
  // event, and a timer set and cleared per chunk was a good part of what such an event cost). It fires at most once per
  // idleMs while reads keep coming, finds the read pending since less than idleMs, and is set again for the rest.
  /** performance.now() when the pending read began; -1: no read pending */
  let waitingSince = -1
  let idle = false
  let timer: ReturnType<typeof setTimeout> | undefined
  const onTimer = () => {
    timer = undefined
    if (waitingSince < 0) return // no read pending: the next read sets the timer again
    const left = idleMs - (performance.now() - waitingSince)
    if (left > 0) {
      timer = setTimeout(onTimer, left)
      return
    }
    idle = true
    reader.cancel(idleTimeout(idleMs, call)).catch(() => {})
  }
  /** The next chunk, within idleMs when set (a silent upstream is cancelled and the read ends in a 504). */
  const read = async (): ReturnType<typeof reader.read> => {
    if (idleMs > 0) {
      waitingSince = performance.now()
      timer ??= setTimeout(onTimer, idleMs)
    }
    try {
      const r = await reader.read()
      if (idle) throw idleTimeout(idleMs, call)
      return r
    } catch (e) {
      // the connection reset, a malformed chunk…: told in our words, naming the call
      throw idle ? idleTimeout(idleMs, call) : streamFailure(e, call)
    } finally {
      waitingSince = -1
    }
  }
  try {
    for (;;) {
      const { done, value } = await read()
      if (done) break
      seen += value.byteLength
      if (seen > maxStreamBytes) throw streamTooLarge(maxStreamBytes)
      buf += decoder.decode(value, { stream: true })
      const out: SseMessage[] = []
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
        if (buf[nl] === '\r' && nl === buf.length - 1) break
        if (nl - pos > maxLineBytes) throw tooLong()
        // The line is read in place (no copy of it, nor of its field name): only a value is cut out.
        const next = nl + (buf.charCodeAt(nl) === 13 /* \r */ && buf.charCodeAt(nl + 1) === 10 ? 2 : 1)
        if (nl === pos) {
          if (data !== null) out.push({ event, data: more === null ? data : [data, ...more].join('\n') })
          event = null
          data = null
          more = null
        } else if (isField(buf, pos, nl, 'data')) {
          const value = buf.slice(valueStart(buf, pos + 4, nl), nl)
          if (data === null) data = value
          else (more ??= []).push(value)
        } else if (isField(buf, pos, nl, 'event')) {
          event = buf.slice(valueStart(buf, pos + 5, nl), nl)
        }
        // other fields (id, retry), and comments (keep-alives): nothing to keep
        pos = next
      }
      buf = pos ? buf.slice(pos) : buf
      if (buf.length > maxLineBytes) throw tooLong()
      if (out.length) yield out
    }
    buf += decoder.decode()
    if (buf.length) {
      const line = buf
      if (line.startsWith('data:')) {
        const value = line.slice(5).replace(/^ /, '')
        if (data === null) data = value
        else (more ??= []).push(value)
      }
    }
    if (data !== null) yield [{ event, data: more === null ? data : [data, ...more].join('\n') }]
  } finally {
    clearTimeout(timer)
    reader.cancel().catch(() => {})
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
