// A raw TCP server (Bun.listen) whose every connection a test scripts: the exact bytes of the answer, where they are
// split, when the server closes. For HTTP client conformance tests that need what no real HTTP server sends —
// framing cut at any byte, malformed heads, a close at a chosen moment, a writer stalled by a client that does not read.

export interface ReceivedRequest {
  method: string
  target: string
  /** header lines as sent, names lower-cased, in order (repeats kept) */
  headers: [name: string, value: string][]
  body: Uint8Array
}

export interface ScriptedConnection {
  /** 0 for the first connection the server accepted, 1 for the next… */
  readonly index: number
  /** The next whole request on this connection (Content-Length or chunked body); rejects if the connection closes first. */
  request(): Promise<ReceivedRequest>
  /** Writes all of `data`, waiting for the socket to drain while the client does not read; rejects once the connection closed. */
  write(data: string | Uint8Array): Promise<void>
  /** bytes handed to the kernel so far */
  readonly written: number
  /** bytes received from the client so far */
  readonly receivedBytes: number
  /** a write is waiting for the client to read (the kernel's buffers are full) */
  readonly stalled: boolean
  /** Sends FIN after what was written. */
  end(): void
  /** Closes at once (RST: SO_LINGER 0). */
  reset(): void
  /** settles when the connection is closed, by either side */
  readonly closed: Promise<void>
  readonly isClosed: boolean
}

export interface ScriptedServer {
  readonly port: number
  readonly url: string
  /** every connection accepted so far, in order */
  readonly connections: ScriptedConnection[]
  /** a script's failures (a write to a closed socket is not one unless the script let it throw) */
  readonly errors: unknown[]
  stop(): void
}

/** Starts a server on 127.0.0.1:0; `script` runs once for each connection it accepts. */
export function startScriptedServer(script: (c: ScriptedConnection) => unknown): ScriptedServer {
  const errors: unknown[] = []
  const connections: ScriptedConnection[] = []
  const listener = Bun.listen<Connection>({
    hostname: '127.0.0.1',
    port: 0,
    // set in open(): the type wants a value here
    data: undefined as unknown as Connection,
    socket: {
      binaryType: 'uint8array',
      open(socket) {
        const c = new Connection(socket, connections.length)
        socket.data = c
        connections.push(c)
        Promise.resolve()
          .then(() => script(c))
          .catch((e) => {
            if (!c.isClosed) errors.push(e)
          })
      },
      data(socket, bytes) {
        socket.data.received(bytes)
      },
      drain(socket) {
        socket.data.drained()
      },
      close(socket) {
        socket.data.gone()
      },
      error(socket) {
        socket.data.gone()
      },
    },
  })
  return {
    port: listener.port,
    url: `http://127.0.0.1:${listener.port}`,
    connections,
    errors,
    stop: () => listener.stop(true),
  }
}

type Sock = import('bun').Socket<Connection>

class Connection implements ScriptedConnection {
  written = 0
  receivedBytes = 0
  isClosed = false
  readonly closed: Promise<void>
  private close!: () => void
  private buf = new Uint8Array(0)
  private waiting: { resolve: (r: ReceivedRequest) => void; reject: (e: Error) => void }[] = []
  private ready: ReceivedRequest[] = []
  private onDrain: (() => void) | null = null

  constructor(
    private readonly socket: Sock,
    readonly index: number,
  ) {
    this.closed = new Promise((resolve) => {
      this.close = resolve
    })
  }

  get stalled() {
    return this.onDrain !== null
  }

  request(): Promise<ReceivedRequest> {
    const r = this.ready.shift()
    if (r) return Promise.resolve(r)
    if (this.isClosed) return Promise.reject(new Error(`connection ${this.index} closed before a request`))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  async write(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data
    while (bytes.length > 0) {
      if (this.isClosed) throw new Error(`connection ${this.index} is closed`)
      const n = this.socket.write(bytes)
      if (n < 0) {
        // closed or shutting down before the close callback ran
        this.gone()
        throw new Error(`connection ${this.index} is closed`)
      }
      this.written += n
      bytes = bytes.subarray(n)
      if (bytes.length > 0) await new Promise<void>((resolve) => (this.onDrain = resolve))
    }
  }

  end() {
    this.socket.end()
  }

  reset() {
    this.socket.terminate()
  }

  received(bytes: Uint8Array) {
    this.receivedBytes += bytes.length
    const joined = new Uint8Array(this.buf.length + bytes.length)
    joined.set(this.buf)
    joined.set(bytes, this.buf.length)
    this.buf = joined
    for (;;) {
      const parsed = parseRequest(this.buf)
      if (!parsed) break
      this.buf = this.buf.subarray(parsed.used)
      const w = this.waiting.shift()
      if (w) w.resolve(parsed.request)
      else this.ready.push(parsed.request)
    }
  }

  drained() {
    const d = this.onDrain
    this.onDrain = null
    d?.()
  }

  gone() {
    if (this.isClosed) return
    this.isClosed = true
    for (const w of this.waiting.splice(0)) w.reject(new Error(`connection ${this.index} closed before a request`))
    // a writer waiting for drain wakes up and finds the connection closed
    this.drained()
    this.close()
  }
}

const CRLF2 = [13, 10, 13, 10]

function indexOf(buf: Uint8Array, seq: number[], from = 0): number {
  outer: for (let i = from; i <= buf.length - seq.length; i++) {
    for (let j = 0; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer
    return i
  }
  return -1
}

/** One whole request at the start of `buf` and how many bytes it took, or null if more must arrive. */
function parseRequest(buf: Uint8Array): { request: ReceivedRequest; used: number } | null {
  const end = indexOf(buf, CRLF2)
  if (end < 0) return null
  const [line = '', ...lines] = new TextDecoder('latin1').decode(buf.subarray(0, end)).split('\r\n')
  const [method = '', target = ''] = line.split(' ')
  const headers = lines.map((l): [string, string] => {
    const i = l.indexOf(':')
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()]
  })
  const header = (name: string) => headers.find(([n]) => n === name)?.[1]
  let at = end + 4
  if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
    const parts: Uint8Array[] = []
    for (;;) {
      const nl = indexOf(buf, [13, 10], at)
      if (nl < 0) return null
      const size = Number.parseInt(new TextDecoder().decode(buf.subarray(at, nl)), 16)
      if (buf.length < nl + 2 + size + 2) return null
      parts.push(buf.slice(nl + 2, nl + 2 + size))
      at = nl + 2 + size + 2
      if (size === 0) break
    }
    return { request: { method, target, headers, body: concat(parts) }, used: at }
  }
  const length = Number(header('content-length') ?? 0)
  if (buf.length < at + length) return null
  return { request: { method, target, headers, body: buf.slice(at, at + length) }, used: at + length }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
