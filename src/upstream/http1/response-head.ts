// An HTTP/1.1 response's head (RFC 9112 §4–6): its end in the received bytes, its status line and header fields, and
// how its body is framed. Pure; the connection (connection.ts) feeds it bytes.
import { protocolError } from './protocol-error'

/** The most header bytes we wait for before calling the answer malformed (a head is a few hundred bytes). */
export const MAX_HEAD_BYTES = 128 * 1024

export interface ResponseHead {
  status: number
  statusText: string
  /** the header fields in the order received, names as sent */
  headers: [string, string][]
  /**
   * how the body ends: `none` (1xx, 204, 304), `length` (Content-Length bytes), `chunked`, or `close` (the
   * server closes the connection: no length given)
   */
  body: 'none' | 'length' | 'chunked' | 'close'
  /** the Content-Length, for `length` */
  length: number
  /** whether the connection may carry another exchange after this one (HTTP/1.1 without `Connection: close`) */
  keepAlive: boolean
  /** the Content-Encoding, lowercased, or '' */
  encoding: string
  /** the Content-Type, lowercased, or '' */
  type: string
}

/**
 * Where the head that starts at `start` ends in `b`: the index just past its blank line, or -1 while it has not come
 * whole. `from` (≥ start) is where to look from: bytes already looked at need not be again (a blank line may begin up
 * to 3 bytes before it). A bare LF ends a line too (RFC 9112 §2.2 allows a recipient to take it).
 */
export function headEnd(b: Uint8Array, start: number, from = start): number {
  for (let i = b.indexOf(10, Math.max(start, from - 3)); i >= 0; i = b.indexOf(10, i + 1)) {
    const next = i + 1
    if (next < b.length && b[next] === 10) return next + 1
    if (next + 1 < b.length && b[next] === 13 && b[next + 1] === 10) return next + 2
  }
  return -1
}

/** A header field name: an RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/

/** The head `text` (latin1, up to and including its blank line) read as a response to a GET or POST. */
export function parseHead(text: string): ResponseHead {
  const lines = text.split(/\r?\n/)
  const status = STATUS_LINE.exec(lines[0] ?? '')
  if (!status) throw protocolError('InvalidHTTPResponse', 'the answer does not begin with an HTTP/1.x status line')
  const code = Number(status[2])
  if (code < 100) throw protocolError('InvalidHTTPResponse', `status ${code} is not an HTTP status`)
  const headers: [string, string][] = []
  let length = -1
  let chunked = false
  let otherCoding = false
  let close = status[1] === '0'
  let encoding = ''
  let type = ''
  // the lines after the status line, up to the blank line (the last two elements: '' and '' after the split)
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string
    if (line === '') continue
    const colon = line.indexOf(':')
    const name = colon > 0 ? line.slice(0, colon) : ''
    // a line folded onto the one before (obs-fold) or without a name is refused, as RFC 9112 §5.2 lets a client do
    if (!TOKEN.test(name)) throw protocolError('InvalidHTTPResponse', 'a header line of the answer is malformed')
    const value = line.slice(colon + 1).trim()
    headers.push([name, value])
    switch (name.toLowerCase()) {
      case 'content-length': {
        // repeated (or listed) values must agree (RFC 9110 §8.6)
        for (const v of value.split(',')) {
          const n = /^\s*\d{1,15}\s*$/.test(v) ? Number(v) : -2
          if (n < 0 || (length >= 0 && n !== length)) throw protocolError('InvalidHTTPResponse', 'the answer has an invalid Content-Length')
          length = n
        }
        break
      }
      case 'transfer-encoding': {
        // the last coding says how the body ends: chunked, or anything else: at close (RFC 9112 §6.3)
        const codings = value
          .toLowerCase()
          .split(',')
          .map((c) => c.trim())
          .filter(Boolean)
        const last = codings[codings.length - 1]
        chunked = last === 'chunked'
        otherCoding = !chunked && last !== undefined
        break
      }
      case 'connection':
        if (/(?:^|,)\s*close\s*(?:,|$)/i.test(value)) close = true
        break
      case 'content-encoding':
        encoding = value.toLowerCase()
        break
      case 'content-type':
        type = value.toLowerCase()
        break
    }
  }
  const base = { status: code, statusText: status[3] ?? '', headers, encoding, type }
  if (code < 200 || code === 204 || code === 304) return { ...base, body: 'none', length: 0, keepAlive: !close }
  // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3, 3.); a body ended by close cannot share the connection
  if (chunked) return { ...base, body: 'chunked', length: 0, keepAlive: !close }
  if (otherCoding || length < 0) return { ...base, body: 'close', length: 0, keepAlive: false }
  return { ...base, body: 'length', length, keepAlive: !close }
}
