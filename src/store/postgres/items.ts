// PostgreSQL queries on item lists (a response's input or output, a conversation's items), by position.

import { and, asc, desc, eq, sql as drizzleSql, type SQL } from 'drizzle-orm'
import { inList as inListOf, inRange, tenantItems } from '../conditions'
import { listOwner } from '../records'
import type { ItemList, ItemQueries } from '../dialect'
import type { Conn } from './driver'
import { conversations, items, responses } from './schema'

/** Rows per multi-row INSERT: 9 parameters each stays far below PostgreSQL's 65,535 bind parameters. */
export const INSERT_CHUNK = 1000
type ItemRow = typeof items.$inferInsert

/** The rows of one list. */
export const inList = (list: ItemList): SQL => inListOf(items, list)

export function itemQueries({ db }: Conn): ItemQueries {
  const bodiesOf = (rows: { body: ItemRow['body'] }[]) => rows.map((r) => r.body)
  return {
    async insertItems(tenant, list, bodies, first) {
      const owner = listOwner(list)
      const rows: ItemRow[] = bodies.map((body, i) => ({
        ...owner,
        id: body.id,
        tenant,
        kind: list.kind,
        position: first + i,
        type: body.type,
        body,
      }))
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) await db.insert(items).values(rows.slice(i, i + INSERT_CHUNK))
    },
    async deleteOutputItems(responseId) {
      await db.delete(items).where(inList({ kind: 'output', responseId }))
    },
    // one statement: the tenant check is a join
    outputItems: async (tenant, responseId) =>
      bodiesOf(
        await db
          .select({ body: items.body })
          .from(items)
          .innerJoin(responses, eq(responses.id, items.responseId))
          .where(and(inList({ kind: 'output', responseId }), eq(responses.tenant, tenant)))
          .orderBy(asc(items.position)),
      ),
    async itemPosition(list, itemId) {
      const [row] = await db
        .select({ position: items.position })
        .from(items)
        .where(and(inList(list), eq(items.id, itemId)))
        .orderBy(asc(items.position))
        .limit(1)
      return row?.position ?? null
    },
    async itemRange(list, { above, below, ascending, limit }) {
      const order = ascending ? asc(items.position) : desc(items.position)
      return bodiesOf(
        await db
          .select({ body: items.body })
          .from(items)
          .where(inRange(items, list, { above, below }))
          .orderBy(order)
          .limit(limit),
      )
    },
    // items of a deleted conversation do not count
    itemsById: (tenant, ids) =>
      db
        .select({ id: items.id, body: items.body })
        .from(items)
        .leftJoin(conversations, eq(conversations.id, items.conversationId))
        .where(tenantItems(items, conversations, tenant, ids))
        .orderBy(asc(items.seq)),
    conversationItems: async (conversationId) =>
      bodiesOf(
        await db
          .select({ body: items.body })
          .from(items)
          .where(inList({ kind: 'conversation', conversationId }))
          .orderBy(asc(items.position)),
      ),
    async lastConversationPosition(conversationId) {
      const max = drizzleSql<number | null>`max(${items.position})`
      const [last] = await db
        .select({ position: max })
        .from(items)
        .where(inList({ kind: 'conversation', conversationId }))
      return last?.position ?? null
    },
  }
}
