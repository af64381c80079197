// PostgreSQL queries on conversations and their turn lock. The lock is a column changed only under the
// conversation row's lock (SELECT … FOR NO KEY UPDATE), taken after the response row's, never before, so no two
// transactions wait on each other in a cycle; a holder's liveness is read by a statement issued after the row lock
// was granted, so it sees every turn that committed before.

import { and, asc, eq, inArray, isNull, sql as drizzleSql, type SQL } from 'drizzle-orm'
import { conversationItemOf, liveConversation } from '../conditions'
import type { ConversationQueries } from '../dialect'
import { conversationColumns } from '../records'
import type { ConversationRecord } from '../types'
import type { Conn } from './driver'
import { inList } from './items'
import { conversations, items, responses } from './schema'

const columns = conversationColumns(conversations)

export function conversationQueries({ db }: Conn): ConversationQueries {
  const live = (tenant: string, id: string) => liveConversation(conversations, tenant, id)
  const joined = eq(conversations.id, items.conversationId)
  const lockHolder = (where: SQL | undefined) =>
    db.select({ holder: conversations.turnResponseId }).from(conversations).where(where).for('no key update')
  const setWhere = async (values: Partial<typeof conversations.$inferInsert>, where: SQL | undefined) => {
    await db.update(conversations).set(values).where(where)
  }

  return {
    async insertConversation(rec: ConversationRecord) {
      await db.insert(conversations).values(rec)
    },
    selectConversation: async (tenant, id) => (await db.select(columns).from(conversations).where(live(tenant, id)))[0] ?? null,
    conversationExists: async (tenant, id) =>
      (await db.select({ id: conversations.id }).from(conversations).where(live(tenant, id))).length > 0,
    lockConversation: async (tenant, id) => (await lockHolder(live(tenant, id))).length > 0,
    async lockConversationTurn(tenant, id, now) {
      const [conv] = await lockHolder(live(tenant, id))
      if (!conv) return null
      if (conv.holder === null) return { holder: null, busy: false }
      // a second statement, after the lock is granted: it sees a turn another process started (and committed) meanwhile
      const [busy] = await db
        .select({ id: responses.id })
        .from(responses)
        .where(
          and(
            eq(responses.id, conv.holder),
            inArray(responses.status, ['queued', 'in_progress']),
            drizzleSql`${responses.leaseExpiresAt} >= ${now}`,
          ),
        )
      return { holder: conv.holder, busy: busy !== undefined }
    },
    lockTurnHolder: async (conversationId) =>
      (await lockHolder(and(eq(conversations.id, conversationId), isNull(conversations.deletedAt))))[0]?.holder ?? null,
    takeTurn: (conversationId, responseId) => setWhere({ turnResponseId: responseId }, eq(conversations.id, conversationId)),
    releaseTurn: (conversationId, responseId) =>
      setWhere({ turnResponseId: null }, and(eq(conversations.id, conversationId), eq(conversations.turnResponseId, responseId))),
    touchConversation: (id, now) => setWhere({ updatedAt: now }, eq(conversations.id, id)),
    updateConversation: async (tenant, id, metadata, now) =>
      (await db.update(conversations).set({ metadata, updatedAt: now }).where(live(tenant, id)).returning(columns))[0] ?? null,
    softDeleteConversation: async (tenant, id, now) =>
      (await db.update(conversations).set({ deletedAt: now, updatedAt: now }).where(live(tenant, id)).returning({ id: conversations.id }))
        .length > 0,
    // one statement: the conversation check is a join
    async conversationItem(tenant, id, itemId) {
      const [row] = await db
        .select({ body: items.body })
        .from(items)
        .innerJoin(conversations, joined)
        .where(conversationItemOf(items, conversations, tenant, id, itemId))
        .orderBy(asc(items.position))
        .limit(1)
      return row?.body ?? null
    },
    deleteConversationItem: async (conversationId, itemId) =>
      (
        await db
          .delete(items)
          .where(and(inList({ kind: 'conversation', conversationId }), eq(items.id, itemId)))
          .returning({ seq: items.seq })
      ).length,
  }
}
