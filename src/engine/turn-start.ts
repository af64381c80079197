// Starting a turn: the request checked and its history rehydrated and fitted to the context window (errors here are
// plain 4xx, before anything is stored), then the response row (or a conversation's turn lock) written.
import { ApiError } from '../errors'
import { withFields } from '../log'
import type { EventOf } from '../schema/events'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody, ResponseRecord, Store } from '../store/types'
import { toolRegistryFor } from '../tools'
import { turnAttributes } from '../tracing/genai'
import { childSpan, endSpan, type Span } from '../tracing/span'
import { compactThreshold } from './compaction'
import { conversationLocked, conversationNotFound } from './conversation'
import { chainHistory, checkOneHistory, conversationIdOf, type HistoryDeps, requestInput, upstreamItems } from './history'
import { newLease, PROCESS_OWNER } from './lease'
import { historyTooLong, NO_LIMITS } from './limits'
import { responseBase, responseObject } from './response-object'
import { RunningTurn } from './running-turn'
import { approvalsIn, planGatewayTools } from './tool-rounds'
import { estimateItems, fitContextWindow, SHORT_INPUT_TOKENS } from './truncation'
import type { EngineDeps, Turn, TurnOptions } from './turn-types'

/** The engine's start(): `deps` as createTurnEngine completed them, `warnedTools` its set of hosted tools warned about. */
export function turnStarter(deps: EngineDeps, historyDeps: HistoryDeps, warnedTools: Set<string>) {
  const { store, clock, ids, logger } = deps
  const { maxHistoryItems } = deps.limits ?? NO_LIMITS

  /**
   * The upstream items fitted to the model's context window (engine/truncation.ts): 400 context_length_exceeded, or
   * with truncation:"auto" the oldest items dropped. A turn that compacts first is left to its compaction. Short
   * inputs (most turns) fit any model: they are answered here, without a promise of their own.
   */
  function fit(req: CreateResponseRequest, items: ItemBody[], opts: TurnOptions): ItemBody[] | Promise<ItemBody[]> {
    if (req.generate === false || compactThreshold(req) !== null || items.length === 0) return items
    if (Array.isArray(req.input) && (req.input.at(-1) as { type?: string } | undefined)?.type === 'compaction_trigger') return items
    const estimate = estimateItems(req, items)
    return estimate < SHORT_INPUT_TOKENS ? items : fitLong(req, items, estimate, opts)
  }

  async function fitLong(req: CreateResponseRequest, items: ItemBody[], estimate: number, opts: TurnOptions): Promise<ItemBody[]> {
    const fitted = await fitContextWindow({ tokenizer: deps.tokenizer, windows: deps.windows }, req, items, estimate, opts.signal)
    if (fitted.dropped)
      logger.info('truncation dropped the oldest items to fit the context window', {
        request_id: opts.requestId,
        dropped: fitted.dropped,
        input_tokens: fitted.tokens,
      })
    return fitted.items
  }

  async function start(req: CreateResponseRequest, opts: TurnOptions): Promise<Turn> {
    // The turn's span covers start() and batches(); it ends with the turn (or here, when start() refuses it).
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
    const registry = toolRegistryFor(req) // 400 for empty or duplicate tool names, before anything is stored
    // MCP servers outside the allowlist, unknown labels: 400 before anything is stored.
    const gateway = planGatewayTools(req, deps, registry)
    // Unknown item references and sealed content that does not open are a 400 before anything is stored.
    const input = await requestInput(historyDeps, opts.tenant, req.input)
    // Approval answers naming no request: 400 (a conversation's history is known only below, under its lock).
    let approvals = conversationId ? [] : approvalsIn(history, input)
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
    let storeAtEnd: ResponseRecord | null = null
    let firstEvents: EventOf<'response.created'>[] = NO_FIRST_EVENTS
    // A JSON turn (not streamed, not in the background, not in a conversation) is seen by nobody before it ends: its
    // id reaches the client with the answer. So is a turn stored only because its socket keeps every turn (WebSocket
    // mode, the client said store:false, as Codex does): nobody was promised a view of it, and a socket that goes
    // away ends its turn, so nothing resumes it. Either is stored whole at its end (turn-finish.ts), its event log
    // included, one write per turn; on a failing storage that write is what fails (503, retried like any turn's end
    // by engine/unstored.ts).
    const unseen = opts.recordEvents !== true || (opts.forceStore === true && req.store === false)
    const atEnd = stored && !conversationId && !background && unseen
    if (stored) {
      const rec: ResponseRecord = {
        id,
        tenant: opts.tenant,
        status,
        model: req.model,
        // The request as kept: without the credentials of its MCP servers.
        request: withoutCredentials(req),
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
      // (a turn stored at its end is stored ended: it has no lease)
      const lease = atEnd ? null : newLease(deps.owner ?? PROCESS_OWNER)
      if (lease === null) {
        storeAtEnd = rec
      } else if (conversationId) {
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
          approvals = approvalsIn(history, input)
          upstream = await fit(req, upstreamItems(historyDeps, opts.tenant, history, input, 'conversation'), opts)
        } catch (e) {
          await store.deleteResponse(opts.tenant, id)
          throw e
        }
      } else {
        const s = childSpan(deps.tracer, span, 'createResponse')
        // A streamed turn's event log starts with its row: the first event (running-turn.ts) in the same write, so a
        // follower (resume) finds the log as soon as the response exists, at the cost of no write of its own.
        if (opts.recordEvents === true) firstEvents = [{ type: 'response.created', sequence_number: 0, response: initial }]
        try {
          await store.createResponse(rec, input, lease, [], firstEvents)
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
    const turn = new RunningTurn(turnDeps, req, opts, base, initial, stored, history, input, upstream, startedAt, span, gateway, approvals)
    turn.storeAtEnd = storeAtEnd
    turn.logged = firstEvents.length
    deps.drain?.track(turn)
    return turn
  }

  return start
}

const NO_FIRST_EVENTS: EventOf<'response.created'>[] = []

/** A request as stored: MCP servers' `headers` and `authorization` left out (they stay in memory, for that turn). */
function withoutCredentials(req: CreateResponseRequest): CreateResponseRequest {
  if (!Array.isArray(req.tools) || !req.tools.some((t) => t.type === 'mcp')) return req
  return {
    ...req,
    tools: req.tools.map((t) => {
      if (t.type !== 'mcp') return t
      // The tool's other fields are additionalProperties of the schema: read as the record they are.
      const { headers: _h, authorization: _a, ...kept } = t as Record<string, unknown>
      return kept as typeof t
    }),
  }
}
