// The Store on PostgreSQL (Bun's built-in SQL client through drizzle-orm/bun-sql), with the semantics of the SQLite
// store (../sqlite/repository.ts) that several gateway processes can share:
// - every write of several rows is one transaction (READ COMMITTED);
// - a running turn's response row and a conversation row are locked with SELECT … FOR NO KEY UPDATE before they are
//   judged and changed, always response before conversation, so no two transactions wait on each other in a cycle;
// - the conversation turn lock is a column changed only under that row lock; a holder's liveness is read by a
//   statement issued after the lock was granted, so it sees every turn that committed before;
// - loadChain is two queries whatever the chain length (a recursive CTE, then all items), in one REPEATABLE READ
//   snapshot;
// - JSON objects are rewritten in JS, not with jsonb functions, so stored objects keep their key order.

import type { SQL as BunSQL } from 'bun'
import { and, asc, desc, eq, gt, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm'
import type { BunSQLDatabase, BunSQLQueryResultHKT } from 'drizzle-orm/bun-sql'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import { InvalidCursorError } from '../errors'
import type {
  Chain,
  ConversationConflict,
  ConversationRecord,
  EventBody,
  ItemBody,
  ItemPage,
  Lease,
  ListOptions,
  ResponseRecord,
  ResponseStatus,
  Store,
} from '../types'
import * as schema from './schema'
import { lazyJson } from '../shared'

const { responses, items, responseEvents, conversations } = schema

type Db = BunSQLDatabase<typeof schema>
/** The database or a transaction on it: helpers run on either. */
type Q = PgDatabase<BunSQLQueryResultHKT, typeof schema>
type ItemRow = typeof items.$inferInsert

const UNFINISHED = ['queued', 'in_progress'] as const
const isUnfinished = (status: ResponseStatus) => status === 'queued' || status === 'in_progress'

/** Rows per multi-row INSERT: 9 parameters each stays far below PostgreSQL's 65,535 bind parameters. */
const INSERT_CHUNK = 1000

/** SQLSTATE foreign_key_violation, from Bun's PostgresError (drizzle wraps it as the `cause`). */
function isForeignKeyViolation(e: unknown): boolean {
  for (let err = e as { errno?: unknown; cause?: unknown } | undefined; err; err = err.cause as typeof err) {
    if (err.errno === '23503') return true
  }
  return false
}

/** The columns of a ResponseRecord (the lease columns are the store's own business). */
const recordColumns = {
  id: responses.id,
  tenant: responses.tenant,
  status: responses.status,
  model: responses.model,
  request: responses.request,
  response: responses.response,
  error: responses.error,
  previousResponseId: responses.previousResponseId,
  conversationId: responses.conversationId,
  background: responses.background,
  createdAt: responses.createdAt,
  updatedAt: responses.updatedAt,
  completedAt: responses.completedAt,
  requestId: responses.requestId,
}

/**
 * A recursive walk up previous_response_id from one response, tenant-scoped at every step. `depth` 0 is the
 * response asked for. The depth cap only guards against a (never legitimately created) cycle.
 * request/response come as text and are parsed on first read (see fromChainRow).
 */
const CHAIN_RESPONSES = `
  WITH RECURSIVE chain(id, prev, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = $1 AND tenant = $2
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM chain c JOIN responses r ON r.id = c.prev
     WHERE r.tenant = $2 AND c.depth < 1000000
  )
  SELECT r.id, r.tenant, r.status, r.model, r.request::text AS request, r.response::text AS response, r.error,
         r.previous_response_id, r.conversation_id, r.background, r.created_at, r.updated_at, r.completed_at, r.request_id
    FROM chain c JOIN responses r ON r.id = c.id
   ORDER BY c.depth DESC`

/** All items of the given responses (ids oldest first): in chain order, each one's inputs before its outputs. */
const CHAIN_ITEMS = `
  SELECT i.body
    FROM unnest($1::text[]) WITH ORDINALITY AS j(id, ord)
    JOIN items i ON i.response_id = j.id
   WHERE i.kind IN ('input', 'output')
   ORDER BY j.ord, i.kind = 'output', i.position`

interface ChainRow {
  id: string
  tenant: string
  status: ResponseStatus
  model: string
  request: string
  response: string
  error: { code: string; message: string } | null
  previous_response_id: string | null
  conversation_id: string | null
  background: boolean
  // int8 arrives as a string from Bun's client
  created_at: string
  updated_at: string
  completed_at: string | null
  request_id: string | null
}

/**
 * A chain's records, with `request` and `response` parsed on first read: rehydration needs only the items, and
 * those two bodies are the bulk of a long chain's JSON. To callers they behave as plain data properties.
 */
function fromChainRow(row: ChainRow): ResponseRecord {
  const rec = {
    id: row.id,
    tenant: row.tenant,
    status: row.status,
    model: row.model,
    request: undefined as unknown as Record<string, unknown>,
    response: undefined as unknown as Record<string, unknown>,
    error: row.error,
    previousResponseId: row.previous_response_id,
    conversationId: row.conversation_id,
    background: row.background,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    completedAt: row.completed_at === null ? null : Number(row.completed_at),
    requestId: row.request_id,
  }
  lazyJson(rec, 'request', row.request)
  lazyJson(rec, 'response', row.response)
  return rec
}

export function createPostgresStore(db: Db, client: BunSQL): Store {
  /** A consistent read of several statements (the SQLite store reads inside one transaction too). */
  function snapshot<T>(fn: (tx: Q) => Promise<T>): Promise<T> {
    return db.transaction(fn, { isolationLevel: 'repeatable read', accessMode: 'read only' })
  }

  async function insertItems(q: Q, tenant: string, owner: { responseId?: string; conversationId?: string }, kind: ItemRow['kind'], list: ItemBody[], first = 0) {
    const rows: ItemRow[] = list.map((body, i) => ({
      id: body.id,
      tenant,
      responseId: owner.responseId ?? null,
      conversationId: owner.conversationId ?? null,
      kind,
      position: first + i,
      type: body.type,
      body,
    }))
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await q.insert(items).values(rows.slice(i, i + INSERT_CHUNK))
  }

  async function insertEvents(q: Q, responseId: string, events: EventBody[]) {
    for (let i = 0; i < events.length; i += INSERT_CHUNK)
      await q.insert(responseEvents).values(events.slice(i, i + INSERT_CHUNK).map((event) => ({ responseId, sequenceNumber: event.sequence_number, type: event.type, data: event })))
  }

  async function replaceOutputItems(q: Q, tenant: string, responseId: string, list: ItemBody[]) {
    await q.delete(items).where(and(eq(items.responseId, responseId), eq(items.kind, 'output')))
    await insertItems(q, tenant, { responseId }, 'output', list)
  }

  /** The response's status and conversation, its row locked until the transaction ends; null when unknown. */
  async function lockResponse(tx: Q, tenant: string, id: string) {
    const [row] = await tx
      .select({ status: responses.status, conversationId: responses.conversationId })
      .from(responses)
      .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
      .for('no key update')
    return row ?? null
  }

  /**
   * Locks the conversation row (not deleted) and tells whether a turn holds it: a response still queued/in_progress
   * whose lease has not expired. The holder is read by a second statement, after the lock is granted, so it sees
   * a turn that another process started (and committed) while we waited.
   */
  async function lockConversation(tx: Q, tenant: string, id: string): Promise<ConversationConflict | null> {
    const [conv] = await tx
      .select({ holder: conversations.turnResponseId })
      .from(conversations)
      .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
      .for('no key update')
    if (!conv) return { ok: false, reason: 'not_found' }
    if (conv.holder === null) return null
    const [busy] = await tx
      .select({ id: responses.id })
      .from(responses)
      .where(and(eq(responses.id, conv.holder), inArray(responses.status, [...UNFINISHED]), sql`${responses.leaseExpiresAt} >= ${Date.now()}`))
    return busy ? { ok: false, reason: 'locked', holder: conv.holder } : null
  }

  /** Appends items after the conversation's last one (positions keep growing; deleted items leave gaps). Needs the conversation's lock. */
  async function appendConversationItems(tx: Q, tenant: string, conversationId: string, list: ItemBody[], now: number) {
    const [last] = await tx
      .select({ position: sql<number | null>`max(${items.position})` })
      .from(items)
      .where(and(eq(items.conversationId, conversationId), eq(items.kind, 'conversation')))
    await insertItems(tx, tenant, { conversationId }, 'conversation', list, (last?.position ?? -1) + 1)
    await tx.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, conversationId))
  }

  async function conversationExists(q: Q, tenant: string, id: string): Promise<boolean> {
    const [row] = await q
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
    return !!row
  }

  async function tenantHasResponse(q: Q, tenant: string, id: string): Promise<boolean> {
    const [row] = await q
      .select({ id: responses.id })
      .from(responses)
      .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
    return !!row
  }

  /** Position of the item `itemId` in a list (the first, if an id repeats), or an error naming the cursor parameter. */
  async function cursorPosition(q: Q, list: SQL, itemId: string, param: 'after' | 'before'): Promise<number> {
    const [row] = await q
      .select({ position: items.position })
      .from(items)
      .where(and(list, eq(items.id, itemId)))
      .orderBy(asc(items.position))
      .limit(1)
    if (!row) throw new InvalidCursorError(param, itemId)
    return row.position
  }

  /** One page of an item list (a response's input items, a conversation's items), by item id cursors. */
  async function itemPage(q: Q, list: SQL, opts: ListOptions): Promise<ItemPage> {
    const conds: SQL[] = [list]
    // Position ranges in list order: in `asc`, "after X" means a larger position; in `desc`, a smaller one.
    const later = opts.order === 'asc' ? gt : lt
    const earlier = opts.order === 'asc' ? lt : gt
    if (opts.after !== undefined) conds.push(later(items.position, await cursorPosition(q, list, opts.after, 'after')))
    if (opts.before !== undefined) conds.push(earlier(items.position, await cursorPosition(q, list, opts.before, 'before')))
    // With only `before`, the page is the one just before the cursor (walk backwards, then restore the order);
    // otherwise the page starts right after `after` (or at the start of the list).
    const backwards = opts.before !== undefined && opts.after === undefined
    const ascending = (opts.order === 'asc') !== backwards
    const rows = await q
      .select({ body: items.body })
      .from(items)
      .where(and(...conds))
      .orderBy(ascending ? asc(items.position) : desc(items.position))
      .limit(opts.limit + 1)
    const hasMore = rows.length > opts.limit
    const page = rows.slice(0, opts.limit).map((r) => r.body)
    if (backwards) page.reverse()
    return { items: page, hasMore }
  }

  const conversationList = (id: string) => and(eq(items.conversationId, id), eq(items.kind, 'conversation'))!
  const selectRecord = (q: Q, tenant: string, id: string) =>
    q
      .select(recordColumns)
      .from(responses)
      .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
      .then((rows) => (rows[0] as ResponseRecord | undefined) ?? null)
  const selectStatus = (q: Q, tenant: string, id: string) =>
    q
      .select({ status: responses.status })
      .from(responses)
      .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
      .then((rows) => rows[0]?.status ?? null)

  const store: Store = {
    dialect: 'postgres',

    async createResponse(rec, inputItems, lease?: Lease) {
      const row = { ...rec, leaseOwner: lease?.owner ?? null, leaseExpiresAt: lease?.expiresAt ?? null }
      if (inputItems.length === 0) {
        await db.insert(responses).values(row)
        return
      }
      await db.transaction(async (tx) => {
        await tx.insert(responses).values(row)
        await insertItems(tx, rec.tenant, { responseId: rec.id }, 'input', inputItems)
      })
    },

    async updateResponse(tenant, id, patch, outputItems) {
      await db.transaction(async (tx) => {
        const updated = await tx
          .update(responses)
          .set({ ...patch, updatedAt: Date.now() })
          .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
          .returning({ id: responses.id })
        // A response deleted while it ran stays deleted: nothing to attach the output to.
        if (updated.length === 0) return
        await replaceOutputItems(tx, tenant, id, outputItems)
      })
    },

    async getResponse(tenant, id) {
      return selectRecord(db, tenant, id)
    },

    async deleteResponse(tenant, id) {
      // items and events go with it (ON DELETE CASCADE)
      const deleted = await db
        .delete(responses)
        .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
        .returning({ id: responses.id })
      return deleted.length > 0
    },

    async listInputItems(tenant, responseId, opts: ListOptions): Promise<ItemPage | null> {
      return snapshot(async (tx) => {
        if (!(await tenantHasResponse(tx, tenant, responseId))) return null
        return itemPage(tx, and(eq(items.responseId, responseId), eq(items.kind, 'input'))!, opts)
      })
    },

    async getItems(tenant, ids) {
      const out = new Map<string, ItemBody>()
      if (ids.length === 0) return out
      // Oldest first, so a later copy of an id replaces an earlier one; items of a deleted conversation do not count.
      const rows = await db
        .select({ id: items.id, body: items.body })
        .from(items)
        .leftJoin(conversations, eq(conversations.id, items.conversationId))
        .where(and(eq(items.tenant, tenant), inArray(items.id, [...new Set(ids)]), isNull(conversations.deletedAt)))
        .orderBy(asc(items.seq))
      for (const r of rows) out.set(r.id, r.body)
      return out
    },

    async getOutputItems(tenant, responseId) {
      // one statement: the tenant check is a join
      const rows = await db
        .select({ body: items.body })
        .from(items)
        .innerJoin(responses, eq(responses.id, items.responseId))
        .where(and(eq(items.responseId, responseId), eq(items.kind, 'output'), eq(responses.tenant, tenant)))
        .orderBy(asc(items.position))
      return rows.map((r) => r.body)
    },

    async loadChain(tenant, responseId): Promise<Chain | null> {
      // Raw statements on Bun's client (drizzle has no recursive CTE builder), both in one snapshot.
      return client.begin('isolation level repeatable read read only', async (tx) => {
        const chain: ChainRow[] = await tx.unsafe(CHAIN_RESPONSES, [responseId, tenant])
        if (chain.length === 0) return null
        const rows: { body: ItemBody }[] = await tx.unsafe(CHAIN_ITEMS, [chain.map((r) => r.id)])
        return { responses: chain.map(fromChainRow), items: rows.map((r) => r.body) }
      })
    },

    async appendEvents(responseId, events: EventBody[]) {
      if (events.length === 0) return
      try {
        // All or nothing: one statement for a batch of up to INSERT_CHUNK events (the engine writes 64 at most).
        if (events.length <= INSERT_CHUNK) await insertEvents(db, responseId, events)
        else await db.transaction((tx) => insertEvents(tx, responseId, events))
      } catch (e) {
        // The events of a response deleted mid-stream are dropped with it.
        if (isForeignKeyViolation(e)) return
        throw e
      }
    },

    async listEvents(responseId, afterSeq) {
      const rows = await db
        .select({ data: responseEvents.data })
        .from(responseEvents)
        .where(and(eq(responseEvents.responseId, responseId), gt(responseEvents.sequenceNumber, afterSeq)))
        .orderBy(asc(responseEvents.sequenceNumber))
      return rows.map((r) => r.data)
    },

    async hasEvents(responseId) {
      const rows = await db.select({ seq: responseEvents.sequenceNumber }).from(responseEvents).where(eq(responseEvents.responseId, responseId)).limit(1)
      return rows.length > 0
    },

    async checkpointResponse(tenant, id, opts) {
      const { lease, progress } = opts
      if (!lease && !progress) return selectStatus(db, tenant, id)
      if (!progress) {
        // A lease renewal alone is one conditional statement: a cancelled (or recovered) response is left as it is.
        const renewed = await db
          .update(responses)
          .set({ leaseOwner: lease!.owner, leaseExpiresAt: lease!.expiresAt })
          .where(and(eq(responses.id, id), eq(responses.tenant, tenant), inArray(responses.status, [...UNFINISHED])))
          .returning({ status: responses.status })
        return renewed[0]?.status ?? selectStatus(db, tenant, id)
      }
      return db.transaction(async (tx) => {
        const row = await lockResponse(tx, tenant, id)
        if (!row) return null
        // A cancelled (or recovered) response is not overwritten by the process still running it.
        if (!isUnfinished(row.status)) return row.status
        await tx
          .update(responses)
          .set({
            status: progress.status,
            response: progress.response,
            error: null,
            completedAt: null,
            updatedAt: Date.now(),
            ...(lease ? { leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt } : {}),
          })
          .where(eq(responses.id, id))
        await replaceOutputItems(tx, tenant, id, progress.outputItems)
        return progress.status
      })
    },

    async finishResponse(tenant, id, patch, outputItems, opts = {}) {
      return db.transaction(async (tx) => {
        const row = await lockResponse(tx, tenant, id)
        if (!row) return { status: null, appended: false }
        const running = isUnfinished(row.status)
        const acknowledgesCancel = row.status === 'cancelled' && patch.status === 'cancelled'
        const releaseLock = async () => {
          if (row.conversationId)
            await tx
              .update(conversations)
              .set({ turnResponseId: null })
              .where(and(eq(conversations.id, row.conversationId), eq(conversations.turnResponseId, id)))
        }
        if (!running && !acknowledgesCancel) {
          await releaseLock()
          return { status: row.status, appended: false }
        }
        await tx
          .update(responses)
          .set({ ...patch, updatedAt: Date.now(), leaseOwner: null, leaseExpiresAt: null })
          .where(eq(responses.id, id))
        await replaceOutputItems(tx, tenant, id, outputItems)
        await insertEvents(tx, id, opts.events ?? [])
        let appended = false
        if (row.conversationId && running && opts.conversationItems?.length) {
          // Only while this turn still holds the conversation: a turn whose lease expired (its process stalled
          // past it) may have been overtaken, and appending now would interleave with the newer turn.
          const [conv] = await tx
            .select({ holder: conversations.turnResponseId })
            .from(conversations)
            .where(and(eq(conversations.id, row.conversationId), isNull(conversations.deletedAt)))
            .for('no key update')
          if (conv?.holder === id) {
            await appendConversationItems(tx, tenant, row.conversationId, opts.conversationItems, Date.now())
            appended = true
          }
        }
        await releaseLock()
        return { status: patch.status, appended }
      })
    },

    async cancelResponse(tenant, id, now) {
      return db.transaction(async (tx) => {
        const [rec] = (await tx
          .select(recordColumns)
          .from(responses)
          .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
          .for('no key update')) as ResponseRecord[]
        if (!rec) return null
        if (!isUnfinished(rec.status)) return rec
        // status set in place (the object keeps its key order, as SQLite's json_set does)
        const response = { ...rec.response, status: 'cancelled' }
        await tx
          .update(responses)
          .set({ status: 'cancelled', updatedAt: now, leaseOwner: null, leaseExpiresAt: null, response })
          .where(eq(responses.id, id))
        return { ...rec, status: 'cancelled' as const, updatedAt: now, response }
      })
    },

    async failInterrupted(message, now, opts = {}) {
      const error = { code: 'server_error', message }
      const gone = (r: { owner: string | null; expiresAt: number | null }) =>
        r.expiresAt === null || r.expiresAt < now || (r.owner !== null && opts.alive !== undefined && !opts.alive(r.owner))
      const leaseColumns = { id: responses.id, owner: responses.leaseOwner, expiresAt: responses.leaseExpiresAt }
      // A first look without locks: usually nothing is gone and the periodic sweep ends here.
      const candidates = (await db.select(leaseColumns).from(responses).where(inArray(responses.status, [...UNFINISHED]))).filter(gone)
      if (candidates.length === 0) return []
      return db.transaction(async (tx) => {
        // Locked and judged again: a lease renewed meanwhile keeps its turn. Rows another transaction holds (a
        // turn finishing, another replica's sweep) are skipped — whoever holds them decides, and no sweep waits.
        const locked = await tx
          .select({ ...leaseColumns, response: responses.response })
          .from(responses)
          .where(and(inArray(responses.id, candidates.map((c) => c.id)), inArray(responses.status, [...UNFINISHED])))
          .orderBy(asc(responses.id))
          .for('no key update', { skipLocked: true })
        const failed = locked.filter(gone)
        for (const row of failed) {
          await tx
            .update(responses)
            .set({
              status: 'failed',
              error,
              completedAt: now,
              updatedAt: now,
              leaseOwner: null,
              leaseExpiresAt: null,
              // keep the stored Response object consistent with the columns, so GET shows the failure
              response: { ...row.response, status: 'failed', error },
            })
            .where(eq(responses.id, row.id))
        }
        const ids = failed.map((r) => r.id)
        if (ids.length) {
          // A follower of the log sees the turn end: one response.failed after the last stored event, with the
          // (already failed) response object.
          await tx.execute(sql`
            INSERT INTO response_events (response_id, sequence_number, type, data)
            SELECT r.id, m.seq + 1, 'response.failed',
                   json_build_object('type', 'response.failed', 'sequence_number', m.seq + 1, 'response', r.response)
              FROM (SELECT response_id, max(sequence_number) AS seq FROM response_events
                     WHERE ${inArray(responseEvents.responseId, ids)} GROUP BY response_id) m
              JOIN responses r ON r.id = m.response_id`)
        }
        return ids
      })
    },

    async createConversation(rec: ConversationRecord, list: ItemBody[]) {
      await db.transaction(async (tx) => {
        await tx.insert(conversations).values(rec)
        await insertItems(tx, rec.tenant, { conversationId: rec.id }, 'conversation', list)
      })
    },

    async getConversation(tenant, id) {
      const [row] = await db
        .select({
          id: conversations.id,
          tenant: conversations.tenant,
          metadata: conversations.metadata,
          createdAt: conversations.createdAt,
          updatedAt: conversations.updatedAt,
        })
        .from(conversations)
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
      return row ?? null
    },

    async updateConversation(tenant, id, metadata, now) {
      const [row] = await db
        .update(conversations)
        .set({ metadata, updatedAt: now })
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
        .returning({
          id: conversations.id,
          tenant: conversations.tenant,
          metadata: conversations.metadata,
          createdAt: conversations.createdAt,
          updatedAt: conversations.updatedAt,
        })
      return row ?? null
    },

    async deleteConversation(tenant, id, now) {
      // Soft: the row stays (responses keep pointing at it), every read treats it as unknown.
      const deleted = await db
        .update(conversations)
        .set({ deletedAt: now, updatedAt: now })
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
        .returning({ id: conversations.id })
      return deleted.length > 0
    },

    async listConversationItems(tenant, id, opts) {
      return snapshot(async (tx) => ((await conversationExists(tx, tenant, id)) ? itemPage(tx, conversationList(id), opts) : null))
    },

    async addConversationItems(tenant, id, list, now) {
      return db.transaction(async (tx) => {
        const conflict = await lockConversation(tx, tenant, id)
        if (conflict) return conflict
        await appendConversationItems(tx, tenant, id, list, now)
        return { ok: true as const, items: list }
      })
    },

    async getConversationItem(tenant, id, itemId) {
      // one statement: the conversation check is a join
      const [row] = await db
        .select({ body: items.body })
        .from(items)
        .innerJoin(conversations, eq(conversations.id, items.conversationId))
        .where(and(conversationList(id), eq(items.id, itemId), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
        .orderBy(asc(items.position))
        .limit(1)
      return row?.body ?? null
    },

    async deleteConversationItem(tenant, id, itemId, now) {
      return db.transaction(async (tx) => {
        // the conversation's lock: a delete does not slip between a turn's read of the history and its append
        const [conv] = await tx
          .select({ id: conversations.id })
          .from(conversations)
          .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
          .for('no key update')
        if (!conv) return false
        // every copy of the id (a client may have added the same item twice)
        const deleted = await tx.delete(items).where(and(conversationList(id), eq(items.id, itemId))).returning({ seq: items.seq })
        if (deleted.length > 0) await tx.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, id))
        return deleted.length > 0
      })
    },

    async startConversationTurn(rec, inputItems, lease) {
      const conversationId = rec.conversationId
      if (!conversationId) throw new Error('startConversationTurn needs rec.conversationId')
      return db.transaction(async (tx) => {
        const conflict = await lockConversation(tx, rec.tenant, conversationId)
        if (conflict) return conflict
        await tx.update(conversations).set({ turnResponseId: rec.id }).where(eq(conversations.id, conversationId))
        await tx.insert(responses).values({ ...rec, leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt })
        await insertItems(tx, rec.tenant, { responseId: rec.id }, 'input', inputItems)
        const history = await tx
          .select({ body: items.body })
          .from(items)
          .where(conversationList(conversationId))
          .orderBy(asc(items.position))
        return { ok: true as const, history: history.map((r) => r.body) }
      })
    },

    async pruneResponses(before, limit) {
      // items and events go with them (ON DELETE CASCADE)
      const rows = await client.unsafe(
        `DELETE FROM responses WHERE id IN (
           SELECT id FROM responses WHERE created_at < $1 AND status NOT IN ('queued', 'in_progress') LIMIT $2)
         RETURNING 1`,
        [before, limit],
      )
      return rows.length
    },

    async pruneEventLogs(before, limit) {
      // From the event table's own key: only responses that still have a log are looked at, however many are stored.
      const rows = await client.unsafe(
        `WITH picked AS (
           SELECT r.id FROM (SELECT DISTINCT response_id FROM response_events) e JOIN responses r ON r.id = e.response_id
            WHERE r.status NOT IN ('queued', 'in_progress') AND coalesce(r.completed_at, r.updated_at) < $1 LIMIT $2),
         gone AS (DELETE FROM response_events WHERE response_id IN (SELECT id FROM picked) RETURNING response_id)
         SELECT count(DISTINCT response_id)::int AS responses, count(*)::int AS events FROM gone`,
        [before, limit],
      )
      return { responses: Number(rows[0]?.responses ?? 0), events: Number(rows[0]?.events ?? 0) }
    },

    async pruneConversations(before, limit) {
      const rows = await client.unsafe(
        `DELETE FROM conversations WHERE id IN (
           SELECT c.id FROM conversations c
            WHERE c.updated_at < $1
              AND (c.deleted_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM items i WHERE i.conversation_id = c.id))
              AND NOT EXISTS (SELECT 1 FROM responses h WHERE h.id = c.turn_response_id AND h.status IN ('queued', 'in_progress'))
            LIMIT $2)
         RETURNING 1`,
        [before, limit],
      )
      return rows.length
    },

    async reclaimSpace() {
      // Autovacuum makes deleted rows' space reusable; giving it back to the file system takes VACUUM FULL (an
      // exclusive lock on the table), which is the operator's call, not the gateway's.
      return { freedPages: 0, more: false, vacuumMode: 'n/a' as const }
    },

    async ping() {
      await client.unsafe('select 1')
    },

    async close() {
      // queries in flight get a moment to finish; then the pool's connections are closed
      await client.close({ timeout: 5 })
    },
  }
  return store
}
