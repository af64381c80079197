// Conversations, written once for both dialects: their items, and the turn lock that keeps a turn's history and the
// items it appends from interleaving with other additions (Store.startConversationTurn).

import { step, type ConversationTurn, type Dialect, type Queries, type Steps } from './dialect'
import { itemPage } from './pagination'
import type { ConversationConflict, ItemBody, Store } from './types'

/** Appends items after the conversation's last one (positions keep growing; deleted items leave gaps). */
export function* appendConversationItems(q: Queries, tenant: string, conversationId: string, list: ItemBody[], now: number): Steps<void> {
  const last = yield* step(q.lastConversationPosition(conversationId))
  yield* step(q.insertItems(tenant, { kind: 'conversation', conversationId }, list, (last ?? -1) + 1))
  yield* step(q.touchConversation(conversationId, now))
}

/**
 * Whether a conversation can be written: unknown (or deleted), or locked by another response's running turn (one
 * still queued/in_progress whose lease has not expired; a holder that ended, was cancelled or died frees it).
 */
export function turnConflict(turn: ConversationTurn | null): ConversationConflict | null {
  if (!turn) return { ok: false, reason: 'not_found' }
  if (turn.busy && turn.holder !== null) return { ok: false, reason: 'locked', holder: turn.holder }
  return null
}

type ConversationOperations = Pick<
  Store,
  | 'createConversation'
  | 'getConversation'
  | 'updateConversation'
  | 'deleteConversation'
  | 'listConversationItems'
  | 'addConversationItems'
  | 'getConversationItem'
  | 'deleteConversationItem'
  | 'startConversationTurn'
>

export function conversationOperations(d: Dialect): ConversationOperations {
  return {
    createConversation(rec, items) {
      return d.write(function* (q) {
        yield* step(q.insertConversation(rec))
        yield* step(q.insertItems(rec.tenant, { kind: 'conversation', conversationId: rec.id }, items, 0))
      })
    },

    getConversation: (tenant, id) => d.one((q) => q.selectConversation(tenant, id)),
    updateConversation: (tenant, id, metadata, now) => d.one((q) => q.updateConversation(tenant, id, metadata, now)),
    // Soft: the row stays (responses keep pointing at it), every read treats it as unknown.
    deleteConversation: (tenant, id, now) => d.one((q) => q.softDeleteConversation(tenant, id, now)),
    getConversationItem: (tenant, id, itemId) => d.one((q) => q.conversationItem(tenant, id, itemId)),

    listConversationItems(tenant, id, opts) {
      return d.read(function* (q) {
        if (!(yield* step(q.conversationExists(tenant, id)))) return null
        return yield* itemPage(q, { kind: 'conversation', conversationId: id }, opts)
      })
    },

    addConversationItems(tenant, id, items, now) {
      return d.write(function* (q) {
        const conflict = turnConflict(yield* step(q.lockConversationTurn(tenant, id, Date.now())))
        if (conflict) return conflict
        yield* appendConversationItems(q, tenant, id, items, now)
        return { ok: true as const, items }
      })
    },

    deleteConversationItem(tenant, id, itemId, now) {
      return d.write(function* (q) {
        // the conversation's lock: a delete does not slip between a turn's read of the history and its append
        if (!(yield* step(q.lockConversation(tenant, id)))) return false
        // every copy of the id (a client may have added the same item twice)
        const deleted = yield* step(q.deleteConversationItem(id, itemId))
        if (deleted > 0) yield* step(q.touchConversation(id, now))
        return deleted > 0
      })
    },

    startConversationTurn(rec, inputItems, lease) {
      return d.write(function* (q) {
        const conversationId = rec.conversationId
        if (!conversationId) throw new Error('startConversationTurn needs rec.conversationId')
        const conflict = turnConflict(yield* step(q.lockConversationTurn(rec.tenant, conversationId, Date.now())))
        if (conflict) return conflict
        yield* step(q.takeTurn(conversationId, rec.id))
        yield* step(q.insertResponse(rec, lease))
        yield* step(q.insertItems(rec.tenant, { kind: 'input', responseId: rec.id }, inputItems, 0))
        return { ok: true as const, history: yield* step(q.conversationItems(conversationId)) }
      })
    },
  }
}
