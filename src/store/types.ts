// The repository interface: everything the gateway asks of its storage, dialect-neutral.
// SQLite (default, src/store/sqlite) and PostgreSQL (src/store/postgres) implement it with the same
// semantics; the contract tests in test/store/ run against both.

import type { ResponseEvent } from '../schema/events'
import type { CreateResponseRequest, ItemBody, ResponseObjectT } from '../schema/responses'

/** A Responses API item as stored: the JSON body the client or model produced, always with an `id`. */
export type { ItemBody }

/**
 * The JSON bodies a store keeps, by kind. The store keeps them as given (it reads only an event's type and number);
 * the gateway's are its request, Response object and stream events. Store contract tests keep arbitrary JSON (Json).
 */
export interface Bodies {
  request: object
  response: object
  event: { type: string; sequence_number: number }
}
export interface GatewayBodies extends Bodies {
  request: CreateResponseRequest
  response: ResponseObjectT
  event: ResponseEvent
}

/** A streamed event as stored for resume: the event that went to the client. */
export type EventBody<B extends Bodies = GatewayBodies> = B['event']

export type ResponseStatus = ResponseObjectT['status']

export interface ResponseRecord<B extends Bodies = GatewayBodies> {
  id: string
  tenant: string
  status: ResponseStatus
  model: string
  /** the create request as the client sent it (after validation, before defaults) */
  request: B['request']
  /** the full Response object as last shown to the client */
  response: B['response']
  /** `response.error` when status is failed */
  error: { code: string; message: string } | null
  previousResponseId: string | null
  conversationId: string | null
  background: boolean
  /** unix ms */
  createdAt: number
  updatedAt: number
  completedAt: number | null
  /** the x-request-id of the request that created it, for correlating logs with stored responses */
  requestId: string | null
}

export interface ConversationRecord {
  id: string
  tenant: string
  metadata: Record<string, string>
  createdAt: number
  updatedAt: number
}

/**
 * The claim of a process on a running turn. The process renews it while the turn runs; once it has expired the turn
 * counts as abandoned (its process died): it no longer holds its conversation, and recovery marks it failed.
 */
export interface Lease {
  /** the process running the turn: engine/lease.ts makes and reads these */
  owner: string
  /** unix ms */
  expiresAt: number
}

/** What the store did with the end of a turn (finishResponse). */
export interface FinishResult {
  /** the response's status afterwards: the one asked for, or the one it already had (e.g. cancelled meanwhile); null when gone */
  status: ResponseStatus | null
  /** whether the conversation items were appended */
  appended: boolean
}

/** Why a conversation could not be written: unknown (or deleted), or another response's turn holds it. */
export type ConversationConflict = { ok: false; reason: 'not_found' } | { ok: false; reason: 'locked'; holder: string }

export interface ItemPage {
  items: ItemBody[]
  hasMore: boolean
}

export interface ListOptions {
  after?: string
  before?: string
  /** 1–100 */
  limit: number
  order: 'asc' | 'desc'
}

/**
 * A response of a chain as loadChain gives it: every column but its request and Response object. Those two are the
 * bulk of a long chain's rows (selecting them made a 500-response chain walk ~10× slower) and rehydration reads
 * neither; getResponse has them.
 */
export type ChainLink<B extends Bodies = GatewayBodies> = Omit<ResponseRecord<B>, 'request' | 'response'>

/** What a previous_response_id chain expands to. */
export interface Chain<B extends Bodies = GatewayBodies> {
  /** the responses of the chain, oldest first, ending with the one asked for */
  responses: ChainLink<B>[]
  /** every input then output item of each response, oldest response first, in position order */
  items: ItemBody[]
}

export interface Store<B extends Bodies = GatewayBodies> {
  readonly dialect: 'sqlite' | 'postgres'

  /**
   * Inserts a new response (any status) and its input items — and its output items, for a response stored whole once
   * it has ended — atomically. Ids must be new. A running turn has a lease; a streamed one may start its event log
   * here (its first event, in the same write). A streamed response stored whole once it has ended comes with its
   * whole log.
   */
  createResponse(
    rec: ResponseRecord<B>,
    inputItems: ItemBody[],
    lease?: Lease,
    outputItems?: ItemBody[],
    events?: EventBody<B>[],
  ): Promise<void>
  /**
   * Records the end (or a progress snapshot) of a response: status, response object, error, and the
   * output items so far, replacing any output items stored before. Atomic.
   */
  updateResponse(
    tenant: string,
    id: string,
    patch: Pick<ResponseRecord<B>, 'status' | 'response' | 'error' | 'completedAt'>,
    outputItems: ItemBody[],
  ): Promise<void>
  /** null when unknown, deleted, or another tenant's */
  getResponse(tenant: string, id: string): Promise<ResponseRecord<B> | null>
  /** Deletes the response, its items and events. false when there was none. */
  deleteResponse(tenant: string, id: string): Promise<boolean>
  /** The response's input items, paginated by item id cursor. null when the response is unknown. */
  listInputItems(tenant: string, responseId: string, opts: ListOptions): Promise<ItemPage | null>
  /**
   * Items of this tenant by id (any response's input or output, or a live conversation's), for item_reference
   * inputs. An id stored more than once (clients resend items) gives its latest copy; unknown ids are absent.
   */
  getItems(tenant: string, ids: string[]): Promise<Map<string, ItemBody>>
  /** The output items of a response, in order. */
  getOutputItems(tenant: string, responseId: string): Promise<ItemBody[]>
  /**
   * Expands a previous_response_id chain in a bounded number of queries (never one per turn).
   * null when `responseId` is unknown for this tenant.
   */
  loadChain(tenant: string, responseId: string): Promise<Chain<B> | null>

  /**
   * A running turn's periodic checkpoint, applied only while the response is queued/in_progress: renews its lease
   * (when given) and stores a progress snapshot (when given: status, response object, output items so far, replacing
   * the earlier ones). Returns the response's status as it is now — e.g. 'cancelled' when someone cancelled it, in
   * this process or another — or null when it is gone.
   */
  checkpointResponse(
    tenant: string,
    id: string,
    opts: { lease?: Lease; progress?: { status: ResponseStatus; response: B['response']; outputItems: ItemBody[] } },
  ): Promise<ResponseStatus | null>
  /**
   * Records the end of a turn in one transaction: final status, response object, error and output items, the last
   * events of its log, and — for a conversation turn — the release of the conversation's turn lock plus, when
   * `conversationItems` is given and the turn still held the lock, those items appended to the conversation.
   * Only a response that is still queued/in_progress is finished; a cancelled one accepts only a 'cancelled' patch
   * (the runner's final output); any other stored end stays as it is and nothing is written.
   */
  finishResponse(
    tenant: string,
    id: string,
    patch: Pick<ResponseRecord<B>, 'status' | 'response' | 'error' | 'completedAt'>,
    outputItems: ItemBody[],
    opts?: { events?: EventBody<B>[]; conversationItems?: ItemBody[] },
  ): Promise<FinishResult>
  /**
   * Cancels a queued/in_progress response: status 'cancelled' in the columns and the response object, lease
   * dropped. The running process notices at its next checkpoint. Returns the record afterwards (unchanged when it
   * had already ended), null when unknown.
   */
  cancelResponse(tenant: string, id: string, now: number): Promise<ResponseRecord<B> | null>

  /** Appends events of a streamed response (for resume). Sequence numbers are unique per response. */
  appendEvents(responseId: string, events: EventBody<B>[]): Promise<void>
  /** Events with sequence_number > afterSeq, in order. */
  listEvents(responseId: string, afterSeq: number): Promise<EventBody<B>[]>
  /** Whether the response has any stored event (it was streamed); cheap whatever the log's length. */
  hasEvents(responseId: string): Promise<boolean>

  /**
   * Recovery (at start-up and periodically): queued/in_progress responses whose process is gone become failed with
   * `message`, and their event log (if any) ends with a `response.failed` event. Gone means: no lease (rows from
   * before leases), an expired lease, or an owner `alive` says is dead. Returns their ids.
   */
  failInterrupted(message: string, now: number, opts?: { alive?: (owner: string) => boolean }): Promise<string[]>

  /** Conversations. A deleted conversation reads as unknown everywhere. */
  createConversation(rec: ConversationRecord, items: ItemBody[]): Promise<void>
  getConversation(tenant: string, id: string): Promise<ConversationRecord | null>
  /** Replaces the metadata. null when unknown. */
  updateConversation(tenant: string, id: string, metadata: Record<string, string>, now: number): Promise<ConversationRecord | null>
  /** false when unknown (or already deleted) */
  deleteConversation(tenant: string, id: string, now: number): Promise<boolean>
  /** The conversation's items, paginated by item id cursor. null when the conversation is unknown. */
  listConversationItems(tenant: string, id: string, opts: ListOptions): Promise<ItemPage | null>
  /**
   * Appends items at the end of the conversation, unless a turn holds it (then nothing is written: a turn's
   * history and its appended items must not be interleaved with other additions).
   */
  addConversationItems(
    tenant: string,
    id: string,
    items: ItemBody[],
    now: number,
  ): Promise<{ ok: true; items: ItemBody[] } | ConversationConflict>
  /** null when the conversation or the item is unknown */
  getConversationItem(tenant: string, id: string, itemId: string): Promise<ItemBody | null>
  /** false when the conversation or the item is unknown */
  deleteConversationItem(tenant: string, id: string, itemId: string, now: number): Promise<boolean>
  /**
   * Starts a turn in a conversation, in one transaction: takes the conversation's turn lock for `rec.id` (free when
   * no queued/in_progress response with an unexpired lease holds it), inserts the response with its input items and
   * lease, and reads the conversation's items — the turn's history — as they are under the lock.
   */
  startConversationTurn(
    rec: ResponseRecord<B>,
    inputItems: ItemBody[],
    lease: Lease,
  ): Promise<{ ok: true; history: ItemBody[] } | ConversationConflict>

  /**
   * Retention (src/store/retention.ts decides the cutoffs and runs the batches; these are one batch each).
   * Deletes up to `limit` responses created before `before` that are not queued/in_progress, with their items and
   * events. A kept response whose previous_response_id named one of them answers 404 when chained on (engine/history.ts).
   */
  pruneResponses(before: number, limit: number): Promise<number>
  /** Drops the event logs (resume) of up to `limit` finished responses whose last update is before `before`. */
  pruneEventLogs(before: number, limit: number): Promise<{ responses: number; events: number }>
  /** Deletes up to `limit` conversations last updated before `before` that are deleted, or empty and not in a turn. */
  pruneConversations(before: number, limit: number): Promise<number>
  /**
   * Gives free space back to the file system where the dialect needs it (SQLite: incremental vacuum, at most
   * `maxPages` pages per call); `convert` first turns incremental vacuum on in a database made without it (a full
   * VACUUM: blocks writers for its duration, so only `agentgate prune` asks for it). PostgreSQL: autovacuum's job.
   */
  reclaimSpace(opts: {
    maxPages: number
    convert: boolean
  }): Promise<{ freedPages: number; more: boolean; vacuumMode: 'incremental' | 'none' | 'n/a' }>

  /**
   * The gateway has gone idle (src/idle-release.ts): gives back what the store holds only for load. SQLite: the
   * connection's page cache, and the checkpoint worker until the WAL grows again. PostgreSQL: nothing.
   */
  releaseMemory(): Promise<void>

  /** Liveness check for /ready. */
  ping(): Promise<void>
  close(): Promise<void>
}

export const DEFAULT_TENANT = 'default'
