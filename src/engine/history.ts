// What a model call sees before its new output: the history the request names (a previous_response_id chain —
// stored, or a WebSocket's unstored one — or a conversation's items) and the request's own input, checked and
// made ready for the upstream. Turns, token counts and compaction all take their context from here.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { CreateResponseRequest } from '../schema/responses'
import type { Sealer } from '../sealing/sealer'
import type { ItemBody, Store } from '../store/types'
import { conversationNotFound } from './conversation'
import { toInputItems } from './input'
import { historyTooLong } from './limits'
import { resolveItemReferences } from './references'
import { expandCompactions } from './compaction'
import { openSealedReasoning } from './sealed-items'
import { childSpan, endSpan, type Span, type Tracer } from '../tracing/span'

export interface HistoryDeps {
  store: Store
  ids: IdSource
  sealer: Sealer
  maxHistoryItems: number
}

/**
 * The request's input as items with ids, item references resolved; sealed content that does not open is a 400. An input
 * without item references (most) is answered here, without a promise, nor a store call, of its own.
 */
export function requestInput(deps: HistoryDeps, tenant: string, input: CreateResponseRequest['input']): ItemBody[] | Promise<ItemBody[]> {
  const items = toInputItems(input, deps.ids)
  if (!items.some(isReference)) return checkedInput(deps, tenant, items)
  return resolveItemReferences(items, deps.store, tenant, inputParam).then((resolved) => checkedInput(deps, tenant, resolved))
}

const isReference = (item: ItemBody) => item.type === 'item_reference'
const inputParam = (i: number) => `input.${i}`

function checkedInput(deps: HistoryDeps, tenant: string, items: ItemBody[]): ItemBody[] {
  const trigger = items.findIndex(isCompactionTrigger)
  if (trigger >= 0 && trigger !== items.length - 1)
    throw ApiError.badRequest(
      `Invalid input item 'input.${trigger}': a compaction_trigger must be the last input item.`,
      `input.${trigger}`,
    )
  // upstreamItems checks only what it prepares (sealed reasoning, compactions): an input without any has nothing to check
  if (needsPreparing(items)) upstreamItems(deps, tenant, [], items, 'input')
  return items
}

const isCompactionTrigger = (item: ItemBody) => item.type === 'compaction_trigger'

/** The items of a previous_response_id chain, oldest first: 404 when unknown, 400 past --max-history-items. */
export async function chainHistory(
  deps: HistoryDeps,
  tenant: string,
  id: string,
  opts: { localChains?: ReadonlyMap<string, ItemBody[]>; tracer?: Tracer | null; span?: Span } = {},
): Promise<ItemBody[]> {
  const local = opts.localChains?.get(id)
  const s = local ? undefined : childSpan(opts.tracer, opts.span, 'loadChain')
  let chain: Awaited<ReturnType<Store['loadChain']>> | { items: ItemBody[] }
  try {
    chain = local ? { items: local } : await deps.store.loadChain(tenant, id)
  } finally {
    endSpan(s)
  }
  if (!chain) throw ApiError.notFound(`Previous response with id '${id}' not found.`, 'previous_response_not_found', 'previous_response_id')
  // A running response (a background one, or another client's stream) has no output yet: a turn chained onto it
  // would see its input without its answer. (A WebSocket's own pipelined creates run one after another, so
  // the previous turn of the same socket has always finished by now.)
  const previous = 'responses' in chain ? chain.responses.at(-1) : undefined
  if (previous && (previous.status === 'queued' || previous.status === 'in_progress'))
    throw ApiError.badRequest(
      `Previous response with id '${id}' is still running (status '${previous.status}'); wait until it has finished before continuing from it.`,
      'previous_response_id',
      'previous_response_in_progress',
    )
  // An ancestor deleted (by a client or by retention) would leave a silently partial history: a 404 naming it.
  const missing = 'responses' in chain ? chain.responses[0]?.previousResponseId : null
  if (missing)
    throw ApiError.notFound(
      `Previous response with id '${missing}' not found: response '${id}' continues it, and it was deleted or has expired (--retention-days), so the history cannot be rebuilt.`,
      'previous_response_not_found',
      'previous_response_id',
    )
  if (chain.items.length > deps.maxHistoryItems) throw historyTooLong('previous_response_id', id, chain.items.length, deps.maxHistoryItems)
  return chain.items
}

/**
 * A conversation's items as they are now, read without taking its turn lock (for counting and compacting, which
 * write nothing to it). A turn reads them under the lock instead (Store.startConversationTurn).
 */
export async function conversationHistory(deps: HistoryDeps, tenant: string, id: string): Promise<ItemBody[]> {
  const items: ItemBody[] = []
  let after: string | undefined
  for (;;) {
    const page = await deps.store.listConversationItems(tenant, id, { after, limit: 100, order: 'asc' })
    if (!page) throw conversationNotFound(id, 'conversation')
    items.push(...page.items)
    if (items.length > deps.maxHistoryItems) throw historyTooLong('conversation', id, items.length, deps.maxHistoryItems)
    if (!page.hasMore || page.items.length === 0) return items
    after = page.items.at(-1)!.id
  }
}

/**
 * History and input as the upstream gets them, in one list: sealed reasoning opened (stored history keeps its own
 * text when a token no longer opens), and everything before the last compaction item replaced by its user messages
 * and summary (engine/compaction.ts). Content that does not open is a 400 naming the input item, or `historyParam`.
 */
export function upstreamItems(deps: HistoryDeps, tenant: string, history: ItemBody[], input: ItemBody[], historyParam: string): ItemBody[] {
  // Most of a long chain is items none of the steps below touches: then the list is history and input as they are
  // (one copy; a WebSocket chain's turn should not cost three passes and three copies of its whole history).
  if (!needsPreparing(history) && !needsPreparing(input)) return history.concat(input)
  const opened = openSealedReasoning(history, deps.sealer, tenant, 'stored').concat(
    openSealedReasoning(input, deps.sealer, tenant, (i) => `input.${i}`),
  )
  // A compaction_trigger asked for a compaction (engine/running-turn.ts): it is not something the model reads.
  return expandCompactions(opened, deps.sealer, tenant, (i) => (i < history.length ? historyParam : `input.${i - history.length}`)).filter(
    (i) => i.type !== 'compaction_trigger',
  )
}

/** Whether a list holds an item upstreamItems changes: reasoning (sealed, maybe), a compaction or a compaction_trigger. */
function needsPreparing(items: ItemBody[]): boolean {
  for (let i = 0; i < items.length; i++) {
    const type = items[i]!.type
    if (type === 'reasoning' || type === 'compaction' || type === 'compaction_trigger') return true
  }
  return false
}

/** The conversation id of a request's `conversation` (an id or `{id}`), or null. */
export function conversationIdOf(req: Pick<CreateResponseRequest, 'conversation'>): string | null {
  return req.conversation ? (typeof req.conversation === 'string' ? req.conversation : req.conversation.id) : null
}

/** previous_response_id and conversation name two different histories: a request takes one. */
export function checkOneHistory(req: Pick<CreateResponseRequest, 'previous_response_id' | 'conversation'>): void {
  if (req.previous_response_id && req.conversation)
    throw ApiError.badRequest(
      "Mutually exclusive parameters: provide either 'previous_response_id' or 'conversation', not both.",
      'conversation',
      'mutually_exclusive_parameters',
    )
}

/** A request's whole context, read-only: its history (chain or conversation) and input, raw and as the upstream gets them. */
export async function requestContext(
  deps: HistoryDeps,
  tenant: string,
  req: Pick<CreateResponseRequest, 'previous_response_id' | 'conversation' | 'input'>,
): Promise<{ history: ItemBody[]; input: ItemBody[]; upstream: ItemBody[] }> {
  checkOneHistory(req)
  const conversationId = conversationIdOf(req)
  const history = req.previous_response_id
    ? await chainHistory(deps, tenant, req.previous_response_id)
    : conversationId
      ? await conversationHistory(deps, tenant, conversationId)
      : []
  const input = await requestInput(deps, tenant, req.input)
  return {
    history,
    input,
    upstream: upstreamItems(deps, tenant, history, input, req.previous_response_id ? 'previous_response_id' : 'conversation'),
  }
}
