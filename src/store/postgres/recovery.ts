// PostgreSQL queries of recovery: the running turns' leases (locked, skipping rows another transaction holds: a turn
// finishing, another replica's sweep — whoever holds them decides, and no sweep waits), and the response.failed
// events that end their logs.

import { and, asc, inArray } from 'drizzle-orm'
import type { RecoveryQueries } from '../dialect'
import { failedEvents } from '../sql'
import type { Conn } from './driver'
import { responses } from './schema'

const RUNNING = ['queued', 'in_progress'] as const
const APPEND_FAILED = failedEvents({ jsonObject: 'json_build_object', json: (column) => column, idIn: '= ANY($1::text[])' })

export function recoveryQueries({ db, sql }: Conn): RecoveryQueries {
  const leaseColumns = { id: responses.id, owner: responses.leaseOwner, expiresAt: responses.leaseExpiresAt }
  const running = inArray(responses.status, [...RUNNING])
  return {
    unfinishedLeases: () => db.select(leaseColumns).from(responses).where(running),
    lockUnfinished: (ids) =>
      db
        .select({ ...leaseColumns, response: responses.response })
        .from(responses)
        .where(and(inArray(responses.id, ids), running))
        .orderBy(asc(responses.id))
        .for('no key update', { skipLocked: true }),
    async appendFailedEvents(ids) {
      await sql.unsafe(APPEND_FAILED, [ids])
    },
  }
}
