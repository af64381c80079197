// What a dialect (src/store/sqlite, src/store/postgres) supplies to the one Store (./repository.ts): its queries —
// one statement each, or a dialect's way of locking a row — and how it runs a store operation: SQLite synchronously
// on its one connection, PostgreSQL with awaits on a pool. An operation is written once, as a generator that yields
// each query's result (a value or a promise) and is handed it back, so the same rules drive both.

import type { EventSources } from './event-sources'
import type { ConversationRecord, EventBody, ItemBody, Lease, ResponseRecord, ResponseStatus, Store } from './types'

/** A query's result: the value itself (SQLite) or a promise of it (PostgreSQL). */
export type Result<T> = T | Promise<T>

/** The columns of a response that a turn's end (or a progress snapshot) writes. */
export type ResponsePatch = Pick<ResponseRecord, 'status' | 'response' | 'error' | 'completedAt'>

/** One list of items, in position order: a response's input or output, or a conversation's items. */
export type ItemList = { kind: 'input' | 'output'; responseId: string } | { kind: 'conversation'; conversationId: string }

/** Part of an item list: positions strictly above `above` and below `below`, at most `limit`, in one direction. */
export interface ItemRange {
  above?: number
  below?: number
  ascending: boolean
  limit: number
}

/** What the end of a turn needs to know about its response. */
export interface RunState {
  status: ResponseStatus
  conversationId: string | null
}

/** A queued/in_progress response's lease columns, as recovery judges them. */
export interface LeaseRow {
  id: string
  owner: string | null
  expiresAt: number | null
}

/** A conversation's turn lock: the response named as holder, and whether it still holds it (running, lease alive). */
export interface ConversationTurn {
  holder: string | null
  busy: boolean
}

/**
 * A response row of a chain as the dialect's raw query returns it (no request or Response object: types.ts ChainLink),
 * with the column types the driver gives (SQLite: integers and JSON text; PostgreSQL: booleans, JSON values, int8 as
 * strings).
 */
export interface ChainRow {
  id: string
  tenant: string
  status: ResponseStatus
  model: string
  error: string | { code: string; message: string } | null
  previous_response_id: string | null
  conversation_id: string | null
  background: boolean | number
  created_at: number | string
  updated_at: number | string
  completed_at: number | string | null
  request_id: string | null
}

/**
 * The statements of one dialect, by concern (each dialect has a file of the same name for each). Names that start
 * with `lock` read a row and, on PostgreSQL, lock it until the transaction ends (SQLite's write transactions hold the
 * whole database already).
 */
export interface ResponseQueries {
  insertResponse(rec: ResponseRecord, lease: Lease | null): Result<void>
  /** false when there is no such response */
  patchResponse(tenant: string, id: string, patch: ResponsePatch, now: number): Result<boolean>
  selectRecord(tenant: string, id: string): Result<ResponseRecord | null>
  lockRecord(tenant: string, id: string): Result<ResponseRecord | null>
  selectStatus(tenant: string, id: string): Result<ResponseStatus | null>
  lockRunState(tenant: string, id: string): Result<RunState | null>
  hasResponse(tenant: string, id: string): Result<boolean>
  deleteResponse(tenant: string, id: string): Result<boolean>
  /** Renews the lease of a queued/in_progress response in one statement: its status, or null when it was not renewed. */
  renewLease(tenant: string, id: string, lease: Lease): Result<ResponseStatus | null>
  saveProgress(id: string, progress: Pick<ResponseRecord, 'status' | 'response'>, lease: Lease | undefined, now: number): Result<void>
  /** The end of a turn: the patch, and the lease dropped. */
  finishColumns(id: string, patch: ResponsePatch, now: number): Result<void>
  markCancelled(id: string, response: ResponseRecord['response'], now: number): Result<void>
  markFailed(id: string, response: ResponseRecord['response'], error: { code: string; message: string }, now: number): Result<void>
  /** The chain from `id` up previous_response_id, oldest first, in one statement. */
  chainResponses(tenant: string, id: string): Result<ChainRow[]>
  /** All items of these responses (ids oldest first) in one statement: by response, inputs before outputs, by position. */
  chainItems(ids: string[]): Result<ItemBody[]>
}

export interface ItemQueries {
  insertItems(tenant: string, list: ItemList, bodies: ItemBody[], firstPosition: number): Result<void>
  deleteOutputItems(responseId: string): Result<void>
  /** A response's output items, checking the tenant in the same statement. */
  outputItems(tenant: string, responseId: string): Result<ItemBody[]>
  /** The position of an item in a list (the first, if an id repeats); null when it is not there. */
  itemPosition(list: ItemList, itemId: string): Result<number | null>
  itemRange(list: ItemList, range: ItemRange): Result<ItemBody[]>
  /** This tenant's items with these ids, oldest first, leaving out those of deleted conversations. */
  itemsById(tenant: string, ids: string[]): Result<{ id: string; body: ItemBody }[]>
  /** A conversation's items, all of them. */
  conversationItems(conversationId: string): Result<ItemBody[]>
  lastConversationPosition(conversationId: string): Result<number | null>
}

export interface EventQueries {
  insertEvents(responseId: string, events: EventBody[]): Result<void>
  selectEvents(responseId: string, afterSeq: number): Result<EventBody[]>
  hasEvents(responseId: string): Result<boolean>
  /** A response's Response object and output items (by position), which its finished log points at; null when gone. */
  eventSources(responseId: string): Result<EventSources | null>
}

export interface RecoveryQueries {
  unfinishedLeases(): Result<LeaseRow[]>
  /** The queued/in_progress ones of these responses, locked; PostgreSQL skips rows another transaction holds. */
  lockUnfinished(ids: string[]): Result<(LeaseRow & { response: ResponseRecord['response'] })[]>
  /** Ends each of these responses' event log (if any) with a response.failed event carrying the stored response. */
  appendFailedEvents(ids: string[]): Result<void>
}

export interface ConversationQueries {
  insertConversation(rec: ConversationRecord): Result<void>
  selectConversation(tenant: string, id: string): Result<ConversationRecord | null>
  conversationExists(tenant: string, id: string): Result<boolean>
  /** Whether the conversation exists (not deleted), its row locked. */
  lockConversation(tenant: string, id: string): Result<boolean>
  /** The conversation's turn lock as of `now`, its row locked; null when the conversation is unknown or deleted. */
  lockConversationTurn(tenant: string, id: string, now: number): Result<ConversationTurn | null>
  /** The response named as the conversation's turn holder (not deleted), its row locked. */
  lockTurnHolder(conversationId: string): Result<string | null>
  takeTurn(conversationId: string, responseId: string): Result<void>
  /** Frees the conversation's turn lock if `responseId` holds it. */
  releaseTurn(conversationId: string, responseId: string): Result<void>
  touchConversation(id: string, now: number): Result<void>
  updateConversation(tenant: string, id: string, metadata: Record<string, string>, now: number): Result<ConversationRecord | null>
  softDeleteConversation(tenant: string, id: string, now: number): Result<boolean>
  /** One item of a conversation that exists for this tenant, in one statement. */
  conversationItem(tenant: string, id: string, itemId: string): Result<ItemBody | null>
  /** Deletes every copy of the item in the conversation; how many there were. */
  deleteConversationItem(conversationId: string, itemId: string): Result<number>
}

export interface Queries extends ResponseQueries, ItemQueries, EventQueries, RecoveryQueries, ConversationQueries {}

/**
 * The body of a store operation: yields each query's result and gets it back. What comes back is typed by the step
 * that yielded it (step() below); the generator itself takes `any`, as TypeScript types every unannotated generator.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Steps<T> = Generator<unknown, T, any>
export type Operation<T> = (q: Queries) => Steps<T>

/** One query as a step of an operation: `const row = yield* step(q.lockRunState(tenant, id))`. */
export function* step<T>(result: Result<T>): Generator<Result<T>, T, T> {
  return yield result
}

export interface Dialect {
  readonly name: Store['dialect']
  /** How many rows one INSERT writes: a batch up to this many is all or nothing without a transaction. */
  readonly rowsPerStatement: number
  /** One query on its own. */
  one<T>(query: (q: Queries) => Result<T>): Promise<T>
  /** An operation whose statements run one by one, outside a transaction. */
  run<T>(op: Operation<T>): Promise<T>
  /**
   * One write statement, run as `run` runs an operation of one step (on SQLite: in the group commit) without the
   * operation's generators: the event log's append, every running turn's write on every tick of the store clock.
   */
  runOne<T>(query: (q: Queries) => Result<T>): Promise<T>
  /** An operation in one write transaction. */
  write<T>(op: Operation<T>): Promise<T>
  /** An operation whose reads all see one snapshot. */
  read<T>(op: Operation<T>): Promise<T>
  /**
   * A new response with its input and output items, all or nothing, the cheapest way the dialect has: PostgreSQL in one
   * statement (one round trip), SQLite as one write of its group commit. Without it the store runs the inserts as an
   * operation in a write transaction.
   */
  insertWhole?(rec: ResponseRecord, input: ItemBody[], output: ItemBody[]): Promise<void>
  /** The dialect's own parts of the Store: retention batches (./retention.ts runs them), idle release, liveness, closing. */
  own: Pick<Store, 'pruneResponses' | 'pruneEventLogs' | 'pruneConversations' | 'reclaimSpace' | 'releaseMemory' | 'ping' | 'close'>
}

/** Drives an operation whose every query answers synchronously (SQLite). */
export function runSync<T>(steps: Steps<T>): T {
  let r = steps.next()
  while (!r.done) {
    if (r.value instanceof Promise) throw new Error('a synchronous store operation got a promise')
    // the value goes back as the result of the step that yielded it, which types it
    r = steps.next(r.value)
  }
  return r.value
}

/** Drives an operation whose queries answer with promises (PostgreSQL), one after the other. */
export async function runAsync<T>(steps: Steps<T>): Promise<T> {
  let r = steps.next()
  // as in runSync: the awaited value goes back to the step that yielded it
  while (!r.done) r = steps.next(await r.value)
  return r.value
}
