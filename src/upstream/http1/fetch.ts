// Our HTTP/1.1 client for a plain-http upstream, with fetch's signature (the part upstream/client.ts uses). Bun's
// fetch runs every call on its own HTTP thread and hands the answer across to the serving thread; this one reads the
// socket on the serving thread itself: no hand-over between threads (a third of the system calls a pass-through
// request made), a third less CPU for a small JSON call and about half for a long SSE stream in the client alone.
// It keeps fetch's cap on calls in flight (BUN_CONFIG_MAX_HTTP_REQUESTS, read when it is made). Keep-alive
// connections per origin; no redirects (the client asks for none), no proxy and no TLS: those upstreams keep Bun's
// fetch (client.ts chooses).
import { fetchCapOf } from '../../fetch-cap'
import { type Call, Connection, type ConnectionPool } from './connection'

export interface Http1Options {
  /** a kept connection idle longer than this is closed rather than used (servers close theirs: uvicorn after 5 s) */
  idleMs?: number
  /** kept connections per origin at most */
  maxIdle?: number
  /**
   * calls in flight at most (from being sent until their body is read whole); past it a call waits for a free slot.
   * Bun's fetch cap (fetch-cap.ts) by default, the one operators set to bound what one gateway sends its upstream.
   */
  maxInFlight?: number
}

export type Http1Init = Pick<RequestInit, 'method' | 'headers' | 'body' | 'signal'> & {
  decompress?: boolean
  redirect?: RequestInit['redirect']
}

export interface Http1Fetch {
  (url: string | URL, init?: Http1Init): Promise<Response>
  /** closes the kept connections (those in use close when their exchange ends) */
  close(): void
}

const encoder = new TextEncoder()

class Pool implements ConnectionPool {
  private readonly idle: Connection[] = []
  private closed = false

  constructor(
    readonly hostname: string,
    readonly port: number,
    readonly host: string,
    private readonly idleMs: number,
    private readonly maxIdle: number,
  ) {}

  /** A kept connection that is still fresh (the most recently used: its pages are warm), or a new one. */
  take(): Connection {
    const now = performance.now()
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (!c.closed && now - c.idleSince < this.idleMs) return c
      c.destroy()
    }
    return new Connection(this)
  }

  release(c: Connection): void {
    if (this.closed || this.idle.length >= this.maxIdle) {
      c.destroy()
      return
    }
    c.idleSince = performance.now()
    this.idle.push(c)
  }

  forget(c: Connection): void {
    const i = this.idle.lastIndexOf(c)
    if (i >= 0) this.idle.splice(i, 1)
  }

  resend(call: Call, bytes: Uint8Array): void {
    this.send(call, bytes, new Connection(this))
  }

  /** Sends the request `bytes` for `call` on `c` (a kept connection or a new one by default). */
  send(call: Call, bytes: Uint8Array, c = this.take()): void {
    c.requestBuffer(bytes.length).set(bytes)
    c.outLength = bytes.length
    c.send(call)
  }

  /** Closes the kept connections; those in use close when their exchange ends. */
  close(): void {
    this.closed = true
    for (const c of this.idle.splice(0)) c.destroy()
  }
}

/** A client with fetch's signature for `http:` URLs. */
export function createHttp1Fetch(opts: Http1Options = {}): Http1Fetch {
  const idleMs = opts.idleMs ?? 3_000
  const maxIdle = opts.maxIdle ?? 1024
  const maxInFlight = opts.maxInFlight ?? fetchCapOf(process.env).cap
  const pools = new Map<string, Pool>()
  /** calls sent and not settled (their body not read whole yet), and those waiting for one of them to settle */
  let inFlight = 0
  const waiting: { call: Call; pool: Pool; bytes: Uint8Array }[] = []

  function poolOf(origin: string): Pool {
    let pool = pools.get(origin)
    if (pool === undefined) {
      const u = new URL(origin)
      if (u.protocol !== 'http:' || u.username || u.password)
        throw new TypeError(`the HTTP/1.1 client calls plain http: URLs without credentials, not ${u.protocol}`)
      // URL keeps an IPv6 address in brackets; the socket wants it bare
      pool = new Pool(u.hostname.replace(/^\[|\]$/g, ''), Number(u.port || 80), u.host, idleMs, maxIdle)
      pools.set(origin, pool)
    }
    return pool
  }

  const http1Fetch = (async (input: string | URL, init: Http1Init = {}): Promise<Response> => {
    const url = String(input)
    if (!url.startsWith('http://')) throw new TypeError('the HTTP/1.1 client calls http: URLs only')
    const pathAt = url.slice(7).search(/[/?#]/)
    const origin = pathAt < 0 ? url : url.slice(0, 7 + pathAt)
    let target = pathAt < 0 ? '/' : url.slice(7 + pathAt)
    const hash = target.indexOf('#')
    if (hash >= 0) target = target.slice(0, hash)
    if (target.startsWith('?')) target = `/${target}`
    // the request line must stay one line of visible characters
    if (/[^\x21-\x7e]/.test(target)) throw new TypeError('the URL has characters a request line cannot carry')
    const pool = poolOf(origin)
    const signal = init.signal ?? undefined
    if (signal?.aborted) throw signal.reason
    const method = (init.method ?? 'GET').toUpperCase()
    // Strings and bytes, the gateway's bodies, are taken as they are, with no await before they are copied below
    const given = bytesOf(init.body)
    const body = given !== undefined ? given : new Uint8Array(await new Response(init.body).arrayBuffer())
    const bodySize = typeof body === 'string' ? Buffer.byteLength(body) : (body?.length ?? 0)
    const head = requestHead(method, target, pool.host, init.headers, bodySize, body !== null || (method !== 'GET' && method !== 'HEAD'))
    // a head is latin1 (a Headers value is a byte string): one byte a character either way
    const size = head.length + bodySize
    let resolve!: (res: Response) => void
    let reject!: (e: unknown) => void
    const answer = new Promise<Response>((yes, no) => {
      resolve = yes
      reject = no
    })
    let settled = false
    const call: Call = {
      resolve,
      reject,
      decompress: init.decompress ?? true,
      connection: null,
      resent: false,
      settle: () => {
        if (settled) return
        settled = true
        signal?.removeEventListener('abort', onAbort)
        inFlight--
        const next = waiting.shift()
        if (next !== undefined) {
          inFlight++
          next.pool.send(next.call, next.bytes)
        }
      },
    }
    const onAbort = () => {
      if (call.connection) {
        call.connection.fail(signal?.reason)
        return
      }
      const i = waiting.findIndex((w) => w.call === call)
      if (i >= 0) waiting.splice(i, 1)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    // The request is written before this call returns, into the connection's own buffer (or, past the cap, one of its
    // own): the caller may lend the body's buffer to its next request as soon as it does (upstream/request-body.ts),
    // and a request sent again needs its bytes.
    if (inFlight < maxInFlight) {
      inFlight++
      const conn = pool.take()
      conn.outLength = writeRequest(conn.requestBuffer(size), head, body)
      conn.send(call)
    } else {
      const bytes = new Uint8Array(size)
      writeRequest(bytes, head, body)
      waiting.push({ call, pool, bytes })
    }
    return answer
  }) as Http1Fetch
  http1Fetch.close = () => {
    for (const pool of pools.values()) pool.close()
  }
  return http1Fetch
}

/** The body as a string or bytes, or null when there is none; undefined: another kind (a Blob, a stream, a form). */
function bytesOf(body: RequestInit['body']): string | Uint8Array | null | undefined {
  if (body === null || body === undefined) return null
  if (typeof body === 'string' || body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  return undefined
}

/** Headers that this client writes itself, from the request it sends. */
const OWN = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive'])

function requestHead(
  method: string,
  target: string,
  host: string,
  headers: RequestInit['headers'],
  length: number,
  withLength: boolean,
): string {
  let head = `${method} ${target} HTTP/1.1\r\nhost: ${host}\r\n`
  const h = headers instanceof Headers ? headers : new Headers(headers)
  for (const [name, value] of h) if (!OWN.has(name)) head += `${name}: ${value}\r\n`
  if (withLength) head += `content-length: ${length}\r\n`
  return `${head}\r\n`
}

/** Writes the request (its head, then its body) into `out`; returns its length. */
function writeRequest(out: Uint8Array, head: string, body: string | Uint8Array | null): number {
  let at = /[^\x00-\x7f]/.test(head) ? latin1Into(head, out) : encoder.encodeInto(head, out).written
  if (typeof body === 'string') at += encoder.encodeInto(body, out.subarray(at)).written
  else if (body) {
    out.set(body, at)
    at += body.length
  }
  return at
}

/** Writes a head whose header values hold bytes above 127 (a Headers value is a byte string) as those bytes. */
function latin1Into(s: string, out: Uint8Array): number {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return s.length
}
