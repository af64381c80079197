// A running turn (the Turn start() hands back): batches() calls the upstream — after a compaction, when one is due —,
// normalises its stream, checkpoints it, and ends the turn (engine/turn-finish.ts) however it stops. A turn with
// gateway-run tools (MCP, web search) takes several model rounds: between them the gateway runs the calls the model
// made (engine/tool-rounds.ts), all in this one stream of events.
import { ApiError } from '../errors'
import type { ResponseEvent } from '../schema/events'
import type { CreateResponseRequest, ResponseObjectT, UsageT } from '../schema/responses'
import type { StoreUnavailableError } from '../store/errors'
import { settledChain } from '../store/settled-items'
import type { ItemBody, ResponseRecord } from '../store/types'
import { mapBatch, toolCallMapping, toolRegistryFor } from '../tools'
import type { GatewayTools } from '../tools/gateway'
import { gatewayCallMapping } from '../tools/gateway-events'
import { needsApproval } from '../mcp/policy'
import { noteToolCallEvent, noteUpstreamEvent, upstreamRequestAttributes, usageAttributes } from '../tracing/genai'
import { endSpan, type Span } from '../tracing/span'
import { streamFailure } from '../upstream/failure'
import { estimateInputTokens } from '../upstream/tokenize'
import { TurnCheckpoint } from './checkpoint'
import { compactHistory, compactThreshold, expandCompactions } from './compaction'
import { PROCESS_OWNER } from './lease'
import { EventNormaliser, isDelta, type UpstreamOutcome } from './normalise'
import { addUsage, responseObject, type ResponseBase } from './response-object'
import { openSealedReasoning, sealReasoning, wantsSealedReasoning } from './sealed-items'
import { eventForClient } from './search-sources'
import { type Approval, ToolRunner } from './tool-rounds'
import { type FinishingTurn, finishTurn } from './turn-finish'
import { endsTurn, interrupted, isStop, stopped, truncatedStream } from './turn-outcome'
import { type BatchSink, type EngineDeps, type Turn, type TurnEvent, type TurnOptions, TurnStop } from './turn-types'
import type { BatchStep } from '../upstream/adapter'
import { DELTA_RUN } from '../upstream/delta-run'
import { type GatewayRound, toUpstreamRequest } from './upstream-request'

/** What a model round's step yields for a batch its sink took: nothing (never written to). */
const NOTHING: TurnEvent[] = []

// A class so the turn's state (current response, failure) is readable by the edge after the run.
// What the end of the turn reads (deps, request, options, base, input, span) is not private: turn-finish.ts ends it.
export class RunningTurn implements Turn, FinishingTurn {
  response: ResponseObjectT
  failure: ApiError | null = null
  private used = false
  /** A turn stored whole at its end (turn-start.ts): its record, inserted then; null when its row exists already. */
  storeAtEnd: ResponseRecord | null = null
  /** How many of the turn's first events its row was stored with (turn-start.ts): they are not logged again. */
  logged = 0
  /**
   * The controller of the running turn's model call (batches() sets it), which a shutdown whose grace period ran out
   * aborts: the turn ends as failed, with its terminal event. batches()' own controller, not one more per turn.
   */
  private stop: AbortController | null = null
  /** the span of the model call running now, if any (ended when the round ends, or with the turn) */
  private upSpan: Span | undefined
  /** open tool-call spans by output item id */
  private toolSpans: Map<string, Span> | undefined
  private firstDelta = false

  constructor(
    readonly deps: EngineDeps,
    readonly req: CreateResponseRequest,
    readonly opts: TurnOptions,
    readonly base: ResponseBase,
    initial: ResponseObjectT,
    readonly stored: boolean,
    private readonly history: ItemBody[],
    readonly input: ItemBody[],
    /** history and input as the upstream gets them (engine/history.ts upstreamItems); shorter after a compaction */
    private upstream: ItemBody[],
    /** performance.now() when start() was called: time to first token counts from here */
    private readonly startedAt: number,
    /** the turn's span (src/tracing), ended when the turn is */
    readonly span: Span | undefined = undefined,
    /** the tools the gateway runs itself in this turn (engine/tool-rounds.ts), or null: one model call */
    private readonly gateway: GatewayTools | null = null,
    /** the input's answers to earlier approval requests */
    private readonly approvals: Approval[] = [],
  ) {
    this.response = initial
  }

  transcript(): ItemBody[] {
    return settledChain(this.history, this.input, this.response.output)
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

  /** Ends the turn as failed (shutdown deadline). A turn whose batches() never began has nothing to stop. */
  stopForShutdown() {
    if (!this.used) this.deps.drain?.release(this)
    else this.stop?.abort(new TurnStop('shutdown'))
  }

  /**
   * Runs the turn: its events in order, in batches — the events one read of the upstream's stream brought travel
   * together (through the engine and to the client), so a fast upstream costs an await per chunk, not per event.
   */
  async *batches(sink?: BatchSink<TurnEvent>): AsyncGenerator<TurnEvent[]> {
    if (this.used) throw new Error('Turn.batches() is single use')
    this.used = true
    const { ids } = this.deps
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
    this.stop = abort
    // Event log, lease, progress snapshots and cancel watch of a stored turn (engine/checkpoint.ts).
    const cp = new TurnCheckpoint({
      store: this.deps.store,
      logger: this.deps.logger,
      tenant: this.opts.tenant,
      id: this.id,
      owner: this.deps.owner ?? PROCESS_OWNER,
      // a turn stored at its end has no row to keep up to date while it runs
      stored: this.stored && this.storeAtEnd === null,
      recordEvents: this.opts.recordEvents === true,
      atEnd: this.storeAtEnd !== null,
      logStarted: this.logged > 0,
      background: this.background,
      progress: () => ({ version: norm.sequence, response: this.progress(norm), output: norm.output() }),
      // Cancelled by any process sharing the store (or ended there by recovery, or deleted): stop the model.
      onStopped: () => abort.abort(new TurnStop('cancelled')),
      // The storage failed under the turn: stop the model; the turn ends as failed (stored once the storage is back).
      onStoreFailure: (e) => abort.abort(new TurnStop('storage', e)),
    })
    // The log keeps each event whole; the client gets it under its include (search sources only when asked for).
    const include = this.req.include
    const record = <E extends TurnEvent>(e: E): E => {
      cp.record(e)
      // a run of text deltas is the same for every client
      return e.type === DELTA_RUN ? e : (eventForClient(e as ResponseEvent, include) as E)
    }
    let finished = false
    this.toolSpans = this.span ? new Map<string, Span>() : undefined
    const metrics = this.deps.metrics
    metrics?.activeTurns.inc()
    try {
      const created = norm.event({ type: 'response.created', response: this.response })
      yield [this.logged > 0 ? eventForClient(created, include) : record(created)]
      // The first event is stored at once (unless it was with the row): a follower (resume) finds the log as soon as
      // the turn runs.
      await cp.afterEvent()
      if (this.background) {
        yield [record(norm.event({ type: 'response.queued', response: this.response }))]
        this.response = this.progress(norm)
        // Cancelled while it was queued: no model call.
        if ((await cp.markInProgress(this.response)) !== 'in_progress') abort.abort(new TurnStop('cancelled'))
      }
      cp.start()
      // A prewarm is answered with created + completed only, as Codex expects.
      if (this.req.generate !== false && !abort.signal.aborted)
        yield [record(norm.event({ type: 'response.in_progress', response: this.response }))]
      let outcome: UpstreamOutcome
      try {
        // Compaction first, when the input asks for it or the history is past the request's threshold.
        const compacted = this.req.generate === false ? null : await this.compactFirst(abort.signal)
        if (compacted) {
          yield norm.ownItem(compacted.item).map(record)
          await cp.afterEvent()
        }
        if (this.req.generate === false) {
          // Codex's WebSocket prewarm: the request is kept as history, no model call.
          outcome = { status: 'completed', usage: null, incomplete_details: null, error: null }
        } else if (compacted?.triggered) {
          // A compaction_trigger is answered with the compaction item alone.
          outcome = { status: 'completed', usage: compacted.usage, incomplete_details: null, error: null }
        } else if (this.gateway) {
          outcome = yield* this.rounds(this.gateway, norm, abort.signal, cp, record, sink)
        } else {
          // Without gateway-run tools a turn is one model round, its events delegated to directly: a generator layer
          // around it (rounds) cost every upstream chunk one more hop through the async generators (~0.6 µs a token).
          const round = this.modelRound(norm, abort.signal, cp, record, undefined, sink)
          yield* round.events
          outcome = round.outcome()
        }
      } catch (e) {
        outcome = abort.signal.aborted ? interrupted() : this.failed(e)
        if (!abort.signal.aborted) metrics?.recordStreamFailure(e, abort.signal)
        this.endUpSpan(outcome)
      }
      const final = stopped(abort.signal, outcome, this)
      // Ended by a shutdown: a JSON client gets 503 (the gateway's doing), not the 502 of an upstream failure.
      if (final !== outcome && isStop(abort.signal, 'shutdown'))
        this.failure = new ApiError(503, final.error?.message ?? 'The gateway shut down.', 'server_error', 'shutting_down')
      const terminal = await finishTurn(this, norm, final, cp)
      finished = true
      if (terminal) yield [eventForClient(terminal, include)]
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort)
      this.stop = null
      try {
        if (!finished) {
          // The consumer stopped early (client gone): stop the model and keep what we have.
          abort.abort()
          await finishTurn(this, norm, stopped(abort.signal, interrupted(), this), cp).catch((e) =>
            this.deps.logger.error('could not store an interrupted response', { response_id: this.id, err: String(e) }),
          )
        }
      } finally {
        metrics?.activeTurns.dec()
        // ended (its end stored): the drain no longer waits for it
        this.deps.drain?.release(this)
        if (this.span) {
          if (this.upSpan) endSpan(this.upSpan)
          for (const t of this.toolSpans!.values()) endSpan(t)
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

  /**
   * The model rounds of a turn with gateway-run tools: one model call, and while the model calls tools the gateway runs
   * (and none of the client's), the calls run and the model is called again with their outputs — up to
   * --max-tool-rounds rounds of calls, then the turn ends incomplete (max_tool_rounds). One stream of events, usage
   * summed over the rounds.
   */
  private async *rounds(
    tools: GatewayTools,
    norm: EventNormaliser,
    signal: AbortSignal,
    cp: TurnCheckpoint,
    record: <E extends TurnEvent>(e: E) => E,
    sink: BatchSink<TurnEvent> | undefined,
  ): AsyncGenerator<TurnEvent[], UpstreamOutcome> {
    const { span, toolSpans } = this
    const tracer = this.deps.tracer
    // The gateway's own tool events come one at a time (each as the call it reports progresses).
    const emit = async function* (events: AsyncIterable<ResponseEvent>) {
      for await (const e of events) {
        if (span) noteToolCallEvent(tracer!, span, e, toolSpans!)
        yield [record(e)]
        const written = cp.afterEvent()
        if (written) await written
      }
    }
    const runner = new ToolRunner(this.deps, tools, this.req, signal)
    yield* emit(runner.listTools(norm, [...this.history, ...this.input]))
    yield* emit(runner.runApproved(norm, this.approvals))
    if (signal.aborted) return interrupted()
    let usage: UsageT | null = null
    for (let round = 0; ; round++) {
      if (round > 0) norm.nextRound()
      const from = norm.length
      const gateway: GatewayRound = { tools: runner.gateway, first: round === 0, offered: runner.offered }
      const call = this.modelRound(norm, signal, cp, record, gateway, sink)
      yield* call.events
      const said = call.outcome()
      usage = addUsage(usage, said.usage)
      const outcome = { ...said, usage }
      const held = norm.heldItems(from)
      if (outcome.status !== 'completed') {
        // Calls of a round the model did not finish (cut off, failed) are not run: shown failed, the turn ends as it said.
        if (held.length) yield* emit(runner.notRun(norm, held, `This call was not run: the model's response ended ${outcome.status}.`))
        return outcome
      }
      if (!held.length) return outcome
      if (runner.rounds >= runner.bounds.maxRounds) {
        const why = `This call was not run: the response reached its limit of ${runner.bounds.maxRounds} rounds of tool calls.`
        yield* emit(runner.notRun(norm, held, why))
        this.deps.logger.info('turn stopped at --max-tool-rounds', { max_tool_rounds: runner.bounds.maxRounds })
        return { ...outcome, status: 'incomplete', incomplete_details: { reason: 'max_tool_rounds' } }
      }
      runner.rounds++
      yield* emit(runner.runCalls(norm, held))
      if (signal.aborted) return { ...interrupted(), usage }
      // A call of the client's, or one waiting for its approval: the turn returns it, with the calls the gateway ran.
      if (norm.output().slice(from).some(endsTurn)) return outcome
    }
  }

  /**
   * One model call: its stream mapped (client tools, gateway tools), normalised and recorded in the adapter's own loop
   * (BatchStep: a generator of the engine's around the adapter's cost every upstream chunk one more hop, ~0.5 µs a
   * token) — and, given a sink, written to it there too (the generators and the edge's loop skipped for each batch);
   * `outcome()`, once its events are consumed, says how it ended.
   */
  private modelRound(
    norm: EventNormaliser,
    signal: AbortSignal,
    cp: TurnCheckpoint,
    record: <E extends TurnEvent>(e: E) => E,
    gateway: GatewayRound | undefined,
    sink: BatchSink<TurnEvent> | undefined,
  ): { events: AsyncIterable<TurnEvent[]>; outcome(): UpstreamOutcome } {
    const { adapter, metrics } = this.deps
    // What the turn made so far goes back with its input: earlier rounds' calls and outputs, calls the client approved;
    // sealed reasoning goes back readable. (A compaction item made first is already expanded in this.upstream.)
    const made =
      gateway && norm.length
        ? openSealedReasoning(
            norm.output().filter((i) => i.type !== 'compaction'),
            this.deps.sealer,
            this.opts.tenant,
            'stored',
          )
        : []
    const upstreamBody = toUpstreamRequest(this.req, this.upstream, made, this.deps.logger, this.deps.warnedTools, gateway)
    // The upstream call's span (client kind); its traceparent goes upstream, so vLLM's spans join the trace.
    const upSpan = (this.upSpan = this.span && this.deps.tracer!.start(`chat ${this.req.model}`, 'client', this.span))
    let headers: Record<string, string> | undefined = this.opts.requestId ? { 'x-request-id': this.opts.requestId } : undefined
    if (upSpan) {
      upstreamRequestAttributes(upSpan, upstreamBody, adapter.name)
      headers = { ...headers, traceparent: upSpan.traceparent() }
    }
    const whole = this.opts.answerOnly === true && !this.background
    // The calls of the client's tool types, then those the gateway runs, mapped event by event here (null: nothing to
    // map): a generator layer around the stream per mapping cost every upstream chunk a hop of its own.
    const toolCalls = toolCallMapping(toolRegistryFor(this.req))
    const gatewayCalls = gatewayCallMapping(gateway?.tools ?? null, needsApproval)
    // A batch of the upstream's events in, a batch of the gateway's out: one yield (and one look at the log) per batch;
    // the stream ends at the upstream's terminal event (events after it in its batch are not looked at). With a sink
    // the batch is written to it here instead of yielded, and its push-back is waited for with the log's write.
    let written: Promise<unknown> | undefined
    const step: BatchStep<TurnEvent> = {
      map: (upstream) => {
        let batch = upstream
        if (toolCalls) batch = mapBatch(batch, toolCalls)
        if (gatewayCalls) batch = mapBatch(batch, gatewayCalls)
        const events: TurnEvent[] = []
        for (const ev of batch) {
          if (upSpan && ev.type !== DELTA_RUN) noteUpstreamEvent(upSpan, ev)
          // the gateway's events for it appended to the batch's, then each looked at and recorded in place
          const from = events.length
          norm.acceptInto(ev, events)
          for (let i = from; i < events.length; i++) {
            const out = events[i]!
            if (this.span && out.type !== DELTA_RUN) noteToolCallEvent(this.deps.tracer!, this.span, out, this.toolSpans!)
            // A whole answer has no first token to time: its text comes with the rest of it.
            if (!this.firstDelta && !whole && isDelta(out)) {
              this.firstDelta = true
              metrics?.turnFirstDelta(this.req.model, (performance.now() - this.startedAt) / 1000)
            }
            events[i] = record(out)
          }
          if (norm.outcome) break
        }
        if (sink === undefined || events.length === 0) return events
        written = sink.write(events)
        return NOTHING
      },
      after: () => {
        const logged = cp.afterEvent()
        const pushedBack = written
        if (pushedBack === undefined) return logged
        written = undefined
        return logged === undefined ? pushedBack : Promise.all([pushedBack, logged])
      },
      done: () => norm.outcome !== null,
    }
    return {
      events: adapter.stream(upstreamBody, { signal, headers, whole, step }),
      outcome: () => {
        const outcome = norm.outcome ?? (signal.aborted ? interrupted() : truncatedStream())
        if (!norm.outcome && !signal.aborted) metrics?.recordStreamFailure(null, signal)
        this.endUpSpan(outcome)
        return outcome
      },
    }
  }

  private endUpSpan(outcome: UpstreamOutcome) {
    const upSpan = this.upSpan
    if (!upSpan) return
    this.upSpan = undefined
    usageAttributes(upSpan, outcome.usage)
    upSpan.set('gen_ai.response.finish_reasons', [outcome.status])
    endSpan(upSpan, outcome.status === 'failed' ? (this.failure ?? outcome.error) : undefined)
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
}
