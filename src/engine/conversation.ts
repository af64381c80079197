// What a conversation keeps: items with gateway ids (like any input), messages and tool outputs with a status
// (OpenAI's conversation items always carry one), and which turn endings add to it. Pure, apart from the id source.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { ItemT } from '../schema/responses'
import type { ItemBody, ResponseStatus, Store } from '../store/types'
import { toInputItems } from './input'
import { resolveItemReferences } from './references'

/** Item types whose listed form always has a status (OpenAI's conversation items; the SDK types require it). */
const WITH_STATUS = new Set(['message', 'function_call_output'])

/** An item as a conversation stores it: a message or tool output gets status "completed" unless it says otherwise. */
export function conversationItem(item: ItemBody): ItemBody {
  if (WITH_STATUS.has(item.type) && item.status === undefined) return { ...item, status: 'completed' }
  return item
}

/**
 * Items sent to POST /v1/conversations(/{id}/items), with ids, checked like response input (item_reference resolved
 * to the tenant's stored item); errors name `items.N`.
 */
export async function toConversationItems(raw: ItemT[], ids: IdSource, store: Store, tenant: string): Promise<ItemBody[]> {
  try {
    return (await resolveItemReferences(toInputItems(raw, ids), store, tenant, (i) => `items.${i}`)).map(conversationItem)
  } catch (e) {
    if (!(e instanceof ApiError) || !e.param?.startsWith('input')) throw e
    const param = e.param.replace(/^input/, 'items')
    throw new ApiError(e.status, e.message.replaceAll("'input.", "'items."), e.type, e.errorCode, param)
  }
}

/**
 * Whether a turn that ended this way adds its input and output to its conversation. A completed turn does (as
 * OpenAI's). So does one the model cut short (max_output_tokens, content_filter): what it said is real history and
 * "go on" should see it. A turn that failed, was cancelled or lost its client adds nothing, so retrying the same
 * input does not repeat it in the conversation.
 */
export function appendsToConversation(status: ResponseStatus, incomplete: { reason: string } | null): boolean {
  if (status === 'completed') return true
  return status === 'incomplete' && incomplete !== null && incomplete.reason !== 'client_disconnected'
}

export function conversationNotFound(id: string, param: string | null = null): ApiError {
  return ApiError.notFound(`Conversation with id '${id}' not found.`, 'conversation_not_found', param)
}

/** Another turn holds the conversation: answered at once, never queued behind it or interleaved with it. */
export function conversationLocked(id: string, holder: string): ApiError {
  return new ApiError(
    409,
    `Conversation '${id}' already has a response in progress (${holder}). Retry once it has finished, or cancel it if it runs in the background.`,
    'invalid_request_error',
    'conversation_locked',
    'conversation',
  )
}
