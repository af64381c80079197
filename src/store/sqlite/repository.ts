// The Store on SQLite (bun:sqlite through drizzle). bun:sqlite is synchronous: every method does its work
// synchronously inside one transaction where it writes several rows, and returns a settled promise.
// Hot paths use statements prepared once per store; loadChain is two queries whatever the chain length:
// a recursive CTE for the responses, then one query for all their items.
// Several processes may share the file: running turns carry a lease, a conversation's turn lock is a column
// checked and set inside one BEGIN IMMEDIATE transaction, and cancel is a status change the runner polls.

import type { Changes, Database } from 'bun:sqlite'
import { and, asc, desc, eq, gt, inArray, isNull, lt, sql, type SQL } from 'drizzle-orm'
import type { BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
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
const p = sql.placeholder

type Db = BunSQLiteDatabase<typeof schema>
type ItemRow = typeof items.$inferInsert

const UNFINISHED = ['queued', 'in_progress'] as const
const isUnfinished = (status: ResponseStatus) => status === 'queued' || status === 'in_progress'

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
 * A conversation (not deleted) and whether its turn lock is taken: by a response still queued/in_progress whose
 * lease has not expired. A holder that ended, was cancelled, or whose process died (lease expired) frees it.
 */
const CONVERSATION_LOCK = `
  SELECT c.turn_response_id AS holder,
         EXISTS (SELECT 1 FROM responses h
                  WHERE h.id = c.turn_response_id AND h.status IN ('queued', 'in_progress') AND h.lease_expires_at >= $now) AS busy
    FROM conversations c
   WHERE c.id = $id AND c.tenant = $tenant AND c.deleted_at IS NULL`

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
  request_id: string | null
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
    requestId: row.request_id,
  }
  lazyJson(rec, 'request', row.request)
  lazyJson(rec, 'response', row.response)
  return rec
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
      leaseOwner: p('leaseOwner'),
      leaseExpiresAt: p('leaseExpiresAt'),
      requestId: p('requestId'),
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
    .select(recordColumns)
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

  // ---- retention (one batch each; src/store/retention.ts runs them) ----
  const pruneResponsesStmt = client.prepare<never, Record<string, number>>(
    `DELETE FROM responses WHERE id IN (
       SELECT id FROM responses WHERE created_at < $before AND status NOT IN ('queued', 'in_progress') LIMIT $limit)`,
  )
  // From the event table's own key: only responses that still have a log are looked at, however many are stored.
  const selectPrunableLogs = client.prepare<{ id: string }, Record<string, number>>(
    `SELECT r.id FROM (SELECT DISTINCT response_id FROM response_events) e JOIN responses r ON r.id = e.response_id
      WHERE r.status NOT IN ('queued', 'in_progress') AND coalesce(r.completed_at, r.updated_at) < $before LIMIT $limit`,
  )
  const deleteLogs = client.prepare<never, Record<string, string>>(`DELETE FROM response_events WHERE response_id IN (SELECT value FROM json_each($ids))`)
  const pruneConversationsStmt = client.prepare<never, Record<string, number>>(
    `DELETE FROM conversations WHERE id IN (
       SELECT c.id FROM conversations c
        WHERE c.updated_at < $before
          AND (c.deleted_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM items i WHERE i.conversation_id = c.id))
          AND NOT EXISTS (SELECT 1 FROM responses h WHERE h.id = c.turn_response_id AND h.status IN ('queued', 'in_progress'))
        LIMIT $limit)`,
  )
  const selectConversationLock = client.prepare<{ holder: string | null; busy: number }, Record<string, string | number>>(CONVERSATION_LOCK)
  const selectRunState = db
    .select({ status: responses.status, conversationId: responses.conversationId })
    .from(responses)
    .where(and(eq(responses.id, p('id')), eq(responses.tenant, p('tenant'))))
    .prepare()
  const renewLease = db
    .update(responses)
    .set({ leaseOwner: p('owner') as unknown as string, leaseExpiresAt: p('expiresAt') as unknown as number })
    .where(eq(responses.id, p('id')))
    .prepare()
  const clearLease = db
    .update(responses)
    .set({ leaseOwner: null, leaseExpiresAt: null })
    .where(eq(responses.id, p('id')))
    .prepare()
  const selectConversationItems = db
    .select({ body: items.body })
    .from(items)
    .where(and(eq(items.conversationId, p('conversationId')), eq(items.kind, 'conversation')))
    .orderBy(asc(items.position))
    .prepare()
  const lastConversationPosition = db
    .select({ position: sql<number | null>`max(${items.position})` })
    .from(items)
    .where(and(eq(items.conversationId, p('conversationId')), eq(items.kind, 'conversation')))
    .prepare()

  /**
   * Writes take the write lock up front (BEGIN IMMEDIATE): a deferred transaction that upgrades to a writer can
   * fail with SQLITE_BUSY at once when another process writes, without waiting out busy_timeout.
   */
  function writeTransaction<T>(fn: () => T): T {
    return db.transaction(fn, { behavior: 'immediate' })
  }

  function insertItems(tenant: string, owner: { responseId?: string; conversationId?: string }, kind: ItemRow['kind'], list: ItemBody[], first = 0) {
    list.forEach((body, i) => {
      insertItem.run({
        id: body.id,
        tenant,
        responseId: owner.responseId ?? null,
        conversationId: owner.conversationId ?? null,
        kind,
        position: first + i,
        type: body.type,
        body,
      })
    })
  }

  /** Appends items after the conversation's last one (positions keep growing; deleted items leave gaps). */
  function appendConversationItems(tenant: string, conversationId: string, list: ItemBody[], now: number) {
    const last = lastConversationPosition.get({ conversationId })?.position ?? -1
    insertItems(tenant, { conversationId }, 'conversation', list, last + 1)
    db.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, conversationId)).run()
  }

  /** The conversation's lock state, or a conflict: unknown/deleted, or held by another running turn. */
  function conversationLock(tenant: string, id: string): ConversationConflict | null {
    const row = selectConversationLock.get({ id, tenant, now: Date.now() })
    if (!row) return { ok: false, reason: 'not_found' }
    if (row.busy) return { ok: false, reason: 'locked', holder: row.holder! }
    return null
  }

  function conversationExists(tenant: string, id: string): boolean {
    return !!db
      .select({ id: conversations.id })
      .from(conversations)
      .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
      .get()
  }

  /** Position of the item `itemId` in a list (the first, if an id repeats), or an error naming the cursor parameter. */
  function cursorPosition(list: SQL, itemId: string, param: 'after' | 'before'): number {
    const row = db
      .select({ position: items.position })
      .from(items)
      .where(and(list, eq(items.id, itemId)))
      .orderBy(asc(items.position))
      .limit(1)
      .get()
    if (!row) throw new InvalidCursorError(param, itemId)
    return row.position
  }

  /** One page of an item list (a response's input items, a conversation's items), by item id cursors. */
  function itemPage(list: SQL, opts: ListOptions): ItemPage {
    const conds: SQL[] = [list]
    // Position ranges in list order: in `asc`, "after X" means a larger position; in `desc`, a smaller one.
    const later = opts.order === 'asc' ? gt : lt
    const earlier = opts.order === 'asc' ? lt : gt
    if (opts.after !== undefined) conds.push(later(items.position, cursorPosition(list, opts.after, 'after')))
    if (opts.before !== undefined) conds.push(earlier(items.position, cursorPosition(list, opts.before, 'before')))
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
  }

  const conversationList = (id: string) => and(eq(items.conversationId, id), eq(items.kind, 'conversation'))!

  function failedEventsFor(ids: string[]) {
    // A follower of the log sees the turn end: one response.failed after the last stored event, with the
    // (already failed) response object.
    client
      .prepare(
        `INSERT INTO response_events (response_id, sequence_number, type, data)
         SELECT r.id, m.seq + 1, 'response.failed',
                json_object('type', 'response.failed', 'sequence_number', m.seq + 1, 'response', json(r.response))
           FROM (SELECT response_id, MAX(sequence_number) AS seq FROM response_events
                  WHERE response_id IN (SELECT value FROM json_each($ids)) GROUP BY response_id) m
           JOIN responses r ON r.id = m.response_id`,
      )
      .run({ ids: JSON.stringify(ids) })
  }

  const store: Store = {
    dialect: 'sqlite',

    async createResponse(rec, inputItems, lease?: Lease) {
      writeTransaction(() => {
        insertResponse.run({ ...rec, leaseOwner: lease?.owner ?? null, leaseExpiresAt: lease?.expiresAt ?? null })
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
        return itemPage(and(eq(items.responseId, responseId), eq(items.kind, 'input'))!, opts)
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

    async hasEvents(responseId) {
      return !!db.select({ seq: responseEvents.sequenceNumber }).from(responseEvents).where(eq(responseEvents.responseId, responseId)).limit(1).get()
    },

    async checkpointResponse(tenant, id, opts) {
      const { lease, progress } = opts
      if (!lease && !progress) return (selectRunState.get({ id, tenant })?.status as ResponseStatus | undefined) ?? null
      return writeTransaction(() => {
        const row = selectRunState.get({ id, tenant })
        if (!row) return null
        // A cancelled (or recovered) response is not overwritten by the process still running it.
        if (!isUnfinished(row.status)) return row.status
        if (lease) renewLease.run({ id, owner: lease.owner, expiresAt: lease.expiresAt })
        if (progress) {
          patchResponse.run({ status: progress.status, response: progress.response, error: null, completedAt: null, updatedAt: Date.now(), id, tenant })
          deleteOutputItems.run({ responseId: id })
          insertItems(tenant, { responseId: id }, 'output', progress.outputItems)
          return progress.status
        }
        return row.status
      })
    },

    async finishResponse(tenant, id, patch, outputItems, opts = {}) {
      return writeTransaction(() => {
        const row = selectRunState.get({ id, tenant })
        if (!row) return { status: null, appended: false }
        const running = isUnfinished(row.status)
        const acknowledgesCancel = row.status === 'cancelled' && patch.status === 'cancelled'
        const releaseLock = () => {
          if (row.conversationId)
            db.update(conversations)
              .set({ turnResponseId: null })
              .where(and(eq(conversations.id, row.conversationId), eq(conversations.turnResponseId, id)))
              .run()
        }
        if (!running && !acknowledgesCancel) {
          releaseLock()
          return { status: row.status, appended: false }
        }
        patchResponse.run({ ...patch, updatedAt: Date.now(), id, tenant })
        clearLease.run({ id })
        deleteOutputItems.run({ responseId: id })
        insertItems(tenant, { responseId: id }, 'output', outputItems)
        for (const event of opts.events ?? []) insertEvent.run({ responseId: id, sequenceNumber: event.sequence_number, type: event.type, data: event })
        let appended = false
        if (row.conversationId && running && opts.conversationItems?.length) {
          // Only while this turn still holds the conversation: a turn whose lease expired (its process stalled
          // past it) may have been overtaken, and appending now would interleave with the newer turn.
          const conv = db
            .select({ holder: conversations.turnResponseId })
            .from(conversations)
            .where(and(eq(conversations.id, row.conversationId), isNull(conversations.deletedAt)))
            .get()
          if (conv?.holder === id) {
            appendConversationItems(tenant, row.conversationId, opts.conversationItems, Date.now())
            appended = true
          }
        }
        releaseLock()
        return { status: patch.status, appended }
      })
    },

    async cancelResponse(tenant, id, now) {
      return writeTransaction(() => {
        const row = selectRunState.get({ id, tenant })
        if (!row) return null
        if (isUnfinished(row.status)) {
          db.update(responses)
            .set({
              status: 'cancelled',
              updatedAt: now,
              leaseOwner: null,
              leaseExpiresAt: null,
              response: sql`json_set(${responses.response}, '$.status', 'cancelled')`,
            })
            .where(eq(responses.id, id))
            .run()
        }
        return (selectResponse.get({ id, tenant }) as ResponseRecord | undefined) ?? null
      })
    },

    async failInterrupted(message, now, opts = {}) {
      const error = { code: 'server_error', message }
      return writeTransaction(() => {
        const rows = db
          .select({ id: responses.id, owner: responses.leaseOwner, expiresAt: responses.leaseExpiresAt })
          .from(responses)
          .where(inArray(responses.status, [...UNFINISHED]))
          .all()
        const gone = rows
          .filter((r) => r.expiresAt === null || r.expiresAt < now || (r.owner !== null && opts.alive !== undefined && !opts.alive(r.owner)))
          .map((r) => r.id)
        if (gone.length === 0) return []
        db.update(responses)
          .set({
            status: 'failed',
            error,
            completedAt: now,
            updatedAt: now,
            leaseOwner: null,
            leaseExpiresAt: null,
            // keep the stored Response object consistent with the columns, so GET shows the failure
            response: sql`json_set(${responses.response}, '$.status', 'failed', '$.error', json(${JSON.stringify(error)}))`,
          })
          .where(and(inArray(responses.status, [...UNFINISHED]), sql`${responses.id} IN (SELECT value FROM json_each(${JSON.stringify(gone)}))`))
          .run()
        failedEventsFor(gone)
        return gone
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

    async updateConversation(tenant, id, metadata, now) {
      const { changes } = db
        .update(conversations)
        .set({ metadata, updatedAt: now })
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
        .run() as unknown as Changes
      return changes > 0 ? store.getConversation(tenant, id) : null
    },

    async deleteConversation(tenant, id, now) {
      // Soft: the row stays (responses keep pointing at it), every read treats it as unknown.
      const { changes } = db
        .update(conversations)
        .set({ deletedAt: now, updatedAt: now })
        .where(and(eq(conversations.id, id), eq(conversations.tenant, tenant), isNull(conversations.deletedAt)))
        .run() as unknown as Changes
      return changes > 0
    },

    async listConversationItems(tenant, id, opts) {
      return db.transaction(() => (conversationExists(tenant, id) ? itemPage(conversationList(id), opts) : null))
    },

    async addConversationItems(tenant, id, list, now) {
      return writeTransaction(() => {
        const conflict = conversationLock(tenant, id)
        if (conflict) return conflict
        appendConversationItems(tenant, id, list, now)
        return { ok: true as const, items: list }
      })
    },

    async getConversationItem(tenant, id, itemId) {
      return db.transaction(() => {
        if (!conversationExists(tenant, id)) return null
        const row = db
          .select({ body: items.body })
          .from(items)
          .where(and(conversationList(id), eq(items.id, itemId)))
          .orderBy(asc(items.position))
          .limit(1)
          .get()
        return row?.body ?? null
      })
    },

    async deleteConversationItem(tenant, id, itemId, now) {
      return writeTransaction(() => {
        if (!conversationExists(tenant, id)) return false
        // every copy of the id (a client may have added the same item twice)
        const { changes } = db.delete(items).where(and(conversationList(id), eq(items.id, itemId))).run() as unknown as Changes
        if (changes > 0) db.update(conversations).set({ updatedAt: now }).where(eq(conversations.id, id)).run()
        return changes > 0
      })
    },

    async startConversationTurn(rec, inputItems, lease) {
      return writeTransaction(() => {
        const conversationId = rec.conversationId
        if (!conversationId) throw new Error('startConversationTurn needs rec.conversationId')
        const conflict = conversationLock(rec.tenant, conversationId)
        if (conflict) return conflict
        db.update(conversations).set({ turnResponseId: rec.id }).where(eq(conversations.id, conversationId)).run()
        insertResponse.run({ ...rec, leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt })
        insertItems(rec.tenant, { responseId: rec.id }, 'input', inputItems)
        return { ok: true as const, history: selectConversationItems.all({ conversationId }).map((r) => r.body) }
      })
    },

    async pruneResponses(before, limit) {
      // items and events go with them (ON DELETE CASCADE)
      return writeTransaction(() => pruneResponsesStmt.run({ before, limit }).changes)
    },

    async pruneEventLogs(before, limit) {
      return writeTransaction(() => {
        const ids = selectPrunableLogs.all({ before, limit }).map((r) => r.id)
        if (!ids.length) return { responses: 0, events: 0 }
        const { changes } = deleteLogs.run({ ids: JSON.stringify(ids) })
        return { responses: ids.length, events: changes }
      })
    },

    async pruneConversations(before, limit) {
      return writeTransaction(() => pruneConversationsStmt.run({ before, limit }).changes)
    },

    async reclaimSpace({ maxPages, convert }) {
      const mode = () => (client.query('PRAGMA auto_vacuum').get() as { auto_vacuum: number }).auto_vacuum
      if (mode() !== 2) {
        if (!convert) return { freedPages: 0, more: false, vacuumMode: 'none' as const }
        // The mode of an existing database changes only with a full VACUUM, which rewrites the file once.
        const pages = () => (client.query('PRAGMA page_count').get() as { page_count: number }).page_count
        const before = pages()
        client.exec('PRAGMA auto_vacuum = INCREMENTAL')
        client.exec('VACUUM')
        return { freedPages: Math.max(0, before - pages()), more: false, vacuumMode: mode() === 2 ? ('incremental' as const) : ('none' as const) }
      }
      const free = () => (client.query('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count
      const before = free()
      if (before > 0) client.query(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`).all()
      const after = free()
      return { freedPages: before - after, more: after > 0 && after < before, vacuumMode: 'incremental' as const }
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
