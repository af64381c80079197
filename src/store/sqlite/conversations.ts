// SQLite queries on conversations and their turn lock. A write transaction (BEGIN IMMEDIATE) holds the whole database,
// so a "lock" here is a plain read inside it.

import type { Changes, Database } from 'bun:sqlite'
import { and, asc, eq, isNull } from 'drizzle-orm'
import { conversationItemOf, liveConversation } from '../conditions'
import type { ConversationQueries, ConversationTurn } from '../dialect'
import { conversationColumns } from '../records'
import type { ConversationRecord } from '../types'
import type { Db } from './driver'
import { inList } from './items'
import { conversations, items } from './schema'

/**
 * A conversation (not deleted) and whether its turn lock is taken: by a response still queued/in_progress whose
 * lease has not expired, in one statement.
 */
const TURN = `
  SELECT c.turn_response_id AS holder,
         EXISTS (SELECT 1 FROM responses h
                  WHERE h.id = c.turn_response_id AND h.status IN ('queued', 'in_progress') AND h.lease_expires_at >= $now) AS busy
    FROM conversations c
   WHERE c.id = $id AND c.tenant = $tenant AND c.deleted_at IS NULL`

const changed = (result: unknown) => (result as Changes).changes

export function conversationQueries(db: Db, client: Database): ConversationQueries {
  const turn = client.prepare<{ holder: string | null; busy: number }, Record<string, string | number>>(TURN)
  const columns = conversationColumns(conversations)
  const live = (tenant: string, id: string) => liveConversation(conversations, tenant, id)
  const joined = eq(conversations.id, items.conversationId)
  const exists = (tenant: string, id: string) =>
    db.select({ id: conversations.id }).from(conversations).where(live(tenant, id)).get() !== undefined

  return {
    insertConversation(rec: ConversationRecord) {
      db.insert(conversations).values(rec).run()
    },
    selectConversation: (tenant, id) => db.select(columns).from(conversations).where(live(tenant, id)).get() ?? null,
    conversationExists: exists,
    lockConversation: exists,
    lockConversationTurn(tenant, id, now): ConversationTurn | null {
      const row = turn.get({ id, tenant, now })
      return row ? { holder: row.holder, busy: !!row.busy } : null
    },
    lockTurnHolder: (conversationId) =>
      db
        .select({ holder: conversations.turnResponseId })
        .from(conversations)
        .where(and(eq(conversations.id, conversationId), isNull(conversations.deletedAt)))
        .get()?.holder ?? null,
    takeTurn(conversationId, responseId) {
      db.update(conversations).set({ turnResponseId: responseId }).where(eq(conversations.id, conversationId)).run()
    },
    releaseTurn(conversationId, responseId) {
      db.update(conversations)
        .set({ turnResponseId: null })
        .where(and(eq(conversations.id, conversationId), eq(conversations.turnResponseId, responseId)))
        .run()
    },
    touchConversation(id, now) {
      db.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, id)).run()
    },
    updateConversation: (tenant, id, metadata, now) =>
      db.update(conversations).set({ metadata, updatedAt: now }).where(live(tenant, id)).returning(columns).get() ?? null,
    softDeleteConversation: (tenant, id, now) =>
      changed(db.update(conversations).set({ deletedAt: now, updatedAt: now }).where(live(tenant, id)).run()) > 0,
    conversationItem(tenant, id, itemId) {
      const row = db
        .select({ body: items.body })
        .from(items)
        .innerJoin(conversations, joined)
        .where(conversationItemOf(items, conversations, tenant, id, itemId))
        .orderBy(asc(items.position))
        .limit(1)
        .get()
      return row?.body ?? null
    },
    deleteConversationItem: (conversationId, itemId) =>
      changed(
        db
          .delete(items)
          .where(and(inList({ kind: 'conversation', conversationId }), eq(items.id, itemId)))
          .run(),
      ),
  }
}
