// Exact bytes over a TCP socket (node:net): for tests that must control what fetch() and WebSocket clients
// normalise away — the Host header (or none), the request target's form, the HTTP version.
import net from 'node:net'

export interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends `head` (request line and headers, without the blank line) plus `body`, with `Connection: close`,
 * and reads the answer until it is complete or the server closes (bounded by timeoutMs). A 101 answer is
 * returned as soon as its head arrives (the socket would stay open for frames, which these tests do not need).
 */
export function rawRequest(port: number, head: string, opts: { body?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let data = Buffer.alloc(0)
    const timer = setTimeout(
      () => finish(new Error(`no complete answer within ${opts.timeoutMs ?? 5_000} ms to:\n${head}\ngot:\n${data.toString('latin1')}`)),
      opts.timeoutMs ?? 5_000,
    )
    let done = false
    const finish = (err: Error | null) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      if (err) return reject(err)
      try {
        resolve(parse(data))
      } catch (e) {
        reject(e)
      }
    }
    socket.on('connect', () => {
      const close = /^connection:/im.test(head) ? '' : 'Connection: close\r\n'
      socket.write(`${head.replace(/\r?\n/g, '\r\n').replace(/(\r\n)?$/, '\r\n')}${close}\r\n${opts.body ?? ''}`)
    })
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      if (complete(data)) finish(null)
    })
    socket.on('end', () => finish(null))
    socket.on('error', (e) => finish(e))
  })
}

/** A whole answer: a 101's head, or a head with a Content-Length and that many body bytes (else: read to close). */
function complete(data: Buffer): boolean {
  const end = data.indexOf('\r\n\r\n')
  if (end < 0) return false
  const head = data.toString('latin1', 0, end)
  if (/^HTTP\/1\.[01] 101 /.test(head)) return true
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  return length !== null && data.length - end - 4 >= Number(length[1])
}

function parse(data: Buffer): RawResponse {
  // latin1 keeps one char per byte, so chunk sizes (bytes) index the text; the body is decoded as UTF-8 at the end.
  const text = data.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) throw new Error(`no HTTP answer head in: ${JSON.stringify(text.slice(0, 200))}`)
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  if (!m) throw new Error(`not an HTTP status line: ${statusLine}`)
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  let body = text.slice(end + 4)
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = unchunk(body)
  return { status: Number(m[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') }
}

function unchunk(s: string): string {
  let out = ''
  let i = 0
  for (;;) {
    const nl = s.indexOf('\r\n', i)
    if (nl < 0) return out
    const size = parseInt(s.slice(i, nl), 16)
    if (!size) return out
    out += s.slice(nl + 2, nl + 2 + size)
    i = nl + 2 + size + 2
  }
}

/** The request head of a WebSocket upgrade of `path` (RFC 6455 §4.1), with any extra header lines. */
export function upgradeHead(path: string, lines: string[]): string {
  return [
    `GET ${path} HTTP/1.1`,
    ...lines,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  ].join('\r\n')
}
