// Server-sent events parsing for upstream streams, with a bound on line length so a broken or
// hostile upstream cannot make the gateway buffer without limit.
import { ApiError } from '../errors'

export interface SseMessage {
  event: string | null
  data: string
}

/** Parses an SSE byte stream into messages (event name + joined data lines). */
export async function* parseSse(body: ReadableStream<Uint8Array>, maxLineBytes: number): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder()
  let buf = ''
  let event: string | null = null
  let data: string[] = []
  const reader = body.getReader()
  // Lengths are counted in UTF-16 units of the decoded text: never more than the line's UTF-8 bytes, so
  // the limit holds for ASCII (JSON events) exactly and errs on the generous side for other text.
  const tooLong = () =>
    new ApiError(502, `upstream sent an SSE line longer than ${maxLineBytes} bytes`, 'upstream_error', 'upstream_line_too_long')
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buf += decoder.decode(value, { stream: true })
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
        const line = buf.slice(pos, nl)
        pos = nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1)
        if (line === '') {
          if (data.length) yield { event, data: data.join('\n') }
          event = null
          data = []
        } else if (line.startsWith(':')) {
          // comment / keep-alive
        } else {
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1)
          if (field === 'data') data.push(value)
          else if (field === 'event') event = value
        }
      }
      buf = pos ? buf.slice(pos) : buf
      if (buf.length > maxLineBytes) throw tooLong()
    }
    buf += decoder.decode()
    if (buf.length) {
      const line = buf
      if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
    }
    if (data.length) yield { event, data: data.join('\n') }
  } finally {
    reader.cancel().catch(() => {})
  }
}
