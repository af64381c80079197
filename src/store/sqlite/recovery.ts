// SQLite queries of recovery: the running turns' leases, and the response.failed events that end their logs.

import type { Database } from 'bun:sqlite'
import { inArray, sql } from 'drizzle-orm'
import type { RecoveryQueries } from '../dialect'
import { failedEvents } from '../sql'
import type { Db } from './driver'
import { responses } from './schema'
import { onFirstUse } from './prepared'

const RUNNING = ['queued', 'in_progress'] as const

export function recoveryQueries(db: Db, client: Database): RecoveryQueries {
  const leaseColumns = { id: responses.id, owner: responses.leaseOwner, expiresAt: responses.leaseExpiresAt }
  const unfinished = onFirstUse(() =>
    db
      .select(leaseColumns)
      .from(responses)
      .where(inArray(responses.status, [...RUNNING]))
      .prepare(),
  )
  const appendFailed = onFirstUse(() =>
    client.prepare<never, Record<string, string>>(
      failedEvents({ jsonObject: 'json_object', json: (column) => `json(${column})`, idIn: 'IN (SELECT value FROM json_each($ids))' }),
    ),
  )

  return {
    unfinishedLeases: () => unfinished().all(),
    // the write transaction holds the database: nothing to lock row by row
    lockUnfinished: (ids) =>
      db
        .select({ ...leaseColumns, response: responses.response })
        .from(responses)
        .where(sql`${responses.id} IN (SELECT value FROM json_each(${JSON.stringify(ids)})) AND ${inArray(responses.status, [...RUNNING])}`)
        .all(),
    appendFailedEvents(ids) {
      appendFailed().run({ ids: JSON.stringify(ids) })
    },
  }
}
