// The end of a turn: its final Response built (cut to --max-stored-response-bytes when stored) and stored with its
// items, last events and conversation items in one transaction — or, when the storage fails, retried until it takes it.
import { ApiError } from '../errors'
import { settledJson } from '../json-text'
import type { ResponseEvent, TerminalEvent } from '../schema/events'
import type { CreateResponseRequest, ResponseObjectT } from '../schema/responses'
import { StoreUnavailableError } from '../store/errors'
import type { FinishResult, ItemBody, ResponseRecord, ResponseStatus, Store } from '../store/types'
import { childSpan, endSpan, type Span } from '../tracing/span'
import type { TurnCheckpoint } from './checkpoint'
import { appendsToConversation, conversationItem } from './conversation'
import { fitOutput, NO_LIMITS, STORED_SIZE_REASON } from './limits'
import type { EventNormaliser } from './normalise'
import { responseObject, type ResponseBase } from './response-object'
import { type StorageFailing, storageFailed, TERMINAL_TYPE, type TurnOutcome } from './turn-outcome'
import type { EngineDeps, TurnOptions } from './turn-types'

/** What finishTurn reads of a running turn (RunningTurn), and the response and failure it sets on it. */
export interface FinishingTurn extends StorageFailing {
  readonly id: string
  readonly stored: boolean
  readonly deps: EngineDeps
  readonly req: CreateResponseRequest
  readonly opts: TurnOptions
  readonly base: ResponseBase
  readonly input: ItemBody[]
  readonly span: Span | undefined
  /** the record of a turn stored whole at its end (inserted here, not updated); null when its row exists */
  readonly storeAtEnd: ResponseRecord | null
  response: ResponseObjectT
  failure: ApiError | null
}

/**
 * Builds the final object and stores it with its items and last events — for a conversation turn, together with
 * the items it adds to the conversation and the release of the conversation — in one transaction. Returns the
 * terminal event; a cancelled turn has none (the Responses stream defines no such event), its stream just ends.
 */
export async function finishTurn(
  turn: FinishingTurn,
  norm: EventNormaliser,
  outcome: TurnOutcome,
  cp: TurnCheckpoint,
): Promise<ResponseEvent | null> {
  const { clock } = turn.deps
  if (outcome.status === 'failed' && !turn.failure)
    turn.failure = new ApiError(502, outcome.error?.message ?? 'upstream failed', 'upstream_error', outcome.error?.code ?? 'upstream_error')
  let output = norm.output()
  const now = clock()
  turn.response = finalResponse(turn.base, outcome, outcome.status, outcome.incomplete_details, output, now)
  const max = turn.deps.limits?.maxStoredResponseBytes ?? NO_LIMITS.maxStoredResponseBytes
  // The final Response as it is measured here is what the store writes and a JSON answer sends: its JSON made once
  // (../json-text.ts). Nothing changes it from here on; a cut or a storage failure below makes a new object.
  if (turn.stored && Number.isFinite(max) && Buffer.byteLength(settledJson(turn.response)) > max) {
    // --max-stored-response-bytes: whole output items are left out from the end until the Response fits, so the
    // stored object, its output items and the terminal event agree. A turn that would have completed (or that the
    // model cut short) ends incomplete with our reason; one that failed, was cancelled or lost its client keeps that.
    const cuttable =
      outcome.status === 'completed' || (outcome.status === 'incomplete' && outcome.incomplete_details?.reason !== 'client_disconnected')
    const fit = fitOutput(
      (items) =>
        cuttable
          ? finalResponse(turn.base, outcome, 'incomplete', { reason: STORED_SIZE_REASON }, items, now)
          : finalResponse(turn.base, outcome, outcome.status, outcome.incomplete_details, items, now),
      output,
      max,
    )
    if (fit.cut) {
      turn.deps.logger.warn('response output cut to fit --max-stored-response-bytes', {
        response_id: turn.id,
        items: output.length,
        kept: fit.output.length,
        max_bytes: max,
      })
      output = fit.output
      turn.response = fit.response
      if (cuttable) outcome = { ...outcome, status: 'incomplete', incomplete_details: { reason: STORED_SIZE_REASON } }
    }
  }
  let terminal: TerminalEvent | null =
    outcome.status === 'cancelled' ? null : norm.event({ type: TERMINAL_TYPE[outcome.status], response: turn.response })
  const unwritten = await cp.stop()
  if (turn.stored) {
    // Stored before the client sees the terminal event, so a chained request right after it resolves.
    const conversationItems =
      turn.base.conversation && appendsToConversation(outcome.status, outcome.incomplete_details)
        ? [...turn.input, ...output].map(conversationItem)
        : undefined
    let events = turn.opts.recordEvents ? [...unwritten, ...(terminal ? [terminal] : [])] : NO_EVENTS
    let patch: EndPatch = {
      status: outcome.status,
      response: turn.response,
      error: outcome.error,
      completedAt: outcome.status === 'completed' ? now : null,
    }
    const s = childSpan(turn.deps.tracer, turn.span, turn.storeAtEnd ? 'createResponse' : 'finishResponse')
    try {
      // The end's one write: the row updated — or, for a turn stored at its end, inserted whole with its input and
      // output (such a turn ends as it says: its row is new, and it is in no conversation).
      let result: FinishResult | null = null
      if (turn.storeAtEnd) await storeWhole(turn, turn.storeAtEnd, patch, output, events)
      else result = await writeEnd(turn, patch, output, events, conversationItems)
      endSpan(s)
      if (result && result.status !== null && result.status !== outcome.status)
        turn.deps.logger.info('turn ended after its response was ended elsewhere', {
          response_id: turn.id,
          status: outcome.status,
          stored_status: result.status,
        })
      else if (result && conversationItems && !result.appended)
        turn.deps.logger.warn('nothing appended to the conversation: it was deleted, or this turn lost it (lease expired)', {
          response_id: turn.id,
          conversation_id: turn.base.conversation?.id,
        })
    } catch (e) {
      endSpan(s, e)
      if (!(e instanceof StoreUnavailableError)) throw e
      turn.deps.logger.error('could not store the end of a turn, the storage is failing or busy; retrying until it takes writes', {
        response_id: turn.id,
        reason: e.reason,
      })
      // The end cannot be stored now. A turn that was going to end otherwise fails instead — what the client is
      // told is what gets stored — and that end is written as soon as the storage takes writes again.
      if (outcome.status !== 'failed' && outcome.status !== 'cancelled') {
        outcome = { ...storageFailed(e, turn), usage: outcome.usage }
        turn.response = finalResponse(turn.base, outcome, 'failed', null, output, now)
        terminal = { ...terminal!, type: 'response.failed', response: turn.response }
        events = turn.opts.recordEvents ? [...unwritten, terminal] : []
        patch = { status: 'failed', response: turn.response, error: outcome.error, completedAt: null }
      }
      // (a turn that failed appends nothing to its conversation)
      turn.deps.unstored!.retry(turn.id, events, () =>
        turn.storeAtEnd ? storeWhole(turn, turn.storeAtEnd, patch, output, events) : writeEnd(turn, patch, output, events),
      )
    }
  }
  const status = outcome.status
  turn.deps.logger.debug('turn finished', {
    response_id: turn.id,
    status,
    stored: turn.stored,
    previous_response_id: turn.base.previous_response_id,
  })
  turn.deps.metrics?.turnFinished(turn.req.model, status, outcome.usage)
  return terminal
}

/** What the end of a turn writes into its row. */
type EndPatch = Parameters<Store['finishResponse']>[2]

const NO_EVENTS: ResponseEvent[] = []

/** The turn's final Response: `status` and `output`, with the outcome's usage and error. */
function finalResponse(
  base: ResponseBase,
  outcome: TurnOutcome,
  status: ResponseStatus,
  incomplete_details: { reason: string } | null,
  output: ItemBody[],
  now: number,
): ResponseObjectT {
  return responseObject(base, {
    status,
    output,
    usage: outcome.usage,
    error: outcome.error,
    incomplete_details,
    completedAtMs: status === 'completed' ? now : null,
  })
}

/** The end's one write for a turn whose row exists: the row updated, with its output, last events and conversation items. */
function writeEnd(
  turn: FinishingTurn,
  patch: EndPatch,
  output: ItemBody[],
  events: ResponseEvent[],
  conversationItems?: ItemBody[],
): Promise<FinishResult> {
  return turn.deps.store.finishResponse(turn.opts.tenant, turn.id, patch, output, { events, conversationItems })
}

/**
 * The end's one write for a turn stored at its end (turn-start.ts): its record inserted whole, with its input, output
 * and (a streamed turn's) whole event log. The record is the turn's own, held by nothing else: completed in place
 * rather than copied.
 */
function storeWhole(turn: FinishingTurn, rec: ResponseRecord, patch: EndPatch, output: ItemBody[], events: ResponseEvent[]): Promise<void> {
  rec.status = patch.status
  rec.response = patch.response
  rec.error = patch.error
  rec.completedAt = patch.completedAt
  rec.updatedAt = Date.now()
  return turn.deps.store.createResponse(rec, turn.input, undefined, output, events)
}
