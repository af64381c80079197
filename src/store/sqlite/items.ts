// SQLite queries on item lists (a response's input or output, a conversation's items), by position.

import type { Database, SQLQueryBindings } from 'bun:sqlite'
import { and, asc, desc, eq, sql, type SQL } from 'drizzle-orm'
import { inList as inListOf, inRange, tenantItems } from '../conditions'
import { listOwner } from '../records'
import type { ItemList, ItemQueries } from '../dialect'
import type { Db } from './driver'
import { conversations, items, responses } from './schema'
import { onFirstUse } from './prepared'

const p = sql.placeholder

/** The rows of one list. */
export const inList = (list: ItemList): SQL => inListOf(items, list)

export function itemQueries(db: Db, client: Database): ItemQueries {
  // Every turn's items go in here: a statement of bun:sqlite's own with positional parameters (drizzle's placeholder
  // mapping per row and column was ~2% of a JSON turn). The body is JSON text, as the schema's jsonText writes it.
  const insert = onFirstUse(() =>
    client.prepare<unknown, SQLQueryBindings[]>(
      'INSERT INTO items (id, tenant, response_id, conversation_id, kind, position, type, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
  )
  const outputOf = and(eq(items.responseId, p('responseId')), eq(items.kind, 'output'))
  const deleteOutput = onFirstUse(() => db.delete(items).where(outputOf).prepare())
  const output = onFirstUse(() =>
    db
      .select({ body: items.body })
      .from(items)
      .innerJoin(responses, eq(responses.id, items.responseId))
      .where(and(outputOf, eq(responses.tenant, p('tenant'))))
      .orderBy(asc(items.position))
      .prepare(),
  )
  const conversationOf = and(eq(items.conversationId, p('conversationId')), eq(items.kind, 'conversation'))
  const conversation = onFirstUse(() =>
    db.select({ body: items.body }).from(items).where(conversationOf).orderBy(asc(items.position)).prepare(),
  )
  const lastInConversation = onFirstUse(() =>
    db
      .select({ position: sql<number | null>`max(${items.position})` })
      .from(items)
      .where(conversationOf)
      .prepare(),
  )

  return {
    insertItems(tenant, list, bodies, first) {
      const { responseId, conversationId } = listOwner(list)
      const statement = insert()
      for (let i = 0; i < bodies.length; i++) {
        const body = bodies[i]!
        statement.run(body.id, tenant, responseId, conversationId, list.kind, first + i, body.type, JSON.stringify(body))
      }
    },
    deleteOutputItems(responseId) {
      deleteOutput().run({ responseId })
    },
    outputItems: (tenant, responseId) =>
      output()
        .all({ responseId, tenant })
        .map((r) => r.body),
    itemPosition(list, itemId) {
      const row = db
        .select({ position: items.position })
        .from(items)
        .where(and(inList(list), eq(items.id, itemId)))
        .orderBy(asc(items.position))
        .limit(1)
        .get()
      return row?.position ?? null
    },
    itemRange(list, { above, below, ascending, limit }) {
      const order = ascending ? asc(items.position) : desc(items.position)
      return db
        .select({ body: items.body })
        .from(items)
        .where(inRange(items, list, { above, below }))
        .orderBy(order)
        .limit(limit)
        .all()
        .map((r) => r.body)
    },
    // items of a deleted conversation do not count
    itemsById: (tenant, ids) =>
      db
        .select({ id: items.id, body: items.body })
        .from(items)
        .leftJoin(conversations, eq(conversations.id, items.conversationId))
        .where(tenantItems(items, conversations, tenant, ids))
        .orderBy(asc(items.seq))
        .all(),
    conversationItems: (conversationId) =>
      conversation()
        .all({ conversationId })
        .map((r) => r.body),
    lastConversationPosition: (conversationId) => lastInConversation().get({ conversationId })?.position ?? null,
  }
}
