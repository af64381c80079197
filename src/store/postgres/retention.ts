// PostgreSQL's batches of retention (src/store/retention.ts decides the cutoffs and runs them), one statement each.

import type { SQL } from 'bun'
import { RUN_KEY } from '../event-runs'
import * as sql from '../sql'
import type { Store } from '../types'

type RetentionParts = Pick<Store, 'pruneResponses' | 'pruneEventLogs' | 'pruneConversations' | 'reclaimSpace'>

const params = { before: '$1', limit: '$2' }
const PRUNE_RESPONSES = `${sql.pruneResponses(params)} RETURNING 1`
const PRUNE_EVENT_LOGS = `WITH picked AS (${sql.prunableLogs(params)}),
  gone AS (DELETE FROM response_events WHERE response_id IN (SELECT id FROM picked)
            RETURNING response_id, ${sql.eventsInRow(`json_array_length(data->'${RUN_KEY}')`)} AS n)
  SELECT count(DISTINCT response_id)::int AS responses, coalesce(sum(n), 0)::int AS events FROM gone`
const PRUNE_CONVERSATIONS = `${sql.pruneConversations(params)} RETURNING 1`

export function retentionParts(client: SQL): RetentionParts {
  return {
    // items and events go with them (ON DELETE CASCADE; on PostgreSQL the items by a trigger, schema.ts)
    pruneResponses: async (before, limit) => (await client.unsafe(PRUNE_RESPONSES, [before, limit])).length,
    async pruneEventLogs(before, limit) {
      const [row] = await client.unsafe(PRUNE_EVENT_LOGS, [before, limit])
      return { responses: Number(row?.responses ?? 0), events: Number(row?.events ?? 0) }
    },
    pruneConversations: async (before, limit) => (await client.unsafe(PRUNE_CONVERSATIONS, [before, limit])).length,
    // Autovacuum makes deleted rows' space reusable; giving it back to the file system takes VACUUM FULL (an
    // exclusive lock on the table), which is the operator's call, not the gateway's.
    reclaimSpace: async () => ({ freedPages: 0, more: false, vacuumMode: 'n/a' as const }),
  }
}
