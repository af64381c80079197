// The Store, written once for both dialects: the rules of responses, their status transitions and leases, event logs
// and recovery. Conversations and their turn lock are in ./conversations.ts. Each dialect (./sqlite, ./postgres)
// supplies only its queries and how it runs transactions (./dialect.ts).

import { appendConversationItems, conversationOperations } from './conversations'
import { step, type Dialect, type LeaseRow, type Queries, type ResponsePatch, type Steps } from './dialect'
import { classifyStoreErrors, isForeignKeyViolation } from './errors'
import { fromStoredRuns, toStoredRuns } from './event-runs'
import { fillFromSources, pointAtSources, pointsAtSources } from './event-sources'
import { itemPage } from './pagination'
import { fromChainRow } from './records'
import { leftOutOutput, withOutput, withoutOutput } from './stored-response'
import type { Chain, EventBody, FinishResult, ItemBody, Lease, ResponseRecord, ResponseStatus, Store } from './types'

/** A response still queued or in progress: the only ones a running turn may write and a cancel may stop. */
export const isUnfinished = (status: ResponseStatus) => status === 'queued' || status === 'in_progress'

/**
 * The Response object to write with a response's `outputItems`: a finished one without the answer the items hold
 * (./stored-response.ts); a running one as it is.
 */
const responseToWrite = <R extends object>(status: ResponseStatus, response: R, outputItems: ItemBody[]): R =>
  isUnfinished(status) ? response : withoutOutput(response, outputItems)

/**
 * A record whose Response left out its output, as it was shown: filled back in from its output items, read after the
 * record. It has at least one (./stored-response.ts): none means it was deleted in between (null).
 */
const withItems = (rec: ResponseRecord, output: ItemBody[]): ResponseRecord | null =>
  output.length ? { ...rec, response: withOutput(rec.response, output) } : null

/** A stored record as it was shown (withItems), read in the operation's transaction. */
function* filledRecord(q: Queries, rec: ResponseRecord | null): Steps<ResponseRecord | null> {
  if (rec === null || !leftOutOutput(rec.response)) return rec
  return withItems(rec, yield* step(q.outputItems(rec.tenant, rec.id)))
}

/** Replaces a response's output items (a progress snapshot or the end of a turn). */
function* replaceOutputItems(q: Queries, tenant: string, responseId: string, outputItems: ItemBody[]): Steps<void> {
  yield* step(q.deleteOutputItems(responseId))
  yield* step(q.insertItems(tenant, { kind: 'output', responseId }, outputItems, 0))
}

/**
 * The end of a turn (Store.finishResponse): only a queued/in_progress response is finished; a cancelled one accepts
 * only a 'cancelled' patch; any other end stays. The conversation's turn lock is released whatever happened, and its
 * items appended only while this turn still holds it.
 */
function* finishTurn(
  q: Queries,
  tenant: string,
  id: string,
  patch: ResponsePatch,
  outputItems: ItemBody[],
  opts: { events?: EventBody[]; conversationItems?: ItemBody[] },
): Steps<FinishResult> {
  const row = yield* step(q.lockRunState(tenant, id))
  if (!row) return { status: null, appended: false }
  const running = isUnfinished(row.status)
  const acknowledgesCancel = row.status === 'cancelled' && patch.status === 'cancelled'
  let appended = false
  if (running || acknowledgesCancel) {
    yield* step(q.finishColumns(id, { ...patch, response: responseToWrite(patch.status, patch.response, outputItems) }, Date.now()))
    yield* replaceOutputItems(q, tenant, id, outputItems)
    // written with the output items and Response object, the last events point at them (./event-sources.ts)
    if (opts.events?.length)
      yield* step(q.insertEvents(id, toStoredRuns(pointAtSources(opts.events, { response: patch.response, output: outputItems }))))
    // Only while this turn still holds the conversation: a turn whose lease expired (its process stalled past it)
    // may have been overtaken, and appending now would interleave with the newer turn.
    if (row.conversationId && running && opts.conversationItems?.length && (yield* step(q.lockTurnHolder(row.conversationId))) === id) {
      yield* appendConversationItems(q, tenant, row.conversationId, opts.conversationItems, Date.now())
      appended = true
    }
  }
  if (row.conversationId) yield* step(q.releaseTurn(row.conversationId, id))
  return { status: running || acknowledgesCancel ? patch.status : row.status, appended }
}

/**
 * A new response with its input and output items and first events — or, stored whole once ended, its whole log, which
 * then points at the Response and output items written with it (./event-sources.ts) as a finished turn's last events
 * do (Store.createResponse). `response` is the Response as shown (the record's may leave out its output). A generator
 * declared once here, not one made per call inside createResponse: the JIT threw away and recompiled that per-call
 * generator's optimised code again and again under load (23 times in 8 s of 1,000-delta streams, 5–30 ms of compiling
 * each), and every streamed turn with the store on runs it.
 */
function* insertNew(
  q: Queries,
  rec: ResponseRecord,
  inputItems: ItemBody[],
  lease: Lease | null,
  outputItems: ItemBody[],
  events: EventBody[],
  response: ResponseRecord['response'],
): Steps<void> {
  yield* step(q.insertResponse(rec, lease))
  if (inputItems.length) yield* step(q.insertItems(rec.tenant, { kind: 'input', responseId: rec.id }, inputItems, 0))
  if (outputItems.length) yield* step(q.insertItems(rec.tenant, { kind: 'output', responseId: rec.id }, outputItems, 0))
  if (events.length) {
    const rows = isUnfinished(rec.status) ? events : pointAtSources(events, { response, output: outputItems })
    yield* step(q.insertEvents(rec.id, toStoredRuns(rows)))
  }
}

/** Recovery's verdict on a running turn's lease: gone when there is none, it expired, or its owner is dead. */
const leaseGone = (now: number, alive?: (owner: string) => boolean) => (r: LeaseRow) =>
  r.expiresAt === null || r.expiresAt < now || (r.owner !== null && alive !== undefined && !alive(r.owner))

export function createStore(d: Dialect): Store {
  const store: Store = {
    dialect: d.name,

    createResponse(rec, inputItems, lease?: Lease, outputItems: ItemBody[] = [], events: EventBody[] = []) {
      const shown = rec.response
      if (outputItems.length) rec = { ...rec, response: responseToWrite(rec.status, rec.response, outputItems) }
      // a response stored whole once it has ended (no lease: nobody runs it any more)
      if (outputItems.length && !lease && !events.length && d.insertWhole) return d.insertWhole(rec, inputItems, outputItems)
      return (inputItems.length || outputItems.length || events.length ? d.write : d.run)((q) =>
        insertNew(q, rec, inputItems, lease ?? null, outputItems, events, shown),
      )
    },

    updateResponse(tenant, id, patch, outputItems) {
      return d.write(function* (q) {
        // A response deleted while it ran stays deleted: nothing to attach the output to.
        const written = { ...patch, response: responseToWrite(patch.status, patch.response, outputItems) }
        if (yield* step(q.patchResponse(tenant, id, written, Date.now()))) yield* replaceOutputItems(q, tenant, id, outputItems)
      })
    },

    async getResponse(tenant, id) {
      const rec = await d.one((q) => q.selectRecord(tenant, id))
      if (rec === null || !leftOutOutput(rec.response)) return rec
      // read apart, not in a transaction (on PostgreSQL three more round trips for every GET): a finished response's
      // items no longer change
      return withItems(rec, await d.one((q) => q.outputItems(tenant, id)))
    },
    // items and events go with it (ON DELETE CASCADE; on PostgreSQL the items by a trigger, postgres/schema.ts)
    deleteResponse: (tenant, id) => d.one((q) => q.deleteResponse(tenant, id)),
    getOutputItems: (tenant, responseId) => d.one((q) => q.outputItems(tenant, responseId)),

    async getItems(tenant, ids) {
      const out = new Map<string, ItemBody>()
      if (ids.length === 0) return out
      // Oldest first, so a later copy of an id replaces an earlier one.
      for (const r of await d.one((q) => q.itemsById(tenant, [...new Set(ids)]))) out.set(r.id, r.body)
      return out
    },

    listInputItems(tenant, responseId, opts) {
      return d.read(function* (q) {
        if (!(yield* step(q.hasResponse(tenant, responseId)))) return null
        return yield* itemPage(q, { kind: 'input', responseId }, opts)
      })
    },

    loadChain(tenant, responseId) {
      // two queries whatever the chain's length, in one snapshot
      return d.read(function* (q): Steps<Chain | null> {
        const chain = yield* step(q.chainResponses(tenant, responseId))
        if (chain.length === 0) return null
        const items = yield* step(q.chainItems(chain.map((r) => r.id)))
        return { responses: chain.map(fromChainRow), items }
      })
    },

    async appendEvents(responseId, events) {
      if (events.length === 0) return
      const rows = toStoredRuns(events)
      try {
        // rows one statement writes are all or nothing on their own: no transaction, and no operation's generators
        // (every running turn appends on every tick of the store clock)
        if (rows.length <= d.rowsPerStatement) await d.runOne((q) => q.insertEvents(responseId, rows))
        else
          await d.write(function* (q) {
            yield* step(q.insertEvents(responseId, rows))
          })
      } catch (e) {
        // The events of a response deleted mid-stream are dropped with it.
        if (!isForeignKeyViolation(e)) throw e
      }
    },

    // A stored run of deltas (./event-runs.ts) may start at or before afterSeq: only its later events are given. The
    // last events of a finished turn point at its output and Response (./event-sources.ts): read when there are any.
    async listEvents(responseId, afterSeq) {
      const events = fromStoredRuns(await d.one((q) => q.selectEvents(responseId, afterSeq)), afterSeq)
      if (!pointsAtSources(events)) return events
      // Written with the events they fill, and unchanged since; null once the response is deleted. Its Response object
      // as shown: with its output (./stored-response.ts).
      const sources = await d.one((q) => q.eventSources(responseId))
      return fillFromSources(
        events,
        sources && { ...sources, response: withOutput(sources.response as object, sources.output as ItemBody[]) },
      )
    },
    hasEvents: (responseId) => d.one((q) => q.hasEvents(responseId)),

    checkpointResponse(tenant, id, { lease, progress }) {
      if (!progress) {
        // A lease renewal alone is one conditional statement: a cancelled (or recovered) response is left as it is.
        return d.run(function* (q) {
          const renewed = lease ? yield* step(q.renewLease(tenant, id, lease)) : null
          return renewed ?? (yield* step(q.selectStatus(tenant, id)))
        })
      }
      return d.write(function* (q) {
        const row = yield* step(q.lockRunState(tenant, id))
        if (!row) return null
        // A cancelled (or recovered) response is not overwritten by the process still running it.
        if (!isUnfinished(row.status)) return row.status
        yield* step(q.saveProgress(id, progress, lease, Date.now()))
        yield* replaceOutputItems(q, tenant, id, progress.outputItems)
        return progress.status
      })
    },

    finishResponse(tenant, id, patch, outputItems, opts = {}) {
      return d.write((q) => finishTurn(q, tenant, id, patch, outputItems, opts))
    },

    cancelResponse(tenant, id, now) {
      return d.write(function* (q) {
        const rec = yield* step(q.lockRecord(tenant, id))
        // (a running response's Response object is stored whole)
        if (!rec || !isUnfinished(rec.status)) return yield* filledRecord(q, rec)
        // status set in place: the object keeps its key order
        const response = { ...rec.response, status: 'cancelled' as const }
        yield* step(q.markCancelled(id, response, now))
        return { ...rec, status: 'cancelled' as const, updatedAt: now, response }
      })
    },

    async failInterrupted(message, now, opts = {}) {
      const error = { code: 'server_error', message }
      const gone = leaseGone(now, opts.alive)
      // A first look without locks: usually nothing is gone and the periodic sweep ends here.
      const candidates = (await d.one((q) => q.unfinishedLeases())).filter(gone)
      if (candidates.length === 0) return []
      return d.write(function* (q) {
        // Judged again under the lock: a lease renewed meanwhile keeps its turn.
        const failed = (yield* step(q.lockUnfinished(candidates.map((c) => c.id)))).filter(gone)
        // the stored Response object stays consistent with the columns, so GET shows the failure
        for (const row of failed) yield* step(q.markFailed(row.id, { ...row.response, status: 'failed', error }, error, now))
        const ids = failed.map((r) => r.id)
        if (ids.length) yield* step(q.appendFailedEvents(ids))
        return ids
      })
    },

    ...conversationOperations(d),
    // The dialect classifies its operations' failures itself (one/run/write/read); these few are wrapped here.
    ...classifyStoreErrors(d.own),
  }
  return store
}
