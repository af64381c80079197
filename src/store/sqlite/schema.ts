// The SQLite tables of the store (drizzle sqlite-core). src/store/postgres/schema.ts mirrors these with the same
// TS property names and SQL names, so both `$inferSelect` types agree (STACK.md §3).
// Times are unix milliseconds; JSON columns hold the bodies exactly as the API showed them.

import { sql } from 'drizzle-orm'
import { toJson } from '../../json-text'
import type { EventBody, ItemBody, ResponseRecord, ResponseStatus } from '../types'
import { customType, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * JSON kept as TEXT. Unlike `text({ mode: 'json' })`, a null bound through a prepared-statement placeholder
 * stays SQL NULL instead of becoming the string 'null'.
 */
const jsonText = <T>(name: string) =>
  customType<{ data: T; driverData: string }>({
    dataType: () => 'text',
    // toJson: a finished Response's JSON was made once already, when it was measured (src/json-text.ts)
    toDriver: (value) => (value === null ? (null as unknown as string) : toJson(value)),
    fromDriver: (value) => JSON.parse(value) as T,
  })(name)

export const responses = sqliteTable(
  'responses',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    status: text('status').notNull().$type<ResponseStatus>(),
    model: text('model').notNull(),
    // Small columns first, large JSON last: SQLite reads a row's columns in order, so the chain walk over
    // previous_response_id never has to step through the request/response overflow pages (2.5× faster).
    previousResponseId: text('previous_response_id'),
    conversationId: text('conversation_id'),
    background: integer('background', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    completedAt: integer('completed_at'),
    // The lease of a running turn (see Store.checkpointResponse): who runs it, and until when it counts as alive
    // without a renewal. Null once the turn has ended, and on rows from before leases existed.
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),
    requestId: text('request_id'),
    error: jsonText<{ code: string; message: string }>('error'),
    request: jsonText<ResponseRecord['request']>('request').notNull(),
    response: jsonText<ResponseRecord['response']>('response').notNull(),
  },
  (t) => [
    // No index on (tenant, created_at): no query reads responses in that order (there is no list of them; retention's
    // prune by created_at alone cannot use it), and it was one more b-tree write in every turn's insert.
    // Partial (as below): a response without a previous one — most of them — costs this index nothing on insert.
    index('responses_previous_idx').on(t.previousResponseId).where(sql`previous_response_id is not null`),
    // only unfinished responses are indexed: failInterrupted finds them without a table scan
    index('responses_unfinished_idx').on(t.status).where(sql`status in ('queued', 'in_progress')`),
  ],
)

export const conversations = sqliteTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    metadata: jsonText<Record<string, string>>('metadata').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    deletedAt: integer('deleted_at'),
    // The conversation's turn lock: the response whose turn owns the conversation right now. It is free when this
    // is null or names a response that has ended or whose lease expired (Store.startConversationTurn).
    turnResponseId: text('turn_response_id'),
  },
  (t) => [index('conversations_tenant_created_idx').on(t.tenant, t.createdAt)],
)

/**
 * Items of a response (kind 'input' | 'output') or of a conversation (kind 'conversation').
 * `seq` is the key because an item id may legitimately appear in several responses (clients resend items
 * with their ids).
 */
export const items = sqliteTable(
  'items',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    id: text('id').notNull(),
    tenant: text('tenant').notNull(),
    responseId: text('response_id').references(() => responses.id, { onDelete: 'cascade' }),
    conversationId: text('conversation_id').references(() => conversations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['input', 'output', 'conversation'] }).notNull(),
    position: integer('position').notNull(),
    type: text('type').notNull(),
    body: jsonText<ItemBody>('body').notNull(),
  },
  (t) => [
    index('items_response_idx').on(t.responseId, t.kind, t.position),
    // Only conversation items: a response's items (conversation_id null) all sorted into the middle of one null key
    // (by position, then seq), which made every turn's insert split pages there (~25% of a JSON turn's SQLite write).
    // `conversation_id = ?` implies `is not null`, so the queries and the cascade from conversations still use it.
    index('items_conversation_idx').on(t.conversationId, t.position).where(sql`conversation_id is not null`),
    // item_reference inputs: a tenant's items by id
    index('items_tenant_id_idx').on(t.tenant, t.id),
  ],
)

/** The events of a streamed response, as sent, for resume (`starting_after`). */
export const responseEvents = sqliteTable(
  'response_events',
  {
    responseId: text('response_id')
      .notNull()
      .references(() => responses.id, { onDelete: 'cascade' }),
    sequenceNumber: integer('sequence_number').notNull(),
    type: text('type').notNull(),
    data: jsonText<EventBody>('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.responseId, t.sequenceNumber] })],
)
