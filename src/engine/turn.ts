// The turn engine: the one path every turn takes, whatever edge it came from (HTTP JSON, SSE,
// WebSocket, background). start() checks the request and rehydrates history (errors here are
// plain 4xx); the returned Turn's events() then calls the upstream, normalises its stream, persists
// the response and yields the gateway's events. Consumers only decide how to deliver them.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { Logger } from '../log'
import type { CreateResponseRequest, ResponseEvent, ResponseObjectT } from '../schema/responses'
import type { ItemBody, ResponseStatus, Store } from '../store/types'
import type { UpstreamAdapter } from '../upstream/adapter'
import { toInputItems } from './input'
import { EventNormaliser, type UpstreamOutcome } from './normalise'
import { responseBase, responseObject, type ResponseBase } from './response-object'

export interface EngineDeps {
  store: Store
  adapter: UpstreamAdapter
  clock: () => number
  ids: IdSource
  logger: Logger
}

export interface TurnOptions {
  tenant: string
  /** store even when the request says store:false (WebSocket mode, so Codex chains resolve) */
  forceStore?: boolean
  /** keep the event log of this turn (streamed turns, for resume) */
  recordEvents?: boolean
  /** aborting stops the upstream call; the response is kept as incomplete */
  signal?: AbortSignal
  /** extra headers for the upstream call (request id correlation) */
  upstreamHeaders?: Record<string, string>
  /**
   * Chains kept outside the store (a WebSocket's unstored turns): the full item list of a response
   * by id. Consulted before the store when resolving previous_response_id.
   */
  localChains?: ReadonlyMap<string, ItemBody[]>
}

export interface Turn {
  readonly id: string
  readonly stored: boolean
  /** The Response as it stands: in_progress until events() has finished, then final. */
  readonly response: ResponseObjectT
  /** Why the turn failed, when it failed: the error an HTTP edge answers with. */
  readonly failure: ApiError | null
  /** Runs the turn. Single use. Stopping the iteration early ends the turn as incomplete. */
  events(): AsyncGenerator<ResponseEvent>
  /** History, input and output of this turn, in order: what a later turn chained on it sees. */
  transcript(): ItemBody[]
}

/** Events persisted per batch while a stream runs (and the rest at the end). */
const EVENT_BATCH = 64

/** Request fields that are the gateway's business and never go upstream. */
const GATEWAY_ONLY = ['previous_response_id', 'conversation', 'store', 'background', 'generate', 'client_metadata', 'stream', 'stream_options', 'metadata'] as const

/** The stateless request the upstream sees: full input, store:false, no chain references. */
export function toUpstreamRequest(req: CreateResponseRequest, history: ItemBody[], input: ItemBody[]): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req }
  for (const k of GATEWAY_ONLY) delete body[k]
  body.input = [...history, ...input]
  body.store = false
  return body
}

export function createTurnEngine(deps: EngineDeps) {
  const { store, adapter, clock, ids, logger } = deps

  async function start(req: CreateResponseRequest, opts: TurnOptions): Promise<Turn> {
    if (req.previous_response_id && req.conversation)
      throw ApiError.badRequest("Mutually exclusive parameters: provide either 'previous_response_id' or 'conversation', not both.", 'conversation', 'mutually_exclusive_parameters')
    if (req.background) throw ApiError.badRequest('Background responses are not supported by this gateway yet.', 'background', 'unsupported_parameter')
    if (req.conversation) {
      const convId = typeof req.conversation === 'string' ? req.conversation : req.conversation.id
      if (!(await store.getConversation(opts.tenant, convId))) throw ApiError.notFound(`Conversation with id '${convId}' not found.`, 'conversation_not_found', 'conversation')
      throw ApiError.badRequest('Responses in conversations are not supported by this gateway yet.', 'conversation', 'unsupported_parameter')
    }
    const stored = opts.forceStore === true || req.store !== false
    let history: ItemBody[] = []
    if (req.previous_response_id) {
      const local = opts.localChains?.get(req.previous_response_id)
      const chain = local ? { items: local } : await store.loadChain(opts.tenant, req.previous_response_id)
      if (!chain) throw ApiError.notFound(`Previous response with id '${req.previous_response_id}' not found.`, 'previous_response_not_found', 'previous_response_id')
      history = chain.items
    }
    const input = toInputItems(req.input, ids)
    const id = ids('resp')
    const createdAt = clock()
    const base = responseBase(req, id, createdAt, stored, null)
    const initial = responseObject(base, { status: 'in_progress', output: [], usage: null, error: null, incomplete_details: null, completedAtMs: null })
    if (stored) {
      await store.createResponse(
        {
          id, tenant: opts.tenant, status: 'in_progress', model: req.model, request: req as Record<string, unknown>, response: initial, error: null,
          previousResponseId: req.previous_response_id ?? null, conversationId: null, background: false, createdAt, updatedAt: createdAt, completedAt: null,
        },
        input,
      )
    }
    return new RunningTurn(deps, req, opts, base, initial, stored, history, input)
  }

  return { start }
}

export type TurnEngine = ReturnType<typeof createTurnEngine>

// A class so the turn's state (current response, failure) is readable by the edge after the run.
class RunningTurn implements Turn {
  response: ResponseObjectT
  failure: ApiError | null = null
  private used = false

  constructor(
    private readonly deps: EngineDeps,
    private readonly req: CreateResponseRequest,
    private readonly opts: TurnOptions,
    private readonly base: ResponseBase,
    initial: ResponseObjectT,
    readonly stored: boolean,
    private readonly history: ItemBody[],
    private readonly input: ItemBody[],
  ) {
    this.response = initial
  }

  transcript(): ItemBody[] {
    return [...this.history, ...this.input, ...(this.response.output as ItemBody[])]
  }

  get id() {
    return this.base.id
  }

  async *events(): AsyncGenerator<ResponseEvent> {
    if (this.used) throw new Error('Turn.events() is single use')
    this.used = true
    const { ids, adapter } = this.deps
    const norm = new EventNormaliser(ids)
    const abort = new AbortController()
    const onAbort = () => abort.abort(this.opts.signal?.reason)
    if (this.opts.signal?.aborted) onAbort()
    else this.opts.signal?.addEventListener('abort', onAbort, { once: true })
    const log: ResponseEvent[] = []
    const record = (e: ResponseEvent) => {
      if (this.stored && this.opts.recordEvents) log.push(e)
      return e
    }
    const flush = async () => {
      if (log.length) await this.deps.store.appendEvents(this.id, log.splice(0))
    }
    let finished = false
    try {
      yield record(norm.event('response.created', { response: this.response }))
      // A prewarm is answered with created + completed only, as Codex expects.
      if (this.req.generate !== false) yield record(norm.event('response.in_progress', { response: this.response }))
      let outcome: UpstreamOutcome
      try {
        if (this.req.generate === false) {
          // Codex's WebSocket prewarm: the request is kept as history, no model call.
          outcome = { status: 'completed', usage: null, incomplete_details: null, error: null }
        } else {
          for await (const ev of adapter.stream(toUpstreamRequest(this.req, this.history, this.input), { signal: abort.signal, headers: this.opts.upstreamHeaders })) {
            for (const out of norm.accept(ev)) {
              yield record(out as ResponseEvent)
              if (log.length >= EVENT_BATCH) await flush()
            }
            if (norm.outcome) break
          }
          outcome = norm.outcome ?? (abort.signal.aborted ? interrupted() : truncatedStream())
        }
      } catch (e) {
        outcome = abort.signal.aborted ? interrupted() : this.failed(e)
      }
      const terminal = await this.finish(norm, outcome, log)
      finished = true
      yield terminal
    } finally {
      this.opts.signal?.removeEventListener('abort', onAbort)
      if (!finished) {
        // The consumer stopped early (client gone): stop the model and keep what we have.
        abort.abort()
        await this.finish(norm, interrupted(), log).catch((e) => this.deps.logger.error('could not store an interrupted response', { response_id: this.id, err: String(e) }))
      }
    }
  }

  private failed(e: unknown): UpstreamOutcome {
    const { logger } = this.deps
    const err = e instanceof ApiError ? e : ApiError.badGateway(`upstream stream failed: ${(e as Error)?.message ?? e}`, 'upstream_error')
    this.failure = err
    logger.warn('turn failed', { response_id: this.id, status: err.status, code: err.errorCode, message: err.message })
    return { status: 'failed', usage: null, incomplete_details: null, error: { code: err.errorCode ?? 'server_error', message: err.message } }
  }

  /** Builds the final object, stores it with its items and events, and returns the terminal event. */
  private async finish(norm: EventNormaliser, outcome: UpstreamOutcome, log: ResponseEvent[]): Promise<ResponseEvent> {
    const { store, clock } = this.deps
    if (outcome.status === 'failed' && !this.failure) this.failure = new ApiError(502, outcome.error?.message ?? 'upstream failed', 'upstream_error', outcome.error?.code ?? 'upstream_error')
    const output = norm.output()
    const status: ResponseStatus = outcome.status
    const now = clock()
    this.response = responseObject(this.base, {
      status,
      output,
      usage: outcome.usage,
      error: outcome.error,
      incomplete_details: outcome.incomplete_details,
      completedAtMs: status === 'completed' ? now : null,
    })
    const terminal = norm.event(`response.${status}`, { response: this.response }) as ResponseEvent
    if (this.stored) {
      // Stored before the client sees the terminal event, so a chained request right after it resolves.
      await store.updateResponse(this.opts.tenant, this.id, { status, response: this.response, error: outcome.error, completedAt: status === 'completed' ? now : null }, output)
      if (this.opts.recordEvents) await store.appendEvents(this.id, [...log.splice(0), terminal])
    }
    this.deps.logger.debug('turn finished', { response_id: this.id, status, stored: this.stored, previous_response_id: this.base.previous_response_id })
    return terminal
  }
}

function interrupted(): UpstreamOutcome {
  return { status: 'incomplete', usage: null, incomplete_details: { reason: 'client_disconnected' }, error: null }
}

function truncatedStream(): UpstreamOutcome {
  return { status: 'failed', usage: null, incomplete_details: null, error: { code: 'upstream_error', message: 'upstream error: the model server closed the stream before the response was complete' } }
}
