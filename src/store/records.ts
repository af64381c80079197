// Record mapping both dialects share: which columns make a ResponseRecord, and a chain's raw rows as records.

import type { ChainRow, ItemList } from './dialect'
import type { ChainLink, ConversationRecord, ResponseRecord } from './types'

const RECORD_KEYS = [
  'id',
  'tenant',
  'status',
  'model',
  'request',
  'response',
  'error',
  'previousResponseId',
  'conversationId',
  'background',
  'createdAt',
  'updatedAt',
  'completedAt',
  'requestId',
] as const satisfies readonly (keyof ResponseRecord)[]

type RecordKey = (typeof RECORD_KEYS)[number]

/** The columns of a ResponseRecord in a dialect's `responses` table (the lease columns are the store's own business). */
export function recordColumns<Table extends Record<RecordKey, unknown>>(table: Table): Pick<Table, RecordKey> {
  return pick(table, RECORD_KEYS)
}

const CONVERSATION_KEYS = ['id', 'tenant', 'metadata', 'createdAt', 'updatedAt'] as const satisfies readonly (keyof ConversationRecord)[]

/** The columns of a ConversationRecord in a dialect's `conversations` table (not its deletion or turn lock). */
export function conversationColumns<Table extends Record<(typeof CONVERSATION_KEYS)[number], unknown>>(table: Table) {
  return pick(table, CONVERSATION_KEYS)
}

function pick<T, K extends keyof T>(table: T, keys: readonly K[]): Pick<T, K> {
  const columns = {} as Pick<T, K>
  for (const key of keys) columns[key] = table[key]
  return columns
}

/** A chain's row as its link (types.ts ChainLink). */
export function fromChainRow(row: ChainRow): ChainLink {
  return {
    id: row.id,
    tenant: row.tenant,
    status: row.status,
    model: row.model,
    // SQLite gives JSON text; PostgreSQL's client the parsed value
    error: typeof row.error === 'string' ? JSON.parse(row.error) : row.error,
    previousResponseId: row.previous_response_id,
    conversationId: row.conversation_id,
    // SQLite: 0/1; PostgreSQL: a boolean
    background: row.background === true || row.background === 1,
    // PostgreSQL's int8 arrives as a string
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    completedAt: row.completed_at === null ? null : Number(row.completed_at),
    requestId: row.request_id,
  }
}

/** The owner columns of an item row in a list: its response or its conversation. */
export function listOwner(list: ItemList): { responseId: string | null; conversationId: string | null } {
  return list.kind === 'conversation'
    ? { responseId: null, conversationId: list.conversationId }
    : { responseId: list.responseId, conversationId: null }
}
