// The pure parts of the HTTP/1.1 client: a response head's end and reading, and the chunked coding decoded in place,
// fed in every split a socket could deliver.
import { describe, expect, test } from 'bun:test'
import { ChunkedDecoder } from '../../src/upstream/http1/chunked'
import { headEnd, parseHead } from '../../src/upstream/http1/response-head'

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe('headEnd', () => {
  test('finds the blank line after CRLF or bare LF lines, or says it has not come', () => {
    const h = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi'
    expect(headEnd(bytes(h), 0)).toBe(h.length - 2)
    expect(headEnd(bytes('HTTP/1.1 200 OK\nx: y\n\nhi'), 0)).toBe(22)
    expect(headEnd(bytes('HTTP/1.1 200 OK\r\nx: y\r\n\r'), 0)).toBe(-1)
    expect(headEnd(bytes('HTTP/1.1 200 OK\r\nx: y\r\n'), 0)).toBe(-1)
  })

  test('a blank line split across reads is found looking from where the last read ended', () => {
    const h = bytes('HTTP/1.1 204 No Content\r\nx: y\r\n\r\n')
    for (let cut = 1; cut < h.length; cut++) {
      // the head's first `cut` bytes were looked at already
      expect(headEnd(h, 0, cut)).toBe(h.length)
    }
  })

  test('starts at the given offset (a head after an interim 100 Continue)', () => {
    const b = bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n')
    const first = headEnd(b, 0)
    expect(first).toBe(25)
    expect(headEnd(b, first)).toBe(b.length)
  })
})

describe('parseHead', () => {
  const head = (lines: string[]) => parseHead(`${lines.join('\r\n')}\r\n\r\n`)

  test('status, reason, headers in order with their names as sent', () => {
    const h = head(['HTTP/1.1 404 Not Found', 'Content-Type: application/json', 'Set-Cookie: a=1', 'set-cookie: b=2', 'Content-Length: 7'])
    expect(h.status).toBe(404)
    expect(h.statusText).toBe('Not Found')
    expect(h.headers).toEqual([
      ['Content-Type', 'application/json'],
      ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['Content-Length', '7'],
    ])
    expect(h.body).toBe('length')
    expect(h.length).toBe(7)
    expect(h.keepAlive).toBe(true)
  })

  test.each([
    [['HTTP/1.1 200 OK', 'transfer-encoding: chunked'], 'chunked', true],
    // Transfer-Encoding wins over a Content-Length (RFC 9112 §6.3)
    [['HTTP/1.1 200 OK', 'content-length: 5', 'Transfer-Encoding: gzip, chunked'], 'chunked', true],
    // a last coding other than chunked: the body ends at close
    [['HTTP/1.1 200 OK', 'transfer-encoding: gzip'], 'close', false],
    [['HTTP/1.1 200 OK'], 'close', false],
    [['HTTP/1.1 200 OK', 'content-length: 0'], 'length', true],
    [['HTTP/1.1 204 No Content'], 'none', true],
    [['HTTP/1.1 304 Not Modified', 'content-length: 40'], 'none', true],
    [['HTTP/1.1 100 Continue'], 'none', true],
    [['HTTP/1.1 200 OK', 'content-length: 3', 'connection: keep-alive, Close'], 'length', false],
    // HTTP/1.0: no persistent connection assumed
    [['HTTP/1.0 200 OK', 'content-length: 3'], 'length', false],
  ] as const)('%j: body and whether the connection is kept', (lines, body, keepAlive) => {
    const h = head([...lines])
    expect(h.body).toBe(body)
    expect(h.keepAlive).toBe(keepAlive)
  })

  test('repeated Content-Length values that agree are one; a reason phrase may be absent; values are trimmed', () => {
    const h = head(['HTTP/1.1 200', 'content-length: 3, 3', 'content-length: 3', 'X-Thing:   spaced out  ', 'content-encoding: GZIP'])
    expect(h.length).toBe(3)
    expect(h.statusText).toBe('')
    expect(h.headers[2]).toEqual(['X-Thing', 'spaced out'])
    expect(h.encoding).toBe('gzip')
  })

  test.each([
    ['not HTTP', ['SSH-2.0-OpenSSH_9.2']],
    ['HTTP/2 status line', ['HTTP/2 200']],
    ['status out of range', ['HTTP/1.1 099 Low']],
    ['a line without a colon', ['HTTP/1.1 200 OK', 'just words']],
    ['a folded line', ['HTTP/1.1 200 OK', 'x: a', ' continued']],
    ['a space before the colon', ['HTTP/1.1 200 OK', 'x : a']],
    ['Content-Lengths that disagree', ['HTTP/1.1 200 OK', 'content-length: 3', 'content-length: 4']],
    ['a negative Content-Length', ['HTTP/1.1 200 OK', 'content-length: -1']],
    ['a Content-Length that is not a number', ['HTTP/1.1 200 OK', 'content-length: 12abc']],
  ])('%s → InvalidHTTPResponse', (_name, lines) => {
    let error: unknown
    try {
      head(lines)
    } catch (e) {
      error = e
    }
    expect((error as { code?: string }).code).toBe('InvalidHTTPResponse')
  })
})

/** Decodes `encoded` fed in the given pieces, the way a connection does: each piece's data read from its front. */
function decodeInPieces(encoded: string, cuts: number[]) {
  const all = bytes(encoded)
  const d = new ChunkedDecoder()
  let body = ''
  let rest = ''
  const bounds = [0, ...cuts, all.length]
  for (let i = 0; i + 1 < bounds.length; i++) {
    // a fresh buffer per read, as the socket gives
    const piece = all.slice(bounds[i], bounds[i + 1])
    const { n, used } = d.decode(piece, 0, piece.length)
    body += text(piece.subarray(0, n))
    if (d.done || d.failure) {
      rest = text(piece.subarray(used)) + text(all.subarray(bounds[i + 1]))
      break
    }
  }
  return { body, done: d.done, failure: d.failure, rest }
}

describe('ChunkedDecoder', () => {
  const encoded = '5\r\nhello\r\n1;ext=1\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nx-trailer: t\r\n\r\nNEXT'

  test('in one piece: the data of every chunk at the front, where the body ended, the bytes after it left alone', () => {
    const r = decodeInPieces(encoded, [])
    expect(r).toEqual({ body: 'hello 0123456789abcdef', done: true, failure: null, rest: 'NEXT' })
  })

  test('split at every byte, and at every pair of places', () => {
    for (let a = 1; a < encoded.length; a++) {
      expect(decodeInPieces(encoded, [a])).toMatchObject({ body: 'hello 0123456789abcdef', done: true, rest: 'NEXT' })
      for (let b = a + 1; b < encoded.length; b += 3)
        expect(decodeInPieces(encoded, [a, b])).toMatchObject({ body: 'hello 0123456789abcdef', done: true, rest: 'NEXT' })
    }
  })

  test('one byte a read', () => {
    const cuts = Array.from({ length: encoded.length - 1 }, (_, i) => i + 1)
    expect(decodeInPieces(encoded, cuts)).toMatchObject({ body: 'hello 0123456789abcdef', done: true, rest: 'NEXT' })
  })

  test('bare LF line ends are taken', () => {
    expect(decodeInPieces('3\nabc\n0\n\n', [])).toMatchObject({ body: 'abc', done: true })
  })

  test('a body not finished yet is not done', () => {
    expect(decodeInPieces('5\r\nhel', [])).toMatchObject({ body: 'hel', done: false, failure: null })
  })

  test.each([
    ['a size that is not hex', '3\r\nabc\r\nzz\r\nnot a chunk\r\n', 'abc'],
    ['a chunk longer than its size', '3\r\nabcdef\r\n0\r\n\r\n', 'abc'],
    ['an empty size line', '\r\n', ''],
    ['a size too large', 'fffffffffffffff\r\n', ''],
    ['a size line that never ends', `1${';x'.repeat(3000)}`, ''],
  ])('%s: fails after the good data', (_name, body, good) => {
    const r = decodeInPieces(body, [])
    expect(r.body).toBe(good)
    expect((r.failure as { code?: string } | null)?.code).toBe('InvalidHTTPResponse')
    expect(r.done).toBe(false)
  })
})
