// SQLite's batches of retention (src/store/retention.ts decides the cutoffs and runs them), each in one write
// transaction, and the incremental vacuum that gives the freed pages back to the file system.

import type { Database } from 'bun:sqlite'
import type { Store } from '../types'
import { RUN_KEY } from '../event-runs'
import * as sql from '../sql'

type RetentionParts = Pick<Store, 'pruneResponses' | 'pruneEventLogs' | 'pruneConversations' | 'reclaimSpace'>

/**
 * `writeTransaction` runs a batch in a write transaction; `unlocked` runs what cannot be in one (VACUUM); both after
 * the writes queued before them, and again later while another connection's lock refuses them (./lock-wait.ts).
 */
export function retentionParts(
  client: Database,
  writeTransaction: <T>(fn: () => T) => Promise<T>,
  unlocked: <T>(fn: () => T) => Promise<T>,
): RetentionParts {
  const params = { before: '$before', limit: '$limit' }
  const pruneResponses = client.prepare<never, Record<string, number>>(sql.pruneResponses(params))
  const prunableLogs = client.prepare<{ id: string }, Record<string, number>>(sql.prunableLogs(params))
  const logIn = `response_id IN (SELECT value FROM json_each($ids))`
  const countLogs = client.prepare<{ n: number }, Record<string, string>>(
    `SELECT coalesce(sum(${sql.eventsInRow(`json_array_length(data, '$.${RUN_KEY}')`)}), 0) AS n FROM response_events WHERE ${logIn}`,
  )
  const deleteLogs = client.prepare<never, Record<string, string>>(`DELETE FROM response_events WHERE ${logIn}`)
  const pruneConversations = client.prepare<never, Record<string, number>>(sql.pruneConversations(params))
  const pragma = <K extends string>(name: K) => (client.query(`PRAGMA ${name}`).get() as Record<K, number>)[name]

  return {
    // items and events go with them (ON DELETE CASCADE)
    pruneResponses: (before, limit) => writeTransaction(() => pruneResponses.run({ before, limit }).changes),

    pruneEventLogs: (before, limit) =>
      writeTransaction(() => {
        const ids = prunableLogs.all({ before, limit }).map((r) => r.id)
        if (!ids.length) return { responses: 0, events: 0 }
        const list = { ids: JSON.stringify(ids) }
        // events, not rows: a stored run of deltas (../event-runs.ts) is one row
        const events = countLogs.get(list)?.n ?? 0
        deleteLogs.run(list)
        return { responses: ids.length, events }
      }),

    pruneConversations: (before, limit) => writeTransaction(() => pruneConversations.run({ before, limit }).changes),

    reclaimSpace: ({ maxPages, convert }) =>
      unlocked(() => {
        if (pragma('auto_vacuum') !== 2) {
          if (!convert) return { freedPages: 0, more: false, vacuumMode: 'none' as const }
          // The mode of an existing database changes only with a full VACUUM, which rewrites the file once.
          const before = pragma('page_count')
          client.exec('PRAGMA auto_vacuum = INCREMENTAL')
          client.exec('VACUUM')
          const vacuumMode = pragma('auto_vacuum') === 2 ? ('incremental' as const) : ('none' as const)
          return { freedPages: Math.max(0, before - pragma('page_count')), more: false, vacuumMode }
        }
        const before = pragma('freelist_count')
        if (before > 0) client.query(`PRAGMA incremental_vacuum(${Math.max(1, Math.floor(maxPages))})`).all()
        const after = pragma('freelist_count')
        return { freedPages: before - after, more: after > 0 && after < before, vacuumMode: 'incremental' as const }
      }),
  }
}
