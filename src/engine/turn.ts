// The turn engine: the one path every turn takes, whatever edge it came from (HTTP JSON, SSE,
// WebSocket, background). start() checks the request and rehydrates history (errors here are
// plain 4xx); the returned Turn's events() then calls the upstream, normalises its stream, persists
// the response and yields the gateway's events. Consumers only decide how to deliver them.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import { withFields, type Logger } from '../log'
import type { GatewayMetrics } from '../metrics'
import type { ResponseEvent, TerminalEvent } from '../schema/events'
import type { CreateResponseRequest, ResponseObjectT, UsageT } from '../schema/responses'
import { StoreUnavailableError } from '../store/errors'
import type { ItemBody, ResponseRecord, ResponseStatus, Store } from '../store/types'
import type { UpstreamAdapter } from '../upstream/adapter'
import { streamFailure } from '../upstream/failure'
import type { Sealer } from '../sealing/sealer'
import type { Tokenizer } from '../upstream/tokenize'
import type { ContextWindows } from '../upstream/context-window'
import { fitContextWindow } from './truncation'
import { mapToolCallEvents, toolRegistryFor } from '../tools'
import { TurnCheckpoint } from './checkpoint'
import { appendsToConversation, conversationItem, conversationLocked, conversationNotFound } from './conversation'
import { countInputTokens, type CountRequest } from './input-tokens'
import { chainHistory, checkOneHistory, conversationIdOf, requestContext, requestInput, upstreamItems, type HistoryDeps } from './history'
import { compactHistory, compactThreshold, expandCompactions } from './compaction'
import { estimateInputTokens } from '../upstream/tokenize'
import type { CompactRequest } from '../schema/session-tools'
import { PROCESS_OWNER, newLease } from './lease'
import { fitOutput, historyTooLong, NO_LIMITS, STORED_SIZE_REASON, type TurnLimits } from './limits'
import { EventNormaliser, isDelta, type UpstreamOutcome } from './normalise'
import { responseBase, responseObject, type ResponseBase } from './response-object'
import type { Drain } from './drain'
import { UnstoredEnds } from './unstored'
import { childSpan, endSpan, type Span, type SpanContext, type Tracer } from '../tracing/span'
import { noteToolCallEvent, noteUpstreamEvent, turnAttributes, upstreamRequestAttributes, usageAttributes } from '../tracing/genai'
import { sealReasoning, wantsSealedReasoning } from './sealed-items'
import { toUpstreamRequest } from './upstream-request'

export interface EngineDeps {
  store: Store
  adapter: UpstreamAdapter
  clock: () => number
  ids: IdSource
  logger: Logger
  /** time to first token, upstream stream failures, tokens and turns by status, active turns (src/metrics) */
  metrics?: GatewayMetrics
  /** the process identity on leases of running turns (engine/lease.ts); PROCESS_OWNER unless a test says otherwise */
  owner?: string
  /** history length and stored response size (engine/limits.ts); none unless given */
  limits?: TurnLimits
  /** where the ends of turns the failing storage could not take are retried (engine/unstored.ts); one of its own unless given */
  unstored?: UnstoredEnds
  /** graceful shutdown (engine/drain.ts): refuses new turns once it began, and can stop the running ones */
  drain?: Drain
  /** spans for the turn, its upstream call, its store transactions and tool calls (src/tracing); none when unset */
  tracer?: Tracer | null
  /** set by createTurnEngine: the hosted tools already warned about */
  warnedTools?: Set<string>
  /** seals and opens encrypted_content (src/sealing) */
  sealer: Sealer
  /** the upstream's tokenizer, for input token counts (upstream/tokenize.ts); estimates without one */
  tokenizer?: Tokenizer
  /** the models' context windows, for truncation (upstream/context-window.ts); nothing is checked without */
  windows?: ContextWindows
}

/**
 * Why an edge aborted a turn's signal, when it is not a client going away: a cancel (POST …/cancel) ends the turn as
 * cancelled, a shutdown as failed. Any other abort reason ends it as incomplete (client_disconnected). The engine
 * itself stops a turn whose storage failed (kind 'storage'): it ends as failed with storage_unavailable.
 */
export class TurnStop {
  constructor(
    readonly kind: 'cancelled' | 'shutdown' | 'storage',
    readonly error?: StoreUnavailableError,
  ) {}
}

export interface TurnOptions {
  tenant: string
  /** store even when the request says store:false (WebSocket mode, so Codex chains resolve) */
  forceStore?: boolean
  /** keep the event log of this turn (streamed turns, for resume) */
  recordEvents?: boolean
  /** aborting stops the upstream call; the response is kept as incomplete */
  signal?: AbortSignal
  /** the edge request's id: sent upstream as x-request-id and kept with the stored response */
  requestId?: string
  /**
   * Chains kept outside the store (a WebSocket's unstored turns): the full item list of a response
   * by id. Consulted before the store when resolving previous_response_id.
   */
  localChains?: ReadonlyMap<string, ItemBody[]>
  /** the span (or remote context) the turn's span is a child of: the edge request's */
  parentSpan?: SpanContext | null
}

export interface Turn {
  readonly id: string
  readonly stored: boolean
  /** The Response as it stands: in_progress until events() has finished, then final. */
  readonly response: ResponseObjectT
  /** Why the turn failed, when it failed: the error an HTTP edge answers with. */
  readonly failure: ApiError | null
  /** Created with background:true: starts queued, and is meant to run detached from any request (engine/background.ts). */
  readonly background: boolean
  /** The x-request-id of the request that created it (TurnOptions.requestId), for log lines about it. */
  readonly requestId?: string | null
  /** Runs the turn. Single use. Stopping the iteration early ends the turn as incomplete. */
  events(): AsyncGenerator<ResponseEvent>
  /** History, input and output of this turn, in order: what a later turn chained on it sees. */
  transcript(): ItemBody[]
}

export { toUpstreamRequest } from './upstream-request'

export function createTurnEngine(deps: EngineDeps) {
  deps = { ...deps, unstored: deps.unstored ?? new UnstoredEnds(deps.logger) }
  const { store, adapter, clock, ids, logger, sealer } = deps
  const { maxHistoryItems } = deps.limits ?? NO_LIMITS
  /** hosted tools already warned about (toUpstreamRequest): one line per tool for the life of the gateway */
  const warnedTools = new Set<string>()
  const historyDeps: HistoryDeps = { store, ids, sealer, maxHistoryItems }

  /**
   * The upstream items fitted to the model's context window (engine/truncation.ts): 400 context_length_exceeded, or
   * with truncation:"auto" the oldest items dropped. A turn that compacts first is left to its compaction.
   */
  async function fit(req: CreateResponseRequest, items: ItemBody[], opts: TurnOptions): Promise<ItemBody[]> {
    if (req.generate === false || compactThreshold(req) !== null || items.length === 0) return items
    if (Array.isArray(req.input) && (req.input.at(-1) as { type?: string } | undefined)?.type === 'compaction_trigger') return items
    const fitted = await fitContextWindow({ tokenizer: deps.tokenizer, windows: deps.windows }, req, items, opts.signal)
    if (fitted.dropped)
      logger.info('truncation dropped the oldest items to fit the context window', {
        request_id: opts.requestId,
        dropped: fitted.dropped,
        input_tokens: fitted.tokens,
      })
    return fitted.items
  }

  async function start(req: CreateResponseRequest, opts: TurnOptions): Promise<Turn> {
    // The turn's span covers start() and events(); it ends with the turn (or here, when start() refuses it).
    const span = deps.tracer?.start(`turn ${req.model}`, 'internal', opts.parentSpan)
    if (span === undefined) return startTurn(req, opts, undefined)
    turnAttributes(span, req)
    try {
      return await startTurn(req, opts, span)
    } catch (e) {
      endSpan(span, e)
      throw e
    }
  }

  async function startTurn(req: CreateResponseRequest, opts: TurnOptions, span: Span | undefined): Promise<Turn> {
    const startedAt = performance.now()
    // A gateway shutting down starts nothing new (503 shutting_down); running turns may still finish.
    deps.drain?.assertAccepting()
    checkOneHistory(req)
    if (req.background && req.store === false)
      throw ApiError.badRequest('Background responses must be stored: remove store:false, or set background:false.', 'store')
    const conversationId = conversationIdOf(req)
    // A conversation keeps the turn whatever `store` says, and its turn lock lives on the response row: such a turn
    // is always stored (and says store:true).
    const stored = opts.forceStore === true || req.store !== false || conversationId !== null
    const background = req.background === true
    let history: ItemBody[] = req.previous_response_id
      ? await chainHistory(historyDeps, opts.tenant, req.previous_response_id, { localChains: opts.localChains, tracer: deps.tracer, span })
      : []
    toolRegistryFor(req) // 400 for empty or duplicate tool names, before anything is stored
    // Unknown item references and sealed content that does not open are a 400 before anything is stored.
    const input = await requestInput(historyDeps, opts.tenant, req.input)
    // Checked before anything is stored (a conversation's history is known only once the turn holds it: below).
    let upstream = conversationId
      ? []
      : await fit(req, upstreamItems(historyDeps, opts.tenant, history, input, 'previous_response_id'), opts)
    const id = ids('resp')
    const createdAt = clock()
    const base = responseBase(req, id, createdAt, stored, conversationId)
    // A background turn waits as queued until its runner picks it up (at once, in this gateway).
    const status = background ? 'queued' : 'in_progress'
    const initial = responseObject(base, { status, output: [], usage: null, error: null, incomplete_details: null, completedAtMs: null })
    if (stored) {
      const rec: ResponseRecord = {
        id,
        tenant: opts.tenant,
        status,
        model: req.model,
        request: req,
        response: initial,
        error: null,
        previousResponseId: req.previous_response_id ?? null,
        conversationId,
        background,
        createdAt,
        updatedAt: createdAt,
        completedAt: null,
        requestId: opts.requestId ?? null,
      }
      const lease = newLease(deps.owner ?? PROCESS_OWNER)
      if (conversationId) {
        // Takes the conversation's turn lock and reads its items under it, in one transaction.
        const s = childSpan(deps.tracer, span, 'startConversationTurn')
        let started: Awaited<ReturnType<Store['startConversationTurn']>>
        try {
          started = await store.startConversationTurn(rec, input, lease)
        } catch (e) {
          endSpan(s, e)
          throw e
        }
        endSpan(s)
        if (!started.ok)
          throw started.reason === 'locked'
            ? conversationLocked(conversationId, started.holder)
            : conversationNotFound(conversationId, 'conversation')
        if (started.history.length > maxHistoryItems) {
          // Its length is known only under the lock: the response just inserted goes again (which frees the
          // conversation), so the refused request leaves nothing behind, as one refused before it was stored.
          await store.deleteResponse(opts.tenant, id)
          throw historyTooLong('conversation', conversationId, started.history.length, maxHistoryItems)
        }
        history = started.history
        try {
          upstream = await fit(req, upstreamItems(historyDeps, opts.tenant, history, input, 'conversation'), opts)
        } catch (e) {
          await store.deleteResponse(opts.tenant, id)
          throw e
        }
      } else {
        const s = childSpan(deps.tracer, span, 'createResponse')
        try {
          await store.createResponse(rec, input, lease)
        } catch (e) {
          endSpan(s, e)
          throw e
        }
        endSpan(s)
      }
    }
    // Every log line about the turn names it and the request that made it.
    const turnDeps = { ...deps, logger: withFields(logger, { response_id: id, request_id: opts.requestId }), warnedTools }
    span?.set('gen_ai.response.id', id)
    const turn = new RunningTurn(turnDeps, req, opts, base, initial, stored, history, input, upstream, startedAt, span)
    if (deps.drain) turn.release = deps.drain.track(() => turn.stopForShutdown())
    return turn
  }

  return {
    start,
    /** Ends of turns waiting for the storage to take writes again: followers of an event log read their last events here. */
    unstored: deps.unstored!,
    /** POST /v1/responses/compact: the context of `req` (chain and input) compacted (engine/compaction.ts). */
    async compact(req: CompactRequest, tenant: string, opts: { signal?: AbortSignal; requestId?: string } = {}) {
      const ctx = await requestContext(historyDeps, tenant, { previous_response_id: req.previous_response_id, input: req.input })
      const { input: _input, previous_response_id: _p, instructions, ...settings } = req
      const request = toUpstreamRequest(settings as CreateResponseRequest, [], [])
      delete request.input
      // The session's own instructions tell the summarising model what the assistant was doing.
      const context: ItemBody[] = instructions
        ? [
            {
              id: ids('msg'),
              type: 'message',
              role: 'developer',
              content: [{ type: 'input_text', text: `The assistant's instructions in this session were:\n\n${instructions}` }],
            },
          ]
        : []
      const compacted = await compactHistory(
        { adapter, sealer, ids },
        tenant,
        [...ctx.history, ...ctx.input],
        [...context, ...ctx.upstream],
        request,
        {
          signal: opts.signal,
          headers: opts.requestId ? { 'x-request-id': opts.requestId } : undefined,
        },
      )
      return {
        id: ids('resp'),
        object: 'response.compaction' as const,
        created_at: Math.floor(clock() / 1000),
        output: compacted.output,
        usage: compacted.usage,
      }
    },
    /** POST /v1/responses/input_tokens (engine/input-tokens.ts) */
    countInputTokens: (req: CountRequest, tenant: string, signal?: AbortSignal) =>
      countInputTokens({ ...historyDeps, tokenizer: deps.tokenizer }, tenant, req, signal),
  }
}

export type TurnEngine = ReturnType<typeof createTurnEngine>

// A class so the turn's state (current response, failure) is readable by the edge after the run.
class RunningTurn implements Turn {
  response: ResponseObjectT
  failure: ApiError | null = null
  private used = false
  /** Called once the turn has ended (its end stored): unregisters it from the drain. */
  release: (() => void) | null = null
  /** Aborted by a shutdown whose grace period ran out: the turn ends as failed, with its terminal event. */
  private readonly shutdown = new AbortController()

  constructor(
    private readonly deps: EngineDeps,
    private readonly req: CreateResponseRequest,
    private readonly opts: TurnOptions,
    private readonly base: ResponseBase,
    initial: ResponseObjectT,
    readonly stored: boolean,
    private readonly history: ItemBody[],
    private readonly input: ItemBody[],
    /** history and input as the upstream gets them (engine/history.ts upstreamItems); shorter after a compaction */
    private upstream: ItemBody[],
    /** performance.now() when start() was called: time to first token counts from here */
    private readonly startedAt: number,
    /** the turn's span (src/tracing), ended when the turn is */
    private readonly span: Span | undefined = undefined,
  ) {
    this.response = initial
  }

  transcript(): ItemBody[] {
    return [...this.history, ...this.input, ...this.response.output]
  }

  get background(): boolean {
    return this.req.background === true
  }

  get id() {
    return this.base.id
  }

  get requestId() {
    return this.opts.requestId ?? null
  }

  /** Ends the turn as failed (shutdown deadline). A turn whose events() never began has nothing to stop. */
  stopForShutdown() {
    if (!this.used) this.release?.()
    else this.shutdown.abort(new TurnStop('shutdown'))
  }

  async *events(): AsyncGenerator<ResponseEvent> {
    if (this.used) throw new Error('Turn.events() is single use')
    this.used = true
    const { ids, adapter } = this.deps
    const { sealer } = this.deps
    const tenant = this.opts.tenant
    const norm = new EventNormaliser(
      ids,
      wantsSealedReasoning(this.req.include) ? (item) => sealReasoning(item, sealer, tenant) : undefined,
    )
    const abort = new AbortController()
    const onAbort = () => abort.abort(this.opts.signal?.reason)
    if (this.opts.signal?.aborted) onAbort()
    else this.opts.signal?.addEventListener('abort', onAbort, { once: true })
    const onShutdown = () => abort.abort(this.shutdown.signal.reason)
    if (this.shutdown.signal.aborted) onShutdown()
    else this.shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    // Event log, lease, progress snapshots and cancel watch of a stored turn (engine/checkpoint.ts).
    const cp = new TurnCheckpoint({
      store: this.deps.store,
      logger: this.deps.logger,
      tenant: this.opts.tenant,
      id: this.id,
      owner: this.deps.owner ?? PROCESS_OWNER,
      stored: this.stored,
      recordEvents: this.opts.recordEvents === true,
      background: this.background,
      progress: () => ({ version: norm.sequence, response: this.progress(norm), output: norm.output() }),
      // Cancelled by any process sharing the store (or ended there by recovery, or deleted): stop the model.
      onStopped: () => abort.abort(new TurnStop('cancelled')),
      // The storage failed under the turn: stop the model; the turn ends as failed (stored once the storage is back).
      onStoreFailure: (e) => abort.abort(new TurnStop('storage', e)),
    })
    const record = (e: ResponseEvent) => {
      cp.record(e)
      return e
    }
    let finished = false
    let upSpan: Span | undefined
    /** open tool-call spans by output item id */
    const toolSpans = this.span ? new Map<string, Span>() : undefined
    const metrics = this.deps.metrics
    let firstDelta = false
    metrics?.activeTurns.inc()
    try {
      yield record(norm.event({ type: 'response.created', response: this.response }))
      // The first event is stored at once: a follower (resume) finds the log as soon as the turn runs.
      await cp.afterEvent()
      if (this.background) {
        yield record(norm.event({ type: 'response.queued', response: this.response }))
        this.response = this.progress(norm)
        // Cancelled while it was queued: no model call.
        if ((await cp.markInProgress(this.response)) !== 'in_progress') abort.abort(new TurnStop('cancelled'))
      }
      cp.start()
      // A prewarm is answered with created + completed only, as Codex expects.
      if (this.req.generate !== false && !abort.signal.aborted)
        yield record(norm.event({ type: 'response.in_progress', response: this.response }))
      let outcome: UpstreamOutcome
      try {
        // Compaction first, when the input asks for it or the history is past the request's threshold.
        const compacted = this.req.generate === false ? null : await this.compactFirst(abort.signal)
        if (compacted)
          for (const out of norm.ownItem(compacted.item)) {
            yield record(out)
            await cp.afterEvent()
          }
        if (this.req.generate === false) {
          // Codex's WebSocket prewarm: the request is kept as history, no model call.
          outcome = { status: 'completed', usage: null, incomplete_details: null, error: null }
        } else if (compacted?.triggered) {
          // A compaction_trigger is answered with the compaction item alone.
          outcome = { status: 'completed', usage: compacted.usage, incomplete_details: null, error: null }
        } else {
          const upstreamBody = toUpstreamRequest(this.req, [], this.upstream, this.deps.logger, this.deps.warnedTools)
          // The upstream call's span (client kind); its traceparent goes upstream, so vLLM's spans join the trace.
          upSpan = this.span && this.deps.tracer!.start(`chat ${this.req.model}`, 'client', this.span)
          let headers: Record<string, string> | undefined = this.opts.requestId ? { 'x-request-id': this.opts.requestId } : undefined
          if (upSpan) {
            upstreamRequestAttributes(upSpan, upstreamBody, adapter.name)
            headers = { ...headers, traceparent: upSpan.traceparent() }
          }
          for await (const ev of mapToolCallEvents(
            adapter.stream(upstreamBody, { signal: abort.signal, headers }),
            toolRegistryFor(this.req),
          )) {
            if (upSpan) noteUpstreamEvent(upSpan, ev)
            for (const out of norm.accept(ev)) {
              if (this.span) noteToolCallEvent(this.deps.tracer!, this.span, out, toolSpans!)
              if (!firstDelta && isDelta(out)) {
                firstDelta = true
                metrics?.turnFirstDelta(this.req.model, (performance.now() - this.startedAt) / 1000)
              }
              yield record(out)
              await cp.afterEvent()
            }
            if (norm.outcome) break
          }
          outcome = norm.outcome ?? (abort.signal.aborted ? interrupted() : truncatedStream())
          if (!norm.outcome && !abort.signal.aborted) metrics?.recordStreamFailure(null, abort.signal)
        }
      } catch (e) {
        outcome = abort.signal.aborted ? interrupted() : this.failed(e)
        if (!abort.signal.aborted) metrics?.recordStreamFailure(e, abort.signal)
      }
      if (upSpan) {
        usageAttributes(upSpan, outcome.usage)
        upSpan.set('gen_ai.response.finish_reasons', [outcome.status])
        endSpan(upSpan, outcome.status === 'failed' ? (this.failure ?? outcome.error) : undefined)
      }
      const final = stopped(abort.signal, outcome, this)
      // Ended by a shutdown: a JSON client gets 503 (the gateway's doing), not the 502 of an upstream failure.
      if (final !== outcome && isStop(abort.signal, 'shutdown'))
        this.failure = new ApiError(503, final.error?.message ?? 'The gateway shut down.', 'server_error', 'shutting_down')
      const terminal = await this.finish(norm, final, cp)
      finished = true
      if (terminal) yield terminal
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort)
      this.shutdown.signal.removeEventListener('abort', onShutdown)
      try {
        if (!finished) {
          // The consumer stopped early (client gone): stop the model and keep what we have.
          abort.abort()
          await this.finish(norm, stopped(abort.signal, interrupted(), this), cp).catch((e) =>
            this.deps.logger.error('could not store an interrupted response', { response_id: this.id, err: String(e) }),
          )
        }
      } finally {
        metrics?.activeTurns.dec()
        this.release?.()
        if (this.span) {
          if (upSpan) endSpan(upSpan)
          for (const t of toolSpans!.values()) endSpan(t)
          const r = this.response
          this.span
            .set('gen_ai.response.model', r.model)
            .set('agentgate.response.status', r.status)
            .set('gen_ai.response.finish_reasons', [r.status])
          usageAttributes(this.span, r.usage ?? null)
          endSpan(this.span, r.status === 'failed' ? (this.failure ?? r.error) : undefined)
        }
      }
    }
  }

  /** The turn fails because the storage did: the error its edge answers with (503 storage_unavailable). */
  storageFailure(e: StoreUnavailableError): UpstreamOutcome['error'] {
    this.failure = ApiError.storageUnavailable(e, 'so this response could not be stored and has failed; try again later.')
    return { code: 'storage_unavailable', message: this.failure.message }
  }

  /**
   * Compacts the turn's whole context (history and input) before the model call — when the input ends with a
   * compaction_trigger (Codex's remote compaction), or when `context_management: [{type:"compaction",
   * compact_threshold}]` is given and the input tokens are past it — and from then on gives the upstream the user
   * messages and the summary instead. Returns the compaction item (the turn's first output item), or null.
   */
  private async compactFirst(signal: AbortSignal): Promise<{ item: ItemBody; usage: UsageT; triggered: boolean } | null> {
    const { adapter, sealer, ids, tokenizer, logger } = this.deps
    const triggered = this.input.at(-1)?.type === 'compaction_trigger'
    const threshold = compactThreshold(this.req)
    if (!triggered && threshold === null) return null
    if (!triggered) {
      const body = toUpstreamRequest(this.req, [], this.upstream)
      const tokens = (await tokenizer?.countInput(body, signal)) ?? estimateInputTokens(body)
      if (tokens <= threshold!) return null
      logger.info('compacting the history before the model call', { input_tokens: tokens, compact_threshold: threshold })
    }
    const context = [...this.history, ...this.input].filter((i) => i.type !== 'compaction_trigger')
    const request = toUpstreamRequest(this.req, [], [])
    delete request.input
    const headers = this.opts.requestId ? { 'x-request-id': this.opts.requestId } : undefined
    const compacted = await compactHistory({ adapter, sealer, ids }, this.opts.tenant, context, this.upstream, request, { signal, headers })
    const item = compacted.output.at(-1)!
    this.upstream = expandCompactions([...context, item], sealer, this.opts.tenant, () => 'input')
    return { item, usage: compacted.usage, triggered }
  }

  private failed(e: unknown): UpstreamOutcome {
    const { logger } = this.deps
    // What the client and the stored response see is worded by upstream/failure.ts; the runtime's own text goes to the log only.
    const err = streamFailure(e, null)
    this.failure = err
    logger.warn('turn failed', {
      response_id: this.id,
      status: err.status,
      code: err.errorCode,
      message: err.message,
      ...(e instanceof ApiError ? {} : { err: String(e) }),
    })
    return {
      status: 'failed',
      usage: null,
      incomplete_details: null,
      error: { code: err.errorCode ?? 'server_error', message: err.message },
    }
  }

  /** The response while it runs: in_progress, with the output so far. */
  private progress(norm: EventNormaliser): ResponseObjectT {
    return responseObject(this.base, {
      status: 'in_progress',
      output: norm.output(),
      usage: null,
      error: null,
      incomplete_details: null,
      completedAtMs: null,
    })
  }

  /**
   * Builds the final object and stores it with its items and last events — for a conversation turn, together with
   * the items it adds to the conversation and the release of the conversation — in one transaction. Returns the
   * terminal event; a cancelled turn has none (the Responses stream defines no such event), its stream just ends.
   */
  private async finish(norm: EventNormaliser, outcome: TurnOutcome, cp: TurnCheckpoint): Promise<ResponseEvent | null> {
    const { store, clock } = this.deps
    if (outcome.status === 'failed' && !this.failure)
      this.failure = new ApiError(
        502,
        outcome.error?.message ?? 'upstream failed',
        'upstream_error',
        outcome.error?.code ?? 'upstream_error',
      )
    let output = norm.output()
    const now = clock()
    const build = (status: ResponseStatus, incomplete_details: { reason: string } | null) => (items: ItemBody[]) =>
      responseObject(this.base, {
        status,
        output: items,
        usage: outcome.usage,
        error: outcome.error,
        incomplete_details,
        completedAtMs: status === 'completed' ? now : null,
      })
    this.response = build(outcome.status, outcome.incomplete_details)(output)
    if (this.stored) {
      // --max-stored-response-bytes: whole output items are left out from the end until the Response fits, so the
      // stored object, its output items and the terminal event agree. A turn that would have completed (or that the
      // model cut short) ends incomplete with our reason; one that failed, was cancelled or lost its client keeps that.
      const max = this.deps.limits?.maxStoredResponseBytes ?? NO_LIMITS.maxStoredResponseBytes
      const cuttable =
        outcome.status === 'completed' || (outcome.status === 'incomplete' && outcome.incomplete_details?.reason !== 'client_disconnected')
      const fit = fitOutput(
        cuttable ? build('incomplete', { reason: STORED_SIZE_REASON }) : build(outcome.status, outcome.incomplete_details),
        output,
        max,
      )
      if (fit.cut) {
        this.deps.logger.warn('response output cut to fit --max-stored-response-bytes', {
          response_id: this.id,
          items: output.length,
          kept: fit.output.length,
          max_bytes: max,
        })
        output = fit.output
        this.response = fit.response
        if (cuttable) outcome = { ...outcome, status: 'incomplete', incomplete_details: { reason: STORED_SIZE_REASON } }
      }
    }
    let terminal: TerminalEvent | null =
      outcome.status === 'cancelled' ? null : norm.event({ type: TERMINAL_TYPE[outcome.status], response: this.response })
    const unwritten = await cp.stop()
    if (this.stored) {
      // Stored before the client sees the terminal event, so a chained request right after it resolves.
      const conversationItems =
        this.base.conversation && appendsToConversation(outcome.status, outcome.incomplete_details)
          ? [...this.input, ...output].map(conversationItem)
          : undefined
      let events = this.opts.recordEvents ? [...unwritten, ...(terminal ? [terminal] : [])] : []
      let patch = {
        status: outcome.status,
        response: this.response,
        error: outcome.error,
        completedAt: outcome.status === 'completed' ? now : null,
      }
      const s = childSpan(this.deps.tracer, this.span, 'finishResponse')
      try {
        const result = await store.finishResponse(this.opts.tenant, this.id, patch, output, { events, conversationItems })
        endSpan(s)
        if (result.status !== null && result.status !== outcome.status)
          this.deps.logger.info('turn ended after its response was ended elsewhere', {
            response_id: this.id,
            status: outcome.status,
            stored_status: result.status,
          })
        else if (conversationItems && !result.appended)
          this.deps.logger.warn('nothing appended to the conversation: it was deleted, or this turn lost it (lease expired)', {
            response_id: this.id,
            conversation_id: this.base.conversation?.id,
          })
      } catch (e) {
        endSpan(s, e)
        if (!(e instanceof StoreUnavailableError)) throw e
        this.deps.logger.error('could not store the end of a turn, the storage is failing; retrying until it takes writes', {
          response_id: this.id,
          reason: e.reason,
        })
        // The end cannot be stored now. A turn that was going to end otherwise fails instead — what the client is
        // told is what gets stored — and that end is written as soon as the storage takes writes again.
        if (outcome.status !== 'failed' && outcome.status !== 'cancelled') {
          outcome = { ...storageFailed(e, this), usage: outcome.usage }
          this.response = build('failed', null)(output)
          terminal = { ...terminal!, type: 'response.failed', response: this.response }
          events = this.opts.recordEvents ? [...unwritten, terminal] : []
          patch = { status: 'failed', response: this.response, error: outcome.error, completedAt: null }
        }
        const { tenant } = this.opts
        this.deps.unstored!.retry(this.id, events, () => store.finishResponse(tenant, this.id, patch, output, { events }))
      }
    }
    const status = outcome.status
    this.deps.logger.debug('turn finished', {
      response_id: this.id,
      status,
      stored: this.stored,
      previous_response_id: this.base.previous_response_id,
    })
    this.deps.metrics?.turnFinished(this.req.model, status, outcome.usage)
    return terminal
  }
}

/** The terminal event of each end that has one. */
const TERMINAL_TYPE = { completed: 'response.completed', incomplete: 'response.incomplete', failed: 'response.failed' } as const

/** How a turn ended: as the upstream said, or cancelled. */
type TurnOutcome = Omit<UpstreamOutcome, 'status'> & { status: UpstreamOutcome['status'] | 'cancelled' }

/** An interruption caused by the gateway itself (cancel, shutdown, failing storage) rather than by the client going away. */
function stopped(signal: AbortSignal, outcome: UpstreamOutcome, turn: RunningTurn): TurnOutcome {
  const reason = signal.reason
  if (!(reason instanceof TurnStop) || outcome.incomplete_details?.reason !== 'client_disconnected') return outcome
  if (reason.kind === 'cancelled') return { status: 'cancelled', usage: null, incomplete_details: null, error: null }
  if (reason.kind === 'storage') return storageFailed(reason.error!, turn)
  return {
    status: 'failed',
    usage: null,
    incomplete_details: null,
    error: { code: 'server_error', message: 'The gateway shut down while this response was running.' },
  }
}

function isStop(signal: AbortSignal, kind: TurnStop['kind']): boolean {
  return signal.reason instanceof TurnStop && signal.reason.kind === kind
}

function storageFailed(e: StoreUnavailableError, turn: RunningTurn): UpstreamOutcome {
  return { status: 'failed', usage: null, incomplete_details: null, error: turn.storageFailure(e) }
}

function interrupted(): UpstreamOutcome {
  return { status: 'incomplete', usage: null, incomplete_details: { reason: 'client_disconnected' }, error: null }
}

function truncatedStream(): UpstreamOutcome {
  return {
    status: 'failed',
    usage: null,
    incomplete_details: null,
    error: { code: 'upstream_error', message: 'upstream error: the model server closed the stream before the response was complete' },
  }
}
