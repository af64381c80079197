// Items whose content the gateway sealed into `encrypted_content` (src/sealing): reasoning handed to a
// client that asked for `include: ["reasoning.encrypted_content"]`, and opened again when the item comes
// back — so a store:false client keeps its reasoning across turns without the gateway keeping anything.
import { ApiError } from '../errors'
import type { Sealer } from '../sealing/sealer'
import { isSettled, settled, settledSlot } from '../store/settled-items'
import type { ItemBody } from '../store/types'
import { itemsForClient } from './search-sources'

export const REASONING_INCLUDE = 'reasoning.encrypted_content'

/** Whether the request asked for sealed reasoning. */
export function wantsSealedReasoning(include: readonly string[] | null | undefined): boolean {
  return Array.isArray(include) && include.includes(REASONING_INCLUDE)
}

/** What a reasoning token holds: the item's text, as the model produced it. */
interface ReasoningPayload {
  summary: unknown[]
  content: unknown[]
}

/** A finished reasoning item with its text sealed into encrypted_content for this tenant. Other items pass unchanged. */
export function sealReasoning(item: ItemBody, sealer: Sealer, tenant: string): ItemBody {
  if (item.type !== 'reasoning') return item
  const payload: ReasoningPayload = {
    summary: Array.isArray(item.summary) ? item.summary : [],
    content: Array.isArray(item.content) ? item.content : [],
  }
  return { ...item, encrypted_content: sealer.seal(tenant, 'reasoning', payload) }
}

export function invalidEncryptedContent(param: string): ApiError {
  return ApiError.badRequest(
    `The encrypted content of '${param.replace(/\.encrypted_content$/, '')}' could not be verified: it was changed, sealed for another API key, or sealed with a key this gateway no longer has. Send the item as the gateway returned it, or leave encrypted_content out.`,
    param,
    'invalid_encrypted_content',
  )
}

/**
 * Reasoning items as the upstream should see them: a sealed one gets back the text it was sealed with (which wins
 * over whatever text the client sent along); the token itself never goes upstream. `paramOf(i)` names the item in
 * the 400 for content that does not open.
 */
export function openSealedReasoning(
  items: ItemBody[],
  sealer: Sealer,
  tenant: string,
  paramOf: ((i: number) => string) | 'stored',
): ItemBody[] {
  let out: ItemBody[] | null = null
  items.forEach((item, i) => {
    if (item.type !== 'reasoning' || typeof item.encrypted_content !== 'string' || item.encrypted_content === '') return
    out ??= [...items]
    const kept = paramOf === 'stored' ? openedReasoning.get(item) : undefined
    if (kept && kept.tenant === tenant && kept.sealer === sealer) {
      out[i] = kept.item
      return
    }
    const payload = sealer.open(tenant, 'reasoning', item.encrypted_content) as ReasoningPayload | null
    let opened: ItemBody
    if (payload && Array.isArray(payload.content) && Array.isArray(payload.summary))
      opened = { ...item, summary: payload.summary, content: payload.content, encrypted_content: null }
    // Stored history was checked when it came in and keeps its own text: a key rotated out since must not break the chain.
    else if (paramOf === 'stored') opened = { ...item, encrypted_content: null }
    else throw invalidEncryptedContent(`${paramOf(i)}.encrypted_content`)
    if (paramOf === 'stored' && isSettled(item)) openedReasoning.set(item, { tenant, sealer, item: settled(opened) })
    out[i] = opened
  })
  return out ?? items
}

/**
 * Settled history's reasoning, opened (src/store/settled-items.ts): a WebSocket chain sends every earlier reasoning
 * item up again each turn, and opening one is a decryption. Kept with the tenant and sealer it was opened for.
 */
const openedReasoning = settledSlot<{ tenant: string; sealer: Sealer; item: ItemBody }>()

/**
 * Stored items as a listing shows them, following its `include`: with reasoning.encrypted_content every reasoning
 * item carries its sealed text (sealed now when it was stored without), without it none does; web search sources
 * only with web_search_call.action.sources (engine/search-sources.ts).
 */
export function itemsAsIncluded(items: ItemBody[], include: readonly string[], sealer: Sealer, tenant: string): ItemBody[] {
  const sealed = wantsSealedReasoning(include)
  return itemsForClient(items, include).map((item) => {
    if (item.type !== 'reasoning') return item
    if (!sealed)
      return item.encrypted_content === undefined || item.encrypted_content === null ? item : { ...item, encrypted_content: null }
    return typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? item : sealReasoning(item, sealer, tenant)
  })
}
