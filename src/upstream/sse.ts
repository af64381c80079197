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
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      buf += decoder.decode(value, { stream: true })
      let nl: number
      while ((nl = buf.search(/\r\n|\n|\r/)) >= 0) {
        // a lone \r at the end of the buffer may be the first half of \r\n: wait for more
        if (buf[nl] === '\r' && nl === buf.length - 1) break
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1))
        if (line === '') {
          if (data.length) yield { event, data: data.join('\n') }
          event = null
          data = []
        } else if (line.startsWith(':')) {
          // comment / keep-alive
        } else {
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'data') data.push(value)
          else if (field === 'event') event = value
        }
      }
      if (buf.length > maxLineBytes) throw new ApiError(502, `upstream sent an SSE line longer than ${maxLineBytes} bytes`, 'upstream_error', 'upstream_line_too_long')
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
