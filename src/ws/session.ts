// One WebSocket on /v1/responses: frames in, a FIFO of response.create requests, each run through
// the turn engine with its events sent back as text frames. Bad frames get an error frame and the
// socket stays usable; a slow reader pauses the turn (send → -1 waits for drain) instead of
// buffering; a socket that goes away aborts its running turn (stored as incomplete). When the gateway shuts down
// the socket finishes its running turn, refuses the rest and closes with 1001 (going away).
import { ApiError, toApiError } from '../errors'
import { shuttingDown } from '../engine/drain'
import { CLOCK_SKEW_S } from '../oidc'
import type { SpanContext } from '../tracing/span'
import type { Turn, TurnEngine } from '../engine/turn'
import type { TurnEvent } from '../engine/turn-types'
import type { Logger } from '../log'
import type { GatewayMetrics } from '../metrics'
import { CreateResponseBody, type CreateResponseRequest } from '../schema/responses'
import { compileValidator } from '../schema/validate'
import type { ItemBody } from '../store/types'
import { spelledOut } from '../upstream/delta-run'

/** What the session needs of a socket: Bun's ServerWebSocket send/close. */
export interface FrameSink {
  /** bytes sent (> 0), -1 when queued under backpressure, 0 when dropped (socket closed) */
  send(text: string): number
  /** `fn` run with the socket corked: what it sends goes out in one write when it returns */
  cork<T>(fn: () => T): T
  close(code?: number, reason?: string): void
}

export interface SessionOptions {
  engine: TurnEngine
  logger: Logger
  tenant: string
  /** unix ms when the socket's bearer token expires (null: an API key, or no auth); each response.create checks it */
  credentialExpiresAt?: number | null
  /** the upgrade request's span: each turn's span is its child (src/tracing) */
  parentSpan?: SpanContext | null
  /** unix ms; Date.now unless a test says otherwise */
  clock?: () => number
  maxQueue: number
  /** store every turn even when the client says store:false (Codex chains need it) */
  forceStore: boolean
  requestId: string
  /** agentgate_active_websockets and agentgate_websocket_queued_requests */
  metrics?: GatewayMetrics
}

const validateCreate = compileValidator<CreateResponseRequest>(CreateResponseBody)

/** The close of a socket whose gateway shuts down: 1001 "going away" tells the client to reconnect elsewhere. */
export const GOING_AWAY = 1001

/** Keys Open Responses forbids on WebSocket frames (stream is implied); accepted and ignored. */
const IGNORED_ON_SOCKET = ['type', 'stream', 'stream_options', 'background'] as const

export class ResponsesSocketSession {
  private readonly queue: CreateResponseRequest[] = []
  private running = false
  private closed = false
  private draining = false
  /** the token expired: no more turns; the socket closes once the running one has ended */
  private expired = false
  /** the running turn's controller: aborted when the socket goes away, or drops one of the turn's frames */
  private turnStop: AbortController | null = null
  /**
   * What waits for the socket to drain: the running turn's frames, and an error frame sent meanwhile (a bad frame from
   * the client, a refused request). One drain resumes them all; a single slot let the error's waiter take the turn's
   * place, and the turn never went on.
   */
  private readonly drainWaiters: (() => void)[] = []
  /**
   * Transcripts of this socket's completed turns by response id, so a turn chained onto one reads its history from
   * memory: unstored turns' for the socket's life (previous_response_id resolves nowhere else), and the latest stored
   * turn's (Codex chains every turn onto the one before: without it each turn re-read the whole chain from the store).
   */
  private readonly localChains = new Map<string, ItemBody[]>()
  /** the stored turn whose transcript localChains holds (older stored ones are read from the store) */
  private lastStored: string | null = null

  constructor(
    private readonly sink: FrameSink,
    private readonly opts: SessionOptions,
  ) {
    opts.metrics?.activeWebSockets.inc()
  }

  /** A frame arrived (already JSON-parsed by Elysia when it was JSON text). */
  onMessage(message: unknown) {
    if (this.closed || this.expired) return
    let req: CreateResponseRequest
    try {
      req = this.parseFrame(message)
    } catch (e) {
      this.sendError(e)
      return
    }
    if (this.draining) {
      this.sendError(shuttingDown())
      return
    }
    if (this.credentialExpired()) {
      this.endForExpiredToken()
      return
    }
    if (this.queue.length >= this.opts.maxQueue) {
      this.sendError(
        new ApiError(
          429,
          `Too many queued response.create requests on this socket (limit ${this.opts.maxQueue}); wait for the running ones to finish.`,
          'rate_limit_error',
          'too_many_queued_requests',
        ),
      )
      return
    }
    this.queue.push(req)
    this.opts.metrics?.webSocketQueued.inc()
    if (!this.running) void this.runQueue()
  }

  /** The gateway shuts down: queued requests are refused, the running turn finishes, then the socket closes (1001). */
  shutDown() {
    if (this.closed || this.draining) return
    this.draining = true
    const refused = this.queue.splice(0)
    this.opts.metrics?.webSocketQueued.dec(refused.length)
    for (const _ of refused) this.sendError(shuttingDown())
    if (!this.running) this.goAway()
  }

  private goAway() {
    if (this.closed) return
    this.opts.logger.debug('websocket closed for shutdown', { request_id: this.opts.requestId })
    this.sink.close(GOING_AWAY, 'server shutting down')
  }

  onDrain() {
    if (this.drainWaiters.length === 0) return
    for (const resume of this.drainWaiters.splice(0)) resume()
  }

  onClose(code: number) {
    if (!this.closed) {
      this.opts.metrics?.activeWebSockets.dec()
      this.opts.metrics?.webSocketQueued.dec(this.queue.length)
    }
    this.closed = true
    this.queue.length = 0
    this.turnStop?.abort(new Error(`socket closed (${code})`))
    this.onDrain()
    // 1006 without a close frame is how Codex leaves: normal, not worth more than a debug line.
    this.opts.logger.debug('websocket closed', { code, request_id: this.opts.requestId })
  }

  /**
   * Frames out: a batch of the turn's events (or one error) from `from` on, one frame each (clients such as Codex read
   * one event per message); whether the socket is still there. A promise only where the socket is backed up (the rest
   * is sent once it drains): nothing to await per frame or per batch otherwise.
   */
  private sendAll(events: unknown[], from = 0): boolean | Promise<boolean> {
    if (events.length - from > 1) return this.sink.cork(() => this.sendEach(events, from))
    return this.sendEach(events, from)
  }

  private sendEach(events: unknown[], from: number): boolean | Promise<boolean> {
    for (let i = from; i < events.length; i++) {
      if (this.closed) return false
      const r = this.sink.send(JSON.stringify(events[i]))
      if (r === 0) return false
      if (r === -1) return new Promise<void>((resolve) => this.drainWaiters.push(resolve)).then(() => this.sendAll(events, i + 1))
    }
    return !this.closed
  }

  /**
   * A turn's model batch, sent from inside the upstream adapter's loop (engine/turn-types.ts BatchSink): a run of text
   * deltas as its events, one message each; a promise while the socket is backed up, and the turn reads no more of
   * the upstream until it settles. A frame it could not send stops the turn there (stopTurn), as the loop below
   * stops it by leaving; a socket that goes away stops it through its signal (onClose).
   */
  private readonly sendBatch = (batch: TurnEvent[]): Promise<unknown> | undefined => {
    const sent = this.sendAll(spelledOut(batch))
    if (sent === true) return undefined
    if (sent === false) {
      this.stopTurn()
      return undefined
    }
    return sent.then((open) => open || this.stopTurn())
  }

  /** A frame of the running turn was not sent (the socket dropped it, or is gone): the turn stops there, incomplete. */
  private stopTurn(): void {
    this.turnStop?.abort(new Error('socket dropped a frame'))
  }

  private sendError(e: unknown) {
    const err = toApiError(e)
    if (err.errorCode === 'storage_unavailable')
      this.opts.logger.error('storage unavailable', { request_id: this.opts.requestId, err: String((e as Error)?.cause ?? e) })
    else if (!(e instanceof ApiError))
      this.opts.logger.error('websocket turn failed', { err: String((e as Error)?.stack ?? e), request_id: this.opts.requestId })
    const body = err.toJSON().error
    // The error frame of the WebSocket mode; top-level fields mirror the SSE error event.
    void this.sendAll([{ type: 'error', status: err.status, error: body, code: body.code, message: body.message, param: body.param }])
  }

  private parseFrame(message: unknown): CreateResponseRequest {
    if (message instanceof Uint8Array || message instanceof ArrayBuffer)
      throw ApiError.badRequest('Binary frames are not supported; send JSON text frames.', null, 'invalid_frame')
    if (typeof message === 'string') throw ApiError.badRequest('The frame is not valid JSON.', null, 'invalid_json')
    if (typeof message !== 'object' || message === null || Array.isArray(message))
      throw ApiError.badRequest('A frame must be a JSON object with a "type".', null, 'invalid_frame')
    const frame = message as Record<string, unknown>
    if (frame.type !== 'response.create')
      throw ApiError.badRequest(
        `Unknown frame type ${JSON.stringify(frame.type ?? null)}; the only client frame is "response.create".`,
        'type',
        'unknown_frame_type',
      )
    const body: Record<string, unknown> = { ...frame }
    for (const k of IGNORED_ON_SOCKET) delete body[k]
    return validateCreate(body)
  }

  private async runQueue() {
    this.running = true
    try {
      while (!this.closed && !this.expired && this.queue.length) {
        this.opts.metrics?.webSocketQueued.dec()
        const next = this.queue.shift()!
        // A request queued while the token was valid may only run while it still is.
        if (this.credentialExpired()) this.endForExpiredToken()
        else await this.runOne(next)
      }
    } finally {
      this.running = false
      if (this.draining) this.goAway()
    }
    if (this.expired) this.closeExpired()
  }

  /** Whether the socket's token has expired (the same clock skew as the token check, src/oidc.ts). */
  private credentialExpired(): boolean {
    const at = this.opts.credentialExpiresAt
    return at !== undefined && at !== null && (this.opts.clock ?? Date.now)() >= at + CLOCK_SKEW_S * 1000
  }

  /** An invalid_token error frame; no turn runs after it, and the socket closes when the running turn has ended. */
  private endForExpiredToken() {
    if (this.expired) return
    this.expired = true
    this.sendError(
      new ApiError(
        401,
        'Invalid bearer token: the token has expired; reconnect with a fresh one.',
        'invalid_request_error',
        'invalid_token',
      ),
    )
    this.opts.metrics?.webSocketQueued.dec(this.queue.length)
    this.queue.length = 0
    if (!this.running) this.closeExpired()
  }

  private closeExpired() {
    if (this.closed) return
    this.opts.logger.debug('websocket closed: token expired', { request_id: this.opts.requestId })
    // 1008 policy violation, as for a bad key on upgrade; the reason names the error code.
    this.sink.close(1008, 'invalid_token')
  }

  private async runOne(req: CreateResponseRequest) {
    const stop = new AbortController()
    this.turnStop = stop
    try {
      await this.runTurn(req, stop.signal)
    } finally {
      this.turnStop = null
    }
  }

  private async runTurn(req: CreateResponseRequest, signal: AbortSignal) {
    let turn: Turn
    try {
      turn = await this.opts.engine.start(req, {
        tenant: this.opts.tenant,
        forceStore: this.opts.forceStore,
        recordEvents: true,
        signal,
        localChains: this.localChains,
        requestId: this.opts.requestId,
        parentSpan: this.opts.parentSpan,
      })
    } catch (e) {
      this.sendError(e)
      return
    }
    // The model's batches go out from the adapter's loop (sendBatch), not through the turn's generators and this loop,
    // which still sends the turn's own events (created, in_progress, the terminal one) and any gateway tool events.
    const batches = turn.batches({ write: this.sendBatch })
    try {
      for await (const batch of batches) {
        // a run of text deltas goes as its events, one message each
        if (!(await this.sendAll(spelledOut(batch)))) break
      }
    } catch (e) {
      this.sendError(e)
    } finally {
      // Ends the turn (as incomplete) if we stopped early because the socket went away.
      await batches.return(undefined)
    }
    if (turn.response.status !== 'completed') return
    if (turn.stored) {
      if (this.lastStored) this.localChains.delete(this.lastStored)
      this.lastStored = turn.id
    }
    // Settled (src/store/settled-items.ts): the next turn's upstream request reuses what each of these items gave before.
    this.localChains.set(turn.id, turn.transcript())
  }
}
