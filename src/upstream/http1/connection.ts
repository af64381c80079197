// One keep-alive TCP connection to the upstream and the exchange it carries: it writes a request's bytes, reads the
// answer's head and body on the serving thread as the socket delivers them, and goes back to its pool once the body
// has been read whole. A body that is in hand with its head (a JSON answer, mostly) becomes the Response's bytes; any
// other is a stream that pauses the socket while its reader is behind.
import type { Socket, SocketHandler } from 'bun'
import { ChunkedDecoder } from './chunked'
import { protocolError } from './protocol-error'
import { headEnd, MAX_HEAD_BYTES, parseHead, type ResponseHead } from './response-head'

/** One call of the client: how it is answered, and whether it has been sent again already. */
export interface Call {
  resolve(res: Response): void
  reject(e: unknown): void
  /** decode a gzip/deflate/br/zstd body (fetch's `decompress`) */
  decompress: boolean
  /** the connection the call is on (it moves once when resent) */
  connection: Connection | null
  /** sent again on a fresh connection already (it is sent again at most once) */
  resent: boolean
  /** the call is over: its body was read whole, failed or was given up (the abort listener is gone) */
  settle(): void
}

/** What a connection needs of its pool. */
export interface ConnectionPool {
  readonly hostname: string
  readonly port: number
  /** the connection has carried an exchange whole and may carry another */
  release(c: Connection): void
  /** the connection is closed: forget it */
  forget(c: Connection): void
  /** `call`'s request (`bytes`) went out on a kept connection that closed before any answer: send it on a new one */
  resend(call: Call, bytes: Uint8Array): void
}

/** Chunks of a body queued for a reader that is behind before the socket is paused. */
const QUEUED_CHUNKS = 8
/** A connection's first request buffer: a turn's request is a few hundred bytes to a few KiB (a chain's grows it). */
const FIRST_REQUEST_BUFFER = 4 * 1024
/** A request buffer grown past this is not kept for the connection's next request. */
const KEEP_REQUEST_BUFFER = 1024 * 1024

type Format = ConstructorParameters<typeof DecompressionStream>[0]
const CODINGS: Record<string, Format> = {
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'brotli' as Format,
  zstd: 'zstd' as Format,
}

export class Connection {
  socket: Socket<Connection> | null = null
  /** the request's bytes: `out[0, outLength)`, written up to `written` */
  out: Uint8Array
  outLength = 0
  private written = 0
  private call: Call | null = null
  /** exchanges carried whole: a kept connection (> 0) may have been closed by the server while it sat idle */
  served = 0
  /** when it went back to the pool */
  idleSince = 0
  closed = false
  /** a byte of the current answer has arrived */
  private answered = false
  private head: ResponseHead | null = null
  /** a head's bytes so far, when a read ended inside it */
  private partial: Uint8Array | null = null
  private left = 0
  private chunks: ChunkedDecoder | null = null
  private body: ReadableStreamDefaultController<Uint8Array> | null = null
  private paused = false

  constructor(private readonly pool: ConnectionPool) {
    this.out = new Uint8Array(FIRST_REQUEST_BUFFER)
  }

  /** A buffer of at least `size` bytes for the next request. */
  requestBuffer(size: number): Uint8Array {
    if (this.out.length < size) this.out = new Uint8Array(Math.max(size, this.out.length * 2))
    return this.out
  }

  /** Sends `out[0, outLength)` for `call`, connecting first when the connection is new. */
  send(call: Call): void {
    this.call = call
    call.connection = this
    this.written = 0
    this.answered = false
    if (this.socket) {
      this.socket.ref()
      this.flush()
      return
    }
    Bun.connect<Connection>({ hostname: this.pool.hostname, port: this.pool.port, data: this, socket: HANDLERS }).then(
      (socket) => {
        this.socket = socket
        if (this.closed) return void socket.terminate()
        socket.setNoDelay(true)
        this.flush()
      },
      (e) => this.fail(e),
    )
  }

  /** Writes what is left of the request; the rest waits for `drain`. */
  flush(): void {
    if (this.socket === null || this.written === this.outLength) return
    const n = this.socket.write(this.out, this.written, this.outLength - this.written)
    if (n > 0) this.written += n
  }

  onData(data: Uint8Array): void {
    if (this.call === null) {
      // bytes nobody asked for (a server that answered more than once): the connection cannot be trusted
      this.destroy()
      return
    }
    this.answered = true
    try {
      if (this.head === null) this.readHead(data)
      else this.readBody(data, 0)
    } catch (e) {
      this.fail(e)
    }
  }

  private readHead(data: Uint8Array): void {
    let b = data
    let from = 0
    if (this.partial) {
      b = Buffer.concat([this.partial, data])
      from = this.partial.length
      this.partial = null
    }
    let start = 0
    for (;;) {
      const end = headEnd(b, start, from)
      if ((end < 0 ? b.length : end) - start > MAX_HEAD_BYTES)
        throw protocolError('InvalidHTTPResponse', "the answer's header section is too large")
      if (end < 0) {
        this.partial = b.subarray(start)
        return
      }
      const head = parseHead(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1'))
      start = from = end
      if (head.status >= 200) {
        this.begin(head, b, start)
        return
      }
      // 1xx: an interim answer (100 Continue, 103 Early Hints); the final one follows. 101 would switch protocols.
      if (head.status === 101) throw protocolError('InvalidHTTPResponse', 'the upstream switched protocols')
    }
  }

  /** The answer's head has come, with `b[start…)` after it. */
  private begin(head: ResponseHead, b: Uint8Array, start: number): void {
    const call = this.call as Call
    this.head = head
    const init = { status: head.status, statusText: head.statusText, headers: head.headers }
    if (head.body === 'none') {
      call.resolve(new Response(null, init))
      this.finish(b, start)
      return
    }
    if (head.body === 'length' && b.length - start >= head.length) {
      call.resolve(new Response(this.decoded(this.whole(b.subarray(start, start + head.length))), init))
      this.finish(b, start + head.length)
      return
    }
    if (head.body === 'chunked') {
      this.chunks = new ChunkedDecoder()
      const { n, used } = this.chunks.decode(b, start, b.length)
      if (this.chunks.done) {
        call.resolve(new Response(this.decoded(this.whole(b.subarray(start, start + n))), init))
        this.finish(b, used)
        return
      }
      // the body is a stream, and a malformed one breaks off after its good bytes, as with fetch
      call.resolve(new Response(this.decoded(this.openBody()), init))
      if (n > 0) this.push(b.subarray(start, start + n))
      if (this.chunks.failure) this.fail(this.chunks.failure)
      return
    }
    this.left = head.length
    call.resolve(new Response(this.decoded(this.openBody()), init))
    if (start < b.length) this.readBody(b, start)
  }

  /** Body bytes after the head, while the body is a stream. */
  private readBody(b: Uint8Array, start: number): void {
    const head = this.head as ResponseHead
    if (head.body === 'chunked') {
      const chunks = this.chunks as ChunkedDecoder
      const { n, used } = chunks.decode(b, start, b.length)
      if (n > 0) this.push(b.subarray(start, start + n))
      if (chunks.failure) this.fail(chunks.failure)
      else if (chunks.done) this.endBody(b, used)
    } else if (head.body === 'length') {
      const n = Math.min(this.left, b.length - start)
      this.left -= n
      if (n > 0) this.push(b.subarray(start, start + n))
      if (this.left === 0) this.endBody(b, start + n)
    } else this.push(start === 0 ? b : b.subarray(start))
  }

  private openBody(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (ctl) => {
          this.body = ctl
        },
        pull: () => {
          if (this.paused) {
            this.paused = false
            this.socket?.resume()
          }
        },
        // the reader gave up: the rest of the body would have to be read and thrown away; closing is simpler
        cancel: () => {
          if (this.body === null) return
          this.body = null
          this.call?.settle()
          this.call = null
          this.destroy()
        },
      },
      { highWaterMark: QUEUED_CHUNKS },
    )
  }

  private push(piece: Uint8Array): void {
    const body = this.body
    if (body === null) return
    body.enqueue(piece)
    if ((body.desiredSize ?? 1) <= 0 && !this.paused) {
      this.paused = true
      this.socket?.pause()
    }
  }

  private endBody(b: Uint8Array, used: number): void {
    const body = this.body
    this.body = null
    body?.close()
    this.finish(b, used)
  }

  /** The answer has been read whole (its body ended at `b[used]`): the connection is free again. */
  private finish(b: Uint8Array, used: number): void {
    const call = this.call
    // kept only when nothing is left over either way: no bytes past the answer, no request bytes still unsent (a
    // server may answer before it has read the whole request, e.g. 413)
    const keep = (this.head as ResponseHead).keepAlive && used === b.length && this.written === this.outLength
    this.call = null
    this.head = null
    this.chunks = null
    this.served++
    if (this.paused) {
      this.paused = false
      this.socket?.resume()
    }
    call?.settle()
    if (!keep) {
      this.destroy()
      return
    }
    if (this.out.length > KEEP_REQUEST_BUFFER) this.out = new Uint8Array(FIRST_REQUEST_BUFFER)
    this.socket?.unref()
    this.pool.release(this)
  }

  /**
   * A body in hand whole, as the Response's body: its bytes (Bun reads them natively for text() and sends them natively
   * when they are proxied), but an event stream as a stream of that one piece, since its reader (sse.ts) takes it as a
   * stream: Bun copies bytes given to a Response, and a stream over them cost 115 µs for a 1,000-event answer, not 4.
   */
  private whole(bytes: Uint8Array): Uint8Array | ReadableStream<Uint8Array> {
    const type = (this.head as ResponseHead).type
    if (!type.startsWith('text/event-stream')) return bytes
    return new ReadableStream<Uint8Array>({
      start(ctl) {
        ctl.enqueue(bytes)
        ctl.close()
      },
    })
  }

  /** The body's bytes, decoded when they are compressed and the call asked for that (fetch's `decompress`). */
  private decoded(body: Uint8Array | ReadableStream<Uint8Array>): Uint8Array | ReadableStream<Uint8Array> {
    const format = (this.call as Call).decompress ? CODINGS[(this.head as ResponseHead).encoding] : undefined
    // an empty body labelled compressed is empty, as fetch takes it
    if (format === undefined || (body instanceof Uint8Array && body.length === 0)) return body
    const stream: ReadableStream<Uint8Array> = body instanceof ReadableStream ? body : new Blob([body]).stream()
    const reader = stream
      .pipeThrough<Uint8Array>(new DecompressionStream(format) as ReadableWritablePair<Uint8Array, Uint8Array>)
      .getReader()
    // a body that does not decompress fails with a code, as fetch's does (failure.ts words it)
    return new ReadableStream<Uint8Array>({
      async pull(ctl) {
        try {
          const r = await reader.read()
          if (r.done) ctl.close()
          else ctl.enqueue(r.value as Uint8Array)
        } catch (e) {
          ctl.error(protocolError('ZlibError', `the body did not decompress (${(e as Error)?.message ?? e})`))
        }
      },
      cancel: (reason) => reader.cancel(reason),
    })
  }

  /** The socket closed (`error`: why, when it says). */
  onClose(error?: Error): void {
    if (this.closed) return
    this.closed = true
    this.pool.forget(this)
    const call = this.call
    if (call === null) return
    if (this.head?.body === 'close' && this.body !== null && error === undefined) {
      // a body without a length ends when the server closes
      this.call = null
      const body = this.body
      this.body = null
      body.close()
      call.settle()
      return
    }
    if (this.head === null && !this.answered && this.served > 0 && !call.resent) {
      // The server closed a kept connection while the request was on its way (its idle timeout, a restart): the
      // request was not answered, so it goes once more on a new connection, as browsers do (Bun's fetch resends no POST:
      // the conformance suite's QUIRKS).
      this.call = null
      call.resent = true
      this.pool.resend(call, this.out.subarray(0, this.outLength))
      return
    }
    const code = (error as { code?: unknown } | undefined)?.code
    this.fail(
      typeof code === 'string'
        ? error
        : protocolError(
            'ECONNRESET',
            this.head === null ? 'the upstream closed the connection before answering' : 'the upstream closed the connection mid-body',
          ),
    )
  }

  /** The call fails with `e` (before its answer: its promise; after: its body), and the connection is closed. */
  fail(e: unknown): void {
    this.failCall(e)
    this.destroy()
  }

  private failCall(e: unknown): void {
    const call = this.call
    this.call = null
    if (call === null) return
    const body = this.body
    this.body = null
    // before the answer its promise fails; after, its body (a promise settled already ignores the reject)
    if (body !== null) body.error(e)
    else call.reject(e)
    call.settle()
  }

  destroy(): void {
    if (!this.closed) {
      this.closed = true
      this.pool.forget(this)
    }
    this.socket?.terminate()
  }
}

const HANDLERS: SocketHandler<Connection> = {
  data: (socket, data) => socket.data.onData(data),
  drain: (socket) => socket.data.flush(),
  close: (socket, error) => socket.data.onClose(error),
  error: (socket, error) => socket.data.onClose(error),
  // the server ended its side: a body without a length is complete; nothing else may follow on this connection
  end: (socket) => {
    socket.data.onClose()
    socket.terminate()
  },
}
