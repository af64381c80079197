// The Store on SQLite (bun:sqlite through drizzle). bun:sqlite is synchronous: every method does its work
// synchronously inside one transaction where it writes several rows, and returns a settled promise.
// Hot paths use statements prepared once per store; loadChain is two queries whatever the chain length:
// a recursive CTE for the responses, then one query for all their items.

import type { Changes, Database } from 'bun:sqlite'
import { and, asc, desc, eq, gt, inArray, lt, sql, type SQL } from 'drizzle-orm'
import type { BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { ApiError } from '../../errors'
import type {
  Chain,
  ConversationRecord,
  EventBody,
  ItemBody,
  ItemPage,
  ListOptions,
  ResponseRecord,
  Store,
} from '../types'
import * as schema from './schema'

const { responses, items, responseEvents, conversations } = schema
const p = sql.placeholder

type Db = BunSQLiteDatabase<typeof schema>
type ItemRow = typeof items.$inferInsert

const UNFINISHED = ['queued', 'in_progress'] as const

/**
 * A recursive walk up previous_response_id from one response, tenant-scoped at every step. `depth` 0 is the
 * response asked for. The depth cap only guards against a (never legitimately created) cycle.
 */
const CHAIN_CTE = `
  WITH RECURSIVE chain(id, prev, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = $id AND tenant = $tenant
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM chain c JOIN responses r ON r.id = c.prev
     WHERE r.tenant = $tenant AND c.depth < 1000000
  )`

interface RawResponseRow {
  id: string
  tenant: string
  status: ResponseRecord['status']
  model: string
  request: string
  response: string
  error: string | null
  previous_response_id: string | null
  conversation_id: string | null
  background: number
  created_at: number
  updated_at: number
  completed_at: number | null
}

/**
 * A chain's records, with `request` and `response` parsed on first read: rehydration needs only the items, and
 * those two bodies are the bulk of a long chain's JSON. To callers they behave as plain data properties.
 */
function fromRawResponse(row: RawResponseRow): ResponseRecord {
  const rec = {
    id: row.id,
    tenant: row.tenant,
    status: row.status,
    model: row.model,
    request: undefined as unknown as Record<string, unknown>,
    response: undefined as unknown as Record<string, unknown>,
    error: row.error === null ? null : JSON.parse(row.error),
    previousResponseId: row.previous_response_id,
    conversationId: row.conversation_id,
    background: row.background !== 0,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  }
  lazyJson(rec, 'request', row.request)
  lazyJson(rec, 'response', row.response)
  return rec
}

function lazyJson(target: object, key: string, text: string): void {
  const settle = (value: unknown) => {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
    return value
  }
  Object.defineProperty(target, key, { enumerable: true, configurable: true, get: () => settle(JSON.parse(text)), set: settle })
}

export function createSqliteStore(db: Db, client: Database): Store {
  // ---- prepared statements (hot paths) ----
  const insertResponse = db
    .insert(responses)
    .values({
      id: p('id'),
      tenant: p('tenant'),
      status: p('status'),
      model: p('model'),
      request: p('request'),
      response: p('response'),
      error: p('error'),
      previousResponseId: p('previousResponseId'),
      conversationId: p('conversationId'),
      background: p('background'),
      createdAt: p('createdAt'),
      updatedAt: p('updatedAt'),
      completedAt: p('completedAt'),
    })
    .prepare()
  const insertItem = db
    .insert(items)
    .values({
      id: p('id'),
      tenant: p('tenant'),
      responseId: p('responseId'),
      conversationId: p('conversationId'),
      kind: p('kind'),
      position: p('position'),
      type: p('type'),
      body: p('body'),
    })
    .prepare()
  const patchResponse = db
    .update(responses)
    .set({
      status: p('status') as unknown as ResponseRecord['status'],
      response: p('response') as unknown as Record<string, unknown>,
      error: p('error') as unknown as null,
      completedAt: p('completedAt') as unknown as number,
      updatedAt: p('updatedAt') as unknown as number,
    })
    .where(and(eq(responses.id, p('id')), eq(responses.tenant, p('tenant'))))
    .prepare()
  const deleteOutputItems = db
    .delete(items)
    .where(and(eq(items.responseId, p('responseId')), eq(items.kind, 'output')))
    .prepare()
  const selectResponse = db
    .select()
    .from(responses)
    .where(and(eq(responses.id, p('id')), eq(responses.tenant, p('tenant'))))
    .prepare()
  const selectOutputItems = db
    .select({ body: items.body })
    .from(items)
    .where(and(eq(items.responseId, p('responseId')), eq(items.kind, 'output')))
    .orderBy(asc(items.position))
    .prepare()
  const responseExists = db
    .select({ id: responses.id })
    .from(responses)
    .where(eq(responses.id, p('id')))
    .prepare()
  const tenantHasResponse = db
    .select({ id: responses.id })
    .from(responses)
    .where(and(eq(responses.id, p('id')), eq(responses.tenant, p('tenant'))))
    .prepare()
  const insertEvent = db
    .insert(responseEvents)
    .values({ responseId: p('responseId'), sequenceNumber: p('sequenceNumber'), type: p('type'), data: p('data') })
    .prepare()
  const selectEvents = db
    .select({ data: responseEvents.data })
    .from(responseEvents)
    .where(and(eq(responseEvents.responseId, p('responseId')), gt(responseEvents.sequenceNumber, p('afterSeq'))))
    .orderBy(asc(responseEvents.sequenceNumber))
    .prepare()

  // loadChain: raw statements on the bun:sqlite client (drizzle has no recursive CTE builder).
  // 1) the chain's responses, oldest first
  const selectChainResponses = client.prepare<RawResponseRow, Record<string, string>>(
    `${CHAIN_CTE} SELECT r.* FROM chain c JOIN responses r ON r.id = c.id ORDER BY c.depth DESC`,
  )
  // 2) all their items in one go, given the ids oldest first (a JSON array, so any chain length binds as one
  //    parameter): responses in chain order, each one's input items before its output items, by position.
  const selectChainItems = client.prepare<{ body: string }, Record<string, string>>(
    `SELECT i.body FROM json_each($ids) j JOIN items i ON i.response_id = j.value
      WHERE i.kind IN ('input', 'output') ORDER BY j.key, i.kind, i.position`,
  )

  /**
   * Writes take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that upgrades to a writer can
   * fail with SQLITE_BUSY at once when another process writes, without waiting out busy_timeout.
   */
  function writeTransaction<T>(fn: () => T): T {
    return db.transaction(fn, { behavior: 'immediate' })
  }

  function insertItems(tenant: string, owner: { responseId?: string; conversationId?: string }, kind: ItemRow['kind'], list: ItemBody[]) {
    list.forEach((body, position) => {
      insertItem.run({
        id: body.id,
        tenant,
        responseId: owner.responseId ?? null,
        conversationId: owner.conversationId ?? null,
        kind,
        position,
        type: body.type,
        body,
      })
    })
  }

  /** Position of the input item `itemId` of a response, or an error naming the cursor parameter. */
  function cursorPosition(responseId: string, itemId: string, param: 'after' | 'before'): number {
    const row = db
      .select({ position: items.position })
      .from(items)
      .where(and(eq(items.responseId, responseId), eq(items.kind, 'input'), eq(items.id, itemId)))
      .orderBy(asc(items.position))
      .limit(1)
      .get()
    if (!row) throw ApiError.badRequest(`No item with id '${itemId}' in this list`, param)
    return row.position
  }

  const store: Store = {
    dialect: 'sqlite',

    async createResponse(rec, inputItems) {
      writeTransaction(() => {
        insertResponse.run({ ...rec })
        insertItems(rec.tenant, { responseId: rec.id }, 'input', inputItems)
      })
    },

    async updateResponse(tenant, id, patch, outputItems) {
      writeTransaction(() => {
        const { changes } = patchResponse.run({ ...patch, updatedAt: Date.now(), id, tenant }) as unknown as Changes
        // A response deleted while it ran stays deleted: nothing to attach the output to.
        if (changes === 0) return
        deleteOutputItems.run({ responseId: id })
        insertItems(tenant, { responseId: id }, 'output', outputItems)
      })
    },

    async getResponse(tenant, id) {
      return (selectResponse.get({ id, tenant }) as ResponseRecord | undefined) ?? null
    },

    async deleteResponse(tenant, id) {
      // items and events go with it (ON DELETE CASCADE)
      const { changes } = db
        .delete(responses)
        .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
        .run() as unknown as Changes
      return changes > 0
    },

    async listInputItems(tenant, responseId, opts: ListOptions): Promise<ItemPage | null> {
      return db.transaction(() => {
        if (!tenantHasResponse.get({ id: responseId, tenant })) return null
        const conds: SQL[] = [eq(items.responseId, responseId), eq(items.kind, 'input')]
        // Position ranges in list order: in `asc`, "after X" means a larger position; in `desc`, a smaller one.
        const later = opts.order === 'asc' ? gt : lt
        const earlier = opts.order === 'asc' ? lt : gt
        if (opts.after !== undefined) conds.push(later(items.position, cursorPosition(responseId, opts.after, 'after')))
        if (opts.before !== undefined) conds.push(earlier(items.position, cursorPosition(responseId, opts.before, 'before')))
        // With only `before`, the page is the one just before the cursor (walk backwards, then restore the order);
        // otherwise the page starts right after `after` (or at the start of the list).
        const backwards = opts.before !== undefined && opts.after === undefined
        const ascending = (opts.order === 'asc') !== backwards
        const rows = db
          .select({ body: items.body })
          .from(items)
          .where(and(...conds))
          .orderBy(ascending ? asc(items.position) : desc(items.position))
          .limit(opts.limit + 1)
          .all()
        const hasMore = rows.length > opts.limit
        const page = rows.slice(0, opts.limit).map((r) => r.body)
        if (backwards) page.reverse()
        return { items: page, hasMore }
      })
    },

    async getOutputItems(tenant, responseId) {
      return db.transaction(() => {
        if (!tenantHasResponse.get({ id: responseId, tenant })) return []
        return selectOutputItems.all({ responseId }).map((r) => r.body)
      })
    },

    async loadChain(tenant, responseId): Promise<Chain | null> {
      // One read transaction so both queries see the same snapshot.
      return db.transaction(() => {
        const chain = selectChainResponses.all({ id: responseId, tenant })
        if (chain.length === 0) return null
        const rows = selectChainItems.all({ ids: JSON.stringify(chain.map((r) => r.id)) })
        return { responses: chain.map(fromRawResponse), items: rows.map((r) => JSON.parse(r.body) as ItemBody) }
      })
    },

    async appendEvents(responseId, events: EventBody[]) {
      writeTransaction(() => {
        // The events of a response deleted mid-stream are dropped with it.
        if (!responseExists.get({ id: responseId })) return
        for (const event of events) {
          insertEvent.run({ responseId, sequenceNumber: event.sequence_number, type: event.type, data: event })
        }
      })
    },

    async listEvents(responseId, afterSeq) {
      return selectEvents.all({ responseId, afterSeq }).map((r) => r.data)
    },

    async failInterrupted(message, now) {
      const error = { code: 'server_error', message }
      return writeTransaction(() => {
        const unfinished = inArray(responses.status, [...UNFINISHED])
        const rows = db.select({ id: responses.id }).from(responses).where(unfinished).all()
        if (rows.length === 0) return []
        db.update(responses)
          .set({
            status: 'failed',
            error,
            completedAt: now,
            updatedAt: now,
            // keep the stored Response object consistent with the columns, so GET shows the failure
            response: sql`json_set(${responses.response}, '$.status', 'failed', '$.error', json(${JSON.stringify(error)}))`,
          })
          .where(unfinished)
          .run()
        return rows.map((r) => r.id)
      })
    },

    async createConversation(rec: ConversationRecord, list: ItemBody[]) {
      writeTransaction(() => {
        db.insert(conversations).values(rec).run()
        insertItems(rec.tenant, { conversationId: rec.id }, 'conversation', list)
      })
    },

    async getConversation(tenant, id) {
      const row = db
        .select({
          id: conversations.id,
          tenant: conversations.tenant,
          metadata: conversations.metadata,
          createdAt: conversations.createdAt,
          updatedAt: conversations.updatedAt,
        })
        .from(conversations)
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), sql`${conversations.deletedAt} is null`))
        .get()
      return row ?? null
    },

    async ping() {
      client.query('select 1').get()
    },

    async close() {
      client.close()
    },
  }
  return store
}
