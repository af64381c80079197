// The PostgreSQL tables of the store (drizzle pg-core): the SQLite schema (../sqlite/schema.ts) column for column,
// with the same TS property names and SQL names, so both `$inferSelect` types agree (STACK.md §3).
// Times are unix milliseconds (bigint), as in SQLite and the Store interface.
//
// JSON columns are `json`, not `jsonb`: `json` keeps the text exactly as written, so item bodies, events and
// response objects read back byte for byte as the API showed them (key order included; the contract tests check
// it). `jsonb` would reorder keys, drop duplicate keys and refuse "\u0000" escapes. Nothing here is queried by JSON
// path, so jsonb's indexing buys nothing.

import { sql } from 'drizzle-orm'
import { bigint, bigserial, boolean, customType, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'
import type { EventBody, ItemBody, ResponseRecord, ResponseStatus } from '../types'

/**
 * A `json` column. Values go to Bun's SQL client as objects: it serialises them itself (JSON.stringify) and parses
 * json columns on read. A string would be stored as a JSON *string* — which is why drizzle's own `json()` (it binds
 * JSON.stringify's output) double-encodes on bun-sql. Raw SQL that binds JSON text must cast it: `$1::text::json`.
 */
const jsonValue = <T>(name: string) =>
  customType<{ data: T; driverData: T }>({
    dataType: () => 'json',
    toDriver: (value) => value,
    fromDriver: (value) => value,
  })(name)

const unixMs = (name: string) => bigint(name, { mode: 'number' })

export const responses = pgTable(
  'responses',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    status: text('status').notNull().$type<ResponseStatus>(),
    model: text('model').notNull(),
    previousResponseId: text('previous_response_id'),
    conversationId: text('conversation_id'),
    background: boolean('background').notNull().default(false),
    createdAt: unixMs('created_at').notNull(),
    updatedAt: unixMs('updated_at').notNull(),
    completedAt: unixMs('completed_at'),
    // The lease of a running turn (see Store.checkpointResponse): who runs it, and until when it counts as alive
    // without a renewal. Null once the turn has ended.
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: unixMs('lease_expires_at'),
    requestId: text('request_id'),
    error: jsonValue<{ code: string; message: string }>('error'),
    request: jsonValue<ResponseRecord['request']>('request').notNull(),
    response: jsonValue<ResponseRecord['response']>('response').notNull(),
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

export const conversations = pgTable(
  'conversations',
  {
    id: text('id').primaryKey(),
    tenant: text('tenant').notNull(),
    metadata: jsonValue<Record<string, string>>('metadata').notNull(),
    createdAt: unixMs('created_at').notNull(),
    updatedAt: unixMs('updated_at').notNull(),
    deletedAt: unixMs('deleted_at'),
    // The conversation's turn lock: the response whose turn owns the conversation right now. It is free when this
    // is null or names a response that has ended or whose lease expired (Store.startConversationTurn). Changed
    // only under the row's lock (SELECT … FOR UPDATE), so replicas sharing the database agree on it.
    turnResponseId: text('turn_response_id'),
  },
  (t) => [index('conversations_tenant_created_idx').on(t.tenant, t.createdAt)],
)

/**
 * Items of a response (kind 'input' | 'output') or of a conversation (kind 'conversation').
 * `seq` is the key because an item id may legitimately appear in several responses (clients resend items
 * with their ids).
 */
export const items = pgTable(
  'items',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull(),
    tenant: text('tenant').notNull(),
    // No foreign key (unlike SQLite's): its check on every inserted item (a FOR KEY SHARE lookup of the response) was
    // about a quarter of the server's CPU for a JSON turn. Items are only ever inserted with their response (one
    // statement) or under its row lock (the end of a turn, a progress snapshot), so none can outlive it, and a trigger
    // (migration 0003_items_without_response_fk) deletes the items of deleted responses, as ON DELETE CASCADE did.
    responseId: text('response_id'),
    conversationId: text('conversation_id').references(() => conversations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['input', 'output', 'conversation'] }).notNull(),
    position: integer('position').notNull(),
    type: text('type').notNull(),
    body: jsonValue<ItemBody>('body').notNull(),
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
export const responseEvents = pgTable(
  'response_events',
  {
    responseId: text('response_id')
      .notNull()
      .references(() => responses.id, { onDelete: 'cascade' }),
    sequenceNumber: integer('sequence_number').notNull(),
    type: text('type').notNull(),
    data: jsonValue<EventBody>('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.responseId, t.sequenceNumber] })],
)
