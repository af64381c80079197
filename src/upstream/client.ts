// The HTTP client every upstream call goes through: URL joining, header filtering, our key,
// timeouts, and network failures as 502/504 ApiErrors (worded by failure.ts).

import type { Config } from '../config'
import { ApiError } from '../errors'
import { answerTimeout, connectFailure, describeCall, idleTimeout, streamFailure } from './failure'
import { stripForClient, toUpstreamHeaders } from './headers'
import { openUpstreamStreams } from './open-streams'
import { DeadlineList } from './deadlines'
import { bodySent, wasSent } from './request-body'
import { createHttp1Fetch, type Http1Init } from './http1/fetch'

/** What the client needs of fetch: Bun's, or our HTTP/1.1 client (http1/fetch.ts). */
export type FetchLike = (url: string, init: Http1Init) => Promise<Response>

export interface UpstreamOptions {
  baseUrl: string
  apiKey: string | null
  /** time to response headers for quick calls (model list, readiness) */
  connectTimeoutMs: number
  /** time to response headers for generation calls */
  firstByteTimeoutMs: number
  /** longest silence allowed inside a streamed body */
  idleTimeoutMs: number
  /**
   * transportFor(baseUrl) unless a test says otherwise; like Bun's fetch, it must have copied a body of bytes when it
   * returns
   */
  fetch?: FetchLike
}

export interface UpstreamCall {
  method?: 'GET' | 'POST'
  /** path below the base URL, e.g. "/models" */
  path: string
  /** the path is below the server's root rather than the base URL's /v1 (vLLM's /tokenize) */
  fromRoot?: boolean
  /** query string including the leading "?", or "" */
  search?: string
  /** the client's headers (filtered here) or our own */
  headers?: Headers | Record<string, string | undefined>
  /** sent as x-request-id in place of the client's (one request id end to end) */
  requestId?: string
  body?: RequestInit['body']
  signal?: AbortSignal
  /** "quick" uses connectTimeoutMs, "generate" firstByteTimeoutMs */
  kind?: 'quick' | 'generate'
  /**
   * the answer is asked for as an event stream: while few upstream streams are open it comes through the same client
   * as a whole answer, past OURS_STREAMS_BELOW through Bun's fetch, on Bun's HTTP client thread (see there)
   */
  stream?: boolean
  /** false passes compressed bytes through untouched (proxying); true decodes (we parse the body) */
  decompress?: boolean
  /**
   * proxy: an event-stream answer counts in this gauge while it is open, from its headers until it ends, fails or
   * is cancelled (agentgate_active_sse_streams for the pass-through routes)
   */
  openStreams?: OpenGauge
  /** the span this call is made under (the edge request's), for its client span and traceparent (src/tracing) */
  parentSpan?: { traceId: string; spanId: string; sampled: boolean }
}

/** A gauge of what is open (metrics' activeSseStreams). */
export interface OpenGauge {
  inc(): void
  dec(): void
}

export interface UpstreamClient {
  readonly baseUrl: string
  readonly idleTimeoutMs: number
  /** Calls the upstream; resolves once headers arrive. Throws ApiError 502/504 on network failure. */
  call(req: UpstreamCall): Promise<Response>
  /**
   * Calls the upstream and returns its response for the client: status and body untouched, headers filtered. A plain
   * body is the upstream's own Response (piped natively); an event stream gets the idle watchdog.
   */
  proxy(req: UpstreamCall): Promise<Response>
}

export function createUpstreamClient(opts: UpstreamOptions): UpstreamClient {
  // the client for every call (transportFor), but Bun's fetch for a stream once many are open (OURS_STREAMS_BELOW)
  const transport = opts.fetch ?? transportFor(opts.baseUrl)
  const crowdedStreams = opts.fetch ?? fetch
  const base = opts.baseUrl.replace(/\/+$/, '')
  const root = base.replace(/\/v1$/, '')
  // the time to response headers: one clock per limit for every call in flight (deadlines.ts)
  const quickDeadlines = new DeadlineList(opts.connectTimeoutMs)
  const generateDeadlines = new DeadlineList(opts.firstByteTimeoutMs)

  async function call(req: UpstreamCall, decompress = req.decompress ?? true): Promise<Response> {
    const url = (req.fromRoot ? root : base) + req.path + (req.search ?? '')
    const method = req.method ?? 'GET'
    const deadlines = req.kind === 'generate' ? generateDeadlines : quickDeadlines
    const ctl = new AbortController()
    const onClientAbort = () => ctl.abort(req.signal?.reason)
    if (req.signal?.aborted) onClientAbort()
    else req.signal?.addEventListener('abort', onClientAbort, { once: true })
    const headers = toUpstreamHeaders(req.headers ?? {}, opts.apiKey, req.requestId)
    if (decompress) headers.delete('accept-encoding')
    // A lent body (upstream/request-body.ts) is given back once fetch has it: sending it again could send another's bytes.
    if (wasSent(req.body)) throw new Error('a request body lent by requestBody was sent twice')
    const pending = deadlines.add(ctl)
    try {
      const fetching = (req.stream && openUpstreamStreams.count >= OURS_STREAMS_BELOW ? crowdedStreams : transport)(url, {
        method,
        headers,
        body: req.body ?? undefined,
        signal: ctl.signal,
        // Bun extension: keep encoded bytes and their content-encoding header together when proxying.
        decompress,
        redirect: 'manual',
      })
      // fetch copied a body of bytes when it was called (test/upstream/client.test.ts): its buffer may be lent again
      bodySent(req.body)
      const res = await fetching
      // The abort listener stays for the body's lifetime: a client that leaves mid-stream must cancel
      // the upstream stream too, not only a request still waiting for headers.
      return res
    } catch (e) {
      req.signal?.removeEventListener('abort', onClientAbort)
      if (pending.expired) throw answerTimeout(deadlines.ms, describeCall(method, base + req.path))
      if (req.signal?.aborted) throw new ApiError(499, 'client closed the request', 'invalid_request_error', 'client_closed_request')
      // e.g. a request body over the size limit (app.ts), surfaced by fetch while uploading it
      if (e instanceof ApiError) throw e
      throw connectFailure(e, describeCall(method, base + req.path))
    } finally {
      pending.settle()
    }
  }

  return {
    baseUrl: base,
    idleTimeoutMs: opts.idleTimeoutMs,
    call,
    async proxy(req) {
      const res = await call(req, false)
      const isStream = (res.headers.get('content-type') ?? '').includes('text/event-stream')
      stripForClient(res.headers)
      // A plain body goes back as the upstream's own Response: Bun pipes it natively, much cheaper than a new
      // Response around res.body, which it would read through a JS stream (STACK.md §6). Streams get an idle watchdog.
      if (!isStream || !res.body) return res
      const body = withIdleTimeout(res.body, opts.idleTimeoutMs, describeCall(req.method ?? 'GET', base + req.path), req.openStreams)
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
    },
  }
}

/**
 * Passes an upstream body through, erroring it if no chunk arrives for `ms`; cancelling it cancels the source. A
 * read that fails (the connection reset, a malformed chunk) errors it with our account of it, naming `call`. With
 * `open`, the stream counts in that gauge from here until it ends, fails or is cancelled (one JS stream for both:
 * each layer costs every chunk a read and a promise).
 */
export function withIdleTimeout(
  src: ReadableStream<Uint8Array>,
  ms: number,
  call: string | null = null,
  open?: OpenGauge,
): ReadableStream<Uint8Array> {
  const reader = src.getReader()
  open?.inc()
  const uncount = openUpstreamStreams.opened()
  // counted out once, however it ends
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    uncount()
    open?.dec()
  }
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      // A silent source is cancelled, which ends the pending read (no promise race per chunk).
      let idle = false
      const timer = setTimeout(() => {
        idle = true
        reader.cancel(idleTimeout(ms, call)).catch(() => {})
      }, ms)
      try {
        const r = await reader.read()
        if (idle) throw idleTimeout(ms, call)
        if (r.done) {
          end()
          ctl.close()
        } else ctl.enqueue(r.value)
      } catch (e) {
        end()
        reader.cancel(e).catch(() => {})
        ctl.error(idle ? idleTimeout(ms, call) : streamFailure(e, call))
      } finally {
        clearTimeout(timer)
      }
    },
    cancel(reason) {
      end()
      return reader.cancel(reason)
    },
  })
}

/**
 * An event stream goes through the client of whole answers (transportFor: ours for a plain-http upstream) while fewer
 * than this many upstream streams are open in the process (open-streams.ts), and through Bun's fetch past it. Through
 * ours a stream's reads cost the serving thread less (no hand-over from Bun's HTTP thread): 1,000-delta streams at
 * 8 connections used 0.59–0.71× the CPU an event and ran 1.5× as many a second. But with hundreds of slow token
 * streams the serving thread is what every token waits for, and their reads on it put the LLM-like load's p99 gap
 * between tokens up (+65% with 64 of its 500 streams through ours); Bun's HTTP thread reads those beside it. Counting
 * every open stream rather than ours alone keeps that load as it was: once 64 are open, every new stream is fetch's.
 */
export const OURS_STREAMS_BELOW = 64

/**
 * How calls for a whole answer (a JSON turn, a pass-through JSON request, the model list) reach the upstream at
 * `baseUrl`: our HTTP/1.1 client (http1/fetch.ts: the socket read on the serving thread, no hand-over between threads:
 * 13% less CPU a stored JSON turn in bench/turn-cpu.ts, bench/README.md) for a plain-http upstream — vLLM as it is
 * usually run — and Bun's fetch where ours does not go: TLS, credentials in the URL, or a proxy the environment names
 * (Bun's fetch honours it). Event streams take this client too while few are open (OURS_STREAMS_BELOW).
 */
export function transportFor(baseUrl: string, env: Record<string, string | undefined> = process.env): FetchLike {
  const u = new URL(baseUrl)
  const proxied = Boolean(env.http_proxy || env.HTTP_PROXY)
  return u.protocol === 'http:' && !u.username && !u.password && !proxied ? createHttp1Fetch() : fetch
}

/** The upstream client a Config describes (the binary and the tests build it the same way). */
export function upstreamFromConfig(
  config: Pick<Config, 'upstream' | 'upstreamKey' | 'connectTimeoutMs' | 'firstByteTimeoutMs' | 'idleTimeoutMs'>,
): UpstreamClient {
  return createUpstreamClient({
    baseUrl: config.upstream,
    apiKey: config.upstreamKey,
    connectTimeoutMs: config.connectTimeoutMs,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
  })
}
