// Connections to MCP servers, pooled so that a multi-round turn (and the turns after it) reuse one session instead
// of reconnecting per call. HTTP servers: Streamable HTTP, falling back to the older SSE transport when the server
// answers the first POST with a 4xx (the MCP spec's backwards-compatibility rule); closed after an idle timeout.
// Stdio servers: started on first use, kept until close(), started again on the next use if they died; their
// stderr goes to the debug log line by line.

import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Stream } from 'node:stream'
import type { Logger } from '../log'
import { VERSION } from '../version'
import type { McpStdioServerConfig } from './config'
import { httpStatus } from './failure'

/** How to reach one server. `key` identifies its pooled connection. */
export type Endpoint =
  | { kind: 'http'; key: string; label: string; url: URL; headers: Record<string, string> }
  | { kind: 'stdio'; key: string; label: string; config: McpStdioServerConfig }

/** One open session. */
interface Connection {
  /** the server's label, for logs (never the URL: its query may hold a key) */
  label: string
  client: Client
  transport: 'streamable-http' | 'sse' | 'stdio'
  inflight: number
  idle: ReturnType<typeof setTimeout> | null
  closed: boolean
}

/** A longest stderr line kept for the debug log (a server printing a megabyte without a newline is cut). */
const MAX_STDERR_LINE = 2_000

export interface PoolOptions {
  logger: Logger
  /** connect (initialize) bound */
  connectTimeoutMs: number
  /** an HTTP connection unused this long is closed */
  idleTimeoutMs: number
}

/** Rejects with the signal's reason when it aborts first. The promise itself keeps running (its result is dropped). */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort)
        resolve(v)
      },
      (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      },
    )
  })
}

export class McpPool {
  private readonly conns = new Map<string, Promise<Connection>>()
  private readonly live = new Set<Connection>()
  private closing = false

  constructor(private readonly opts: PoolOptions) {}

  /**
   * Runs `fn` with a connected client for the endpoint, connecting (or restarting a dead stdio server) first when
   * needed. `reused` tells fn whether the session existed before this call. Waiting for the connection is bounded
   * by `signal`; the connect itself by connectTimeoutMs, shared by everyone waiting for it.
   */
  async use<T>(ep: Endpoint, signal: AbortSignal, fn: (client: Client, reused: boolean) => Promise<T>, again = false): Promise<T> {
    if (this.closing) throw new Error('Not connected: the MCP service is closed')
    let pending = this.conns.get(ep.key)
    const reused = pending !== undefined
    if (!pending) {
      pending = this.connect(ep)
      this.conns.set(ep.key, pending)
      // A failed connect is forgotten at once, so the next use tries again.
      pending.catch(() => {
        if (this.conns.get(ep.key) === pending) this.conns.delete(ep.key)
      })
    }
    const conn = await raceSignal(pending, signal)
    // Closed between connecting and now (a stdio server that exited at once): one more try, not a loop.
    if (conn.closed) {
      if (again) throw new Error('Not connected: the MCP server closed the connection right after it opened')
      return this.use(ep, signal, fn, true)
    }
    conn.inflight++
    if (conn.idle) clearTimeout(conn.idle)
    conn.idle = null
    try {
      return await fn(conn.client, reused)
    } finally {
      conn.inflight--
      this.scheduleIdle(ep.key, conn)
    }
  }

  /** Starts the idle countdown of an unused HTTP connection (also one whose first user gave up waiting for it). */
  private scheduleIdle(key: string, conn: Connection): void {
    if (conn.inflight > 0 || conn.closed || conn.transport === 'stdio') return
    if (conn.idle) clearTimeout(conn.idle)
    conn.idle = setTimeout(() => {
      if (conn.inflight === 0) void this.discard(key, conn, 'idle')
    }, this.opts.idleTimeoutMs)
    conn.idle.unref?.()
  }

  /** Drops the connection of this client (after a transport failure), so the endpoint's next use opens a fresh one. */
  async reset(ep: Endpoint, client: Client): Promise<void> {
    const conn = [...this.live].find((c) => c.client === client)
    if (conn) await this.discard(ep.key, conn, 'failed')
  }

  /** Closes every session and stops every stdio server started here. */
  async close(): Promise<void> {
    this.closing = true
    const pending = [...this.conns.entries()]
    this.conns.clear()
    const conns = await Promise.all(pending.map(([key, p]) => p.then((c) => [key, c] as const).catch(() => null)))
    await Promise.all(conns.map((kc) => (kc ? this.discard(kc[0], kc[1], 'shutdown') : undefined)))
    await Promise.all([...this.live].map((c) => this.discard('', c, 'shutdown')))
  }

  private async discard(key: string, conn: Connection, why: 'idle' | 'failed' | 'shutdown' | 'exited'): Promise<void> {
    if (key && this.conns.get(key) !== undefined) {
      const current = await this.conns.get(key)!.catch(() => null)
      if (current === conn) this.conns.delete(key)
    }
    if (conn.closed) return
    conn.closed = true
    this.live.delete(conn)
    if (conn.idle) clearTimeout(conn.idle)
    this.opts.logger.debug('mcp connection closed', { server: conn.label, transport: conn.transport, why })
    await conn.client.close().catch(() => {})
  }

  private newClient(): Client {
    return new Client({ name: 'agentgate', version: VERSION }, { capabilities: {} })
  }

  private async connect(ep: Endpoint): Promise<Connection> {
    const signal = AbortSignal.timeout(this.opts.connectTimeoutMs)
    const timeout = this.opts.connectTimeoutMs
    const opened = ep.kind === 'stdio' ? await this.connectStdio(ep, signal, timeout) : await this.connectHttp(ep, signal, timeout)
    const conn: Connection = { ...opened, label: ep.label, inflight: 0, idle: null, closed: false }
    this.live.add(conn)
    // The transport ends on its own when a stdio server exits or an HTTP session breaks: forget it, so the next use
    // reconnects (restarts the server). A close we asked for has already marked it closed.
    conn.client.onclose = () => {
      if (conn.closed) return
      if (conn.transport === 'stdio')
        this.opts.logger.warn('mcp stdio server exited; it is started again on its next use', { server: ep.label })
      void this.discard(ep.key, conn, 'exited')
    }
    if (this.closing) {
      await this.discard(ep.key, conn, 'shutdown')
      throw new Error('Not connected: the MCP service is closed')
    }
    this.opts.logger.debug('mcp connected', { server: ep.label, transport: conn.transport })
    this.scheduleIdle(ep.key, conn)
    return conn
  }

  private async connectHttp(
    ep: Extract<Endpoint, { kind: 'http' }>,
    signal: AbortSignal,
    timeout: number,
  ): Promise<Pick<Connection, 'client' | 'transport'>> {
    const requestInit: RequestInit = { headers: ep.headers }
    const streamable = this.newClient()
    try {
      await streamable.connect(new StreamableHTTPClientTransport(ep.url, { requestInit }), { signal, timeout })
      return { client: streamable, transport: 'streamable-http' }
    } catch (e) {
      await streamable.close().catch(() => {})
      // MCP's backwards compatibility: a 4xx to the initialize POST means an older server that speaks HTTP+SSE.
      const status = httpStatus(e)
      if (status === null || status < 400 || status >= 500) throw e
    }
    const sse = this.newClient()
    try {
      await sse.connect(new SSEClientTransport(ep.url, { requestInit }), { signal, timeout })
      return { client: sse, transport: 'sse' }
    } catch (e) {
      await sse.close().catch(() => {})
      throw e
    }
  }

  private async connectStdio(
    ep: Extract<Endpoint, { kind: 'stdio' }>,
    signal: AbortSignal,
    timeout: number,
  ): Promise<Pick<Connection, 'client' | 'transport'>> {
    const { config } = ep
    // The child gets the few variables any program needs (PATH, HOME, USER, …) plus its own env table — not the
    // gateway's environment, which holds the upstream key and the database URL.
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: { ...getDefaultEnvironment(), ...config.env },
      cwd: config.cwd ?? undefined,
      stderr: 'pipe',
    })
    this.logStderr(ep.label, transport.stderr)
    const client = this.newClient()
    try {
      await client.connect(transport, { signal, timeout })
      return { client, transport: 'stdio' }
    } catch (e) {
      await client.close().catch(() => {})
      throw e
    }
  }

  /** A stdio server's stderr, one debug line per line it prints (it is the server's log, not ours to judge). */
  private logStderr(label: string, stream: Stream | null): void {
    if (!stream) return
    let buffered = ''
    const flush = (line: string) => {
      if (line.trim() !== '') this.opts.logger.debug('mcp server stderr', { server: label, line: line.slice(0, MAX_STDERR_LINE) })
    }
    stream.on('data', (chunk: Buffer | string) => {
      buffered += chunk.toString()
      let nl = buffered.indexOf('\n')
      while (nl >= 0) {
        flush(buffered.slice(0, nl).replace(/\r$/, ''))
        buffered = buffered.slice(nl + 1)
        nl = buffered.indexOf('\n')
      }
      if (buffered.length > MAX_STDERR_LINE) {
        flush(buffered)
        buffered = ''
      }
    })
    stream.on('end', () => flush(buffered))
  }
}
