// The repository interface: everything the gateway asks of its storage, dialect-neutral.
// SQLite (default) and, later, PostgreSQL implement it with the same semantics; the contract tests in
// test/store/ run against every implementation.

/** A Responses API item as stored: the JSON body the client or model produced, always with an `id`. */
export type ItemBody = { id: string; type: string; [key: string]: unknown }

/** A streamed event as stored for resume: the JSON that went to the client. */
export type EventBody = { type: string; sequence_number: number; [key: string]: unknown }

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'incomplete' | 'cancelled'

export interface ResponseRecord {
  id: string
  tenant: string
  status: ResponseStatus
  model: string
  /** the create request as the client sent it (after validation, before defaults) */
  request: Record<string, unknown>
  /** the full Response object as last shown to the client */
  response: Record<string, unknown>
  /** `response.error` when status is failed */
  error: { code: string; message: string } | null
  previousResponseId: string | null
  conversationId: string | null
  background: boolean
  /** unix ms */
  createdAt: number
  updatedAt: number
  completedAt: number | null
}

export interface ConversationRecord {
  id: string
  tenant: string
  metadata: Record<string, string>
  createdAt: number
  updatedAt: number
}

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

/** What a previous_response_id chain expands to. */
export interface Chain {
  /** the responses of the chain, oldest first, ending with the one asked for */
  responses: ResponseRecord[]
  /** every input then output item of each response, oldest response first, in position order */
  items: ItemBody[]
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres'

  /** Inserts a new response (any status) and its input items, atomically. Ids must be new. */
  createResponse(rec: ResponseRecord, inputItems: ItemBody[]): Promise<void>
  /**
   * Records the end (or a progress snapshot) of a response: status, response object, error, and the
   * output items so far, replacing any output items stored before. Atomic.
   */
  updateResponse(
    tenant: string,
    id: string,
    patch: Pick<ResponseRecord, 'status' | 'response' | 'error' | 'completedAt'>,
    outputItems: ItemBody[],
  ): Promise<void>
  /** null when unknown, deleted, or another tenant's */
  getResponse(tenant: string, id: string): Promise<ResponseRecord | null>
  /** Deletes the response, its items and events. false when there was none. */
  deleteResponse(tenant: string, id: string): Promise<boolean>
  /** The response's input items, paginated by item id cursor. null when the response is unknown. */
  listInputItems(tenant: string, responseId: string, opts: ListOptions): Promise<ItemPage | null>
  /** The output items of a response, in order. */
  getOutputItems(tenant: string, responseId: string): Promise<ItemBody[]>
  /**
   * Expands a previous_response_id chain in a bounded number of queries (never one per turn).
   * null when `responseId` is unknown for this tenant.
   */
  loadChain(tenant: string, responseId: string): Promise<Chain | null>

  /** Appends events of a streamed response (for resume). Sequence numbers are unique per response. */
  appendEvents(responseId: string, events: EventBody[]): Promise<void>
  /** Events with sequence_number > afterSeq, in order. */
  listEvents(responseId: string, afterSeq: number): Promise<EventBody[]>

  /** At start-up: responses left queued/in_progress by a previous process become failed. Returns their ids. */
  failInterrupted(message: string, now: number): Promise<string[]>

  /** Conversations (the API comes later; the schema and basics are here now). */
  createConversation(rec: ConversationRecord, items: ItemBody[]): Promise<void>
  getConversation(tenant: string, id: string): Promise<ConversationRecord | null>

  /** Liveness check for /ready. */
  ping(): Promise<void>
  close(): Promise<void>
}

export const DEFAULT_TENANT = 'default'
