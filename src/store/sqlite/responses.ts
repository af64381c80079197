// SQLite queries on responses: the record, its status and lease columns, and the chain walk. Hot paths are statements
// prepared once per store; the chain is two raw statements on the bun:sqlite client (no recursive CTE in drizzle).

import type { Changes, Database, SQLQueryBindings } from 'bun:sqlite'
import { toJson } from '../../json-text'
import { and, eq, inArray, sql } from 'drizzle-orm'
import type { ChainRow, ResponseQueries } from '../dialect'
import { recordColumns } from '../records'
import { CHAIN_COLUMNS, chainWalk } from '../sql'
import type { ItemBody, ResponseRecord } from '../types'
import type { Db } from './driver'
import { responses } from './schema'
import { onFirstUse } from './prepared'

const p = sql.placeholder
const RUNNING = ['queued', 'in_progress'] as const

export function responseQueries(db: Db, client: Database): ResponseQueries {
  const byId = eq(responses.id, p('id'))
  const byTenantId = and(byId, eq(responses.tenant, p('tenant')))
  // Every stored turn's row goes in here: a statement of bun:sqlite's own with positional parameters (drizzle's
  // placeholder mapping per column showed in profiles). JSON columns as the schema's jsonText writes them.
  const insert = onFirstUse(() =>
    client.prepare<unknown, SQLQueryBindings[]>(
      `INSERT INTO responses (id, tenant, status, model, previous_response_id, conversation_id, background, created_at, updated_at,
         completed_at, lease_owner, lease_expires_at, request_id, error, request, response)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
  )
  // drizzle types set() by the column, not by a placeholder: the casts only say "bound at run time"
  const patchColumns = {
    status: p('status') as unknown as ResponseRecord['status'],
    response: p('response') as unknown as ResponseRecord['response'],
    error: p('error') as unknown as null,
    completedAt: p('completedAt') as unknown as number,
    updatedAt: p('updatedAt') as unknown as number,
  }
  const patch = onFirstUse(() => db.update(responses).set(patchColumns).where(byTenantId).prepare())
  const finish = onFirstUse(() =>
    db
      .update(responses)
      .set({ ...patchColumns, leaseOwner: null, leaseExpiresAt: null })
      .where(byId)
      .prepare(),
  )
  const progress = onFirstUse(() => db.update(responses).set(patchColumns).where(byId).prepare())
  const lease = { leaseOwner: p('owner') as unknown as string, leaseExpiresAt: p('expiresAt') as unknown as number }
  const setLease = onFirstUse(() => db.update(responses).set(lease).where(byId).prepare())
  const renewRunning = onFirstUse(() =>
    db
      .update(responses)
      .set(lease)
      .where(and(byTenantId, inArray(responses.status, [...RUNNING])))
      .returning({ status: responses.status })
      .prepare(),
  )
  const record = onFirstUse(() => db.select(recordColumns(responses)).from(responses).where(byTenantId).prepare())
  const runState = onFirstUse(() =>
    db.select({ status: responses.status, conversationId: responses.conversationId }).from(responses).where(byTenantId).prepare(),
  )
  // 1) the chain's responses, oldest first
  const chain = onFirstUse(() =>
    client.prepare<ChainRow, Record<string, string>>(`${chainWalk({ id: '$id', tenant: '$tenant' })}
    SELECT ${CHAIN_COLUMNS} FROM chain c JOIN responses r ON r.id = c.id ORDER BY c.depth DESC`),
  )
  // 2) all their items in one go, given the ids oldest first (a JSON array, so any chain length binds as one
  //    parameter): responses in chain order, each one's input items before its output items, by position.
  const chainItems = onFirstUse(() =>
    client.prepare<{ body: string }, Record<string, string>>(
      `SELECT i.body FROM json_each($ids) j JOIN items i ON i.response_id = j.value
      WHERE i.kind IN ('input', 'output') ORDER BY j.key, i.kind, i.position`,
    ),
  )
  const unlease = { leaseOwner: null, leaseExpiresAt: null }

  return {
    insertResponse(rec, lease) {
      insert().run(
        rec.id,
        rec.tenant,
        rec.status,
        rec.model,
        rec.previousResponseId ?? null,
        rec.conversationId ?? null,
        rec.background ? 1 : 0,
        rec.createdAt,
        rec.updatedAt,
        rec.completedAt ?? null,
        lease?.owner ?? null,
        lease?.expiresAt ?? null,
        rec.requestId ?? null,
        rec.error == null ? null : toJson(rec.error),
        toJson(rec.request),
        // a finished Response's JSON was made once already, when it was measured (src/json-text.ts)
        toJson(rec.response),
      )
    },
    patchResponse: (tenant, id, values, now) => (patch().run({ ...values, updatedAt: now, id, tenant }) as unknown as Changes).changes > 0,
    selectRecord: (tenant, id) => (record().get({ id, tenant }) as ResponseRecord | undefined) ?? null,
    lockRecord: (tenant, id) => (record().get({ id, tenant }) as ResponseRecord | undefined) ?? null,
    selectStatus: (tenant, id) => runState().get({ id, tenant })?.status ?? null,
    lockRunState: (tenant, id) => runState().get({ id, tenant }) ?? null,
    hasResponse: (tenant, id) => runState().get({ id, tenant }) !== undefined,
    deleteResponse: (tenant, id) =>
      (
        db
          .delete(responses)
          .where(and(eq(responses.id, id), eq(responses.tenant, tenant)))
          .run() as unknown as Changes
      ).changes > 0,
    renewLease: (tenant, id, { owner, expiresAt }) => renewRunning().get({ id, tenant, owner, expiresAt })?.status ?? null,
    saveProgress(id, values, lease, now) {
      if (lease) setLease().run({ id, owner: lease.owner, expiresAt: lease.expiresAt })
      progress().run({ status: values.status, response: values.response, error: null, completedAt: null, updatedAt: now, id })
    },
    finishColumns(id, values, now) {
      finish().run({ ...values, updatedAt: now, id })
    },
    markCancelled(id, response, now) {
      db.update(responses)
        .set({ status: 'cancelled', updatedAt: now, response, ...unlease })
        .where(eq(responses.id, id))
        .run()
    },
    markFailed(id, response, error, now) {
      db.update(responses)
        .set({ status: 'failed', error, completedAt: now, updatedAt: now, response, ...unlease })
        .where(eq(responses.id, id))
        .run()
    },
    chainResponses: (tenant, id) => chain().all({ id, tenant }),
    chainItems: (ids) =>
      chainItems()
        .all({ ids: JSON.stringify(ids) })
        .map((r) => JSON.parse(r.body) as ItemBody),
  }
}
