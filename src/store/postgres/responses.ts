// PostgreSQL queries on responses: the record, its status and lease columns (a running turn's row is locked with
// FOR NO KEY UPDATE before it is judged), and the chain walk (raw statements: drizzle has no recursive CTE).

import type { SQL, TransactionSQL } from 'bun'
import { and, eq, inArray } from 'drizzle-orm'
import type { ChainRow, ResponseQueries } from '../dialect'
import { recordColumns } from '../records'
import { CHAIN_COLUMNS, chainWalk } from '../sql'
import { toJson } from '../../json-text'
import type { ItemBody, ResponseRecord } from '../types'
import type { Conn } from './driver'
import { responses } from './schema'

const RUNNING = ['queued', 'in_progress'] as const

/** The chain's responses, oldest first; request/response as text, parsed on first read (../records.ts). */
const CHAIN = `${chainWalk({ id: '$1', tenant: '$2' })}
  SELECT ${CHAIN_COLUMNS}
    FROM chain c JOIN responses r ON r.id = c.id
   ORDER BY c.depth DESC`

/** All items of the given responses (ids oldest first): in chain order, each one's inputs before its outputs. */
const CHAIN_ITEMS = `
  SELECT i.body
    FROM unnest($1::text[]) WITH ORDINALITY AS j(id, ord)
    JOIN items i ON i.response_id = j.id
   WHERE i.kind IN ('input', 'output')
   ORDER BY j.ord, i.kind = 'output', i.position`

const columns = recordColumns(responses)
const unlease = { leaseOwner: null, leaseExpiresAt: null }

export function responseQueries({ db, sql }: Conn): ResponseQueries {
  const ofTenant = (tenant: string, id: string) => and(eq(responses.id, id), eq(responses.tenant, tenant))
  const record = (tenant: string, id: string) => db.select(columns).from(responses).where(ofTenant(tenant, id))
  const runState = (tenant: string, id: string) =>
    db.select({ status: responses.status, conversationId: responses.conversationId }).from(responses).where(ofTenant(tenant, id))
  const set = async (id: string, values: Partial<typeof responses.$inferInsert>) => {
    await db.update(responses).set(values).where(eq(responses.id, id))
  }

  return {
    async insertResponse(rec, lease) {
      await db.insert(responses).values({ ...rec, leaseOwner: lease?.owner ?? null, leaseExpiresAt: lease?.expiresAt ?? null })
    },
    patchResponse: async (tenant, id, patch, now) =>
      (
        await db
          .update(responses)
          .set({ ...patch, updatedAt: now })
          .where(ofTenant(tenant, id))
          .returning({ id: responses.id })
      ).length > 0,
    selectRecord: async (tenant, id) => ((await record(tenant, id))[0] as ResponseRecord | undefined) ?? null,
    lockRecord: async (tenant, id) => ((await record(tenant, id).for('no key update'))[0] as ResponseRecord | undefined) ?? null,
    selectStatus: async (tenant, id) => (await runState(tenant, id))[0]?.status ?? null,
    lockRunState: async (tenant, id) => (await runState(tenant, id).for('no key update'))[0] ?? null,
    hasResponse: async (tenant, id) => (await db.select({ id: responses.id }).from(responses).where(ofTenant(tenant, id))).length > 0,
    deleteResponse: async (tenant, id) =>
      (await db.delete(responses).where(ofTenant(tenant, id)).returning({ id: responses.id })).length > 0,
    async renewLease(tenant, id, lease) {
      const [row] = await db
        .update(responses)
        .set({ leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt })
        .where(and(ofTenant(tenant, id), inArray(responses.status, [...RUNNING])))
        .returning({ status: responses.status })
      return row?.status ?? null
    },
    saveProgress: (id, { status, response }, lease, now) =>
      set(id, {
        status,
        response,
        error: null,
        completedAt: null,
        updatedAt: now,
        ...(lease && { leaseOwner: lease.owner, leaseExpiresAt: lease.expiresAt }),
      }),
    finishColumns: (id, patch, now) => set(id, { ...patch, updatedAt: now, ...unlease }),
    markCancelled: (id, response, now) => set(id, { status: 'cancelled', updatedAt: now, response, ...unlease }),
    markFailed: (id, response, error, now) => set(id, { status: 'failed', error, completedAt: now, updatedAt: now, response, ...unlease }),
    chainResponses: (tenant, id): Promise<ChainRow[]> => sql.unsafe(CHAIN, [id, tenant]),
    chainItems: async (ids) => ((await sql.unsafe(CHAIN_ITEMS, [ids])) as { body: ItemBody }[]).map((r) => r.body),
  }
}

/**
 * A response and its input and output items in one statement: the items come as parallel arrays (in order, input
 * before output) and are inserted in that order. All or nothing, in one round trip (a transaction took five: BEGIN,
 * three INSERTs, COMMIT). JSON goes as text cast to json as a whole, so it is kept exactly (PostgreSQL's JSON functions
 * refuse a \u0000 escape when they unescape): the bodies as one JSON array (jsonArray) whose elements
 * json_array_elements hands back as the very text they were given — a text[] of JSON texts cost the client a quoting
 * pass over every character (Bun's array literal, ~6% of a JSON turn's CPU on PostgreSQL).
 */
const INSERT_WHOLE = `
  WITH r AS (
    INSERT INTO responses (id, tenant, status, model, previous_response_id, conversation_id, background, created_at, updated_at,
                           completed_at, request_id, error, request, response)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::json, $13::text::json, $14::text::json)
    RETURNING id, tenant)
  INSERT INTO items (id, tenant, response_id, kind, position, type, body)
  SELECT x.id, r.tenant, r.id, x.kind, x.position, x.type, b.body
    FROM r, unnest($15::text[], $16::text[], $17::int[], $18::text[]) WITH ORDINALITY AS x(id, kind, position, type, n)
    JOIN json_array_elements($19::text::json) WITH ORDINALITY AS b(body, n) ON b.n = x.n
   ORDER BY x.n`

/** The JSON texts of `values` as one JSON array (each element exactly the text given for it). */
export function jsonArray<T>(values: readonly T[], json: (v: T) => string): string {
  let out = '['
  for (let i = 0; i < values.length; i++) out += (i ? ',' : '') + json(values[i]!)
  return `${out}]`
}

export async function insertWhole(sql: SQL | TransactionSQL, rec: ResponseRecord, input: ItemBody[], output: ItemBody[]): Promise<void> {
  const items = [...input, ...output]
  const kinds = items.map((_, i) => (i < input.length ? 'input' : 'output'))
  const positions = items.map((_, i) => (i < input.length ? i : i - input.length))
  await sql.unsafe(INSERT_WHOLE, [
    rec.id,
    rec.tenant,
    rec.status,
    rec.model,
    rec.previousResponseId,
    rec.conversationId,
    rec.background,
    rec.createdAt,
    rec.updatedAt,
    rec.completedAt,
    rec.requestId,
    rec.error === null ? null : JSON.stringify(rec.error),
    JSON.stringify(rec.request),
    toJson(rec.response),
    items.map((b) => b.id),
    kinds,
    positions,
    items.map((b) => b.type),
    jsonArray(items, (b) => JSON.stringify(b)),
  ])
}
