// Raw SQL both dialects run (drizzle has no builder for a recursive CTE, and retention's batches are plain
// statements): written once, with each dialect's parameter syntax passed in (SQLite `$name`, PostgreSQL `$1`).

const RUNNING = `('queued', 'in_progress')`

/**
 * A recursive walk up previous_response_id from one response, tenant-scoped at every step. `depth` 0 is the
 * response asked for. The depth cap only guards against a (never legitimately created) cycle.
 */
export function chainWalk(p: { id: string; tenant: string }): string {
  return `
  WITH RECURSIVE chain(id, prev, depth) AS (
    SELECT id, previous_response_id, 0 FROM responses WHERE id = ${p.id} AND tenant = ${p.tenant}
    UNION ALL
    SELECT r.id, r.previous_response_id, c.depth + 1
      FROM chain c JOIN responses r ON r.id = c.prev
     WHERE r.tenant = ${p.tenant} AND c.depth < 1000000
  )`
}

/** The columns of a chain's responses (../dialect.ts ChainRow): all but the request and Response object. */
export const CHAIN_COLUMNS = `r.id, r.tenant, r.status, r.model, r.error, r.previous_response_id, r.conversation_id, r.background,
         r.created_at, r.updated_at, r.completed_at, r.request_id`

/** Up to `limit` responses created before `before` that are not queued/in_progress (their items and events cascade). */
export function pruneResponses(p: { before: string; limit: string }): string {
  return `DELETE FROM responses WHERE id IN (
    SELECT id FROM responses WHERE created_at < ${p.before} AND status NOT IN ${RUNNING} LIMIT ${p.limit})`
}

/**
 * Up to `limit` finished responses, last updated before `before`, that still have an event log. From the event
 * table's own key: only responses that still have a log are looked at, however many are stored.
 */
export function prunableLogs(p: { before: string; limit: string }): string {
  return `SELECT r.id FROM (SELECT DISTINCT response_id FROM response_events) e JOIN responses r ON r.id = e.response_id
    WHERE r.status NOT IN ${RUNNING} AND coalesce(r.completed_at, r.updated_at) < ${p.before} LIMIT ${p.limit}`
}

/** Up to `limit` conversations last updated before `before` that are deleted, or empty and not in a turn. */
export function pruneConversations(p: { before: string; limit: string }): string {
  return `DELETE FROM conversations WHERE id IN (
    SELECT c.id FROM conversations c
     WHERE c.updated_at < ${p.before}
       AND (c.deleted_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM items i WHERE i.conversation_id = c.id))
       AND NOT EXISTS (SELECT 1 FROM responses h WHERE h.id = c.turn_response_id AND h.status IN ${RUNNING})
     LIMIT ${p.limit})`
}

/**
 * One response.failed event after the last stored event of each log among `ids`, carrying the (already failed)
 * response object: a follower of the log sees the turn end. The dialect supplies its JSON builder and id list.
 */
export function failedEvents(p: { jsonObject: string; json: (column: string) => string; idIn: string }): string {
  return `INSERT INTO response_events (response_id, sequence_number, type, data)
    SELECT r.id, m.seq + 1, 'response.failed',
           ${p.jsonObject}('type', 'response.failed', 'sequence_number', m.seq + 1, 'response', ${p.json('r.response')})
      FROM (SELECT response_id, max(sequence_number) AS seq FROM response_events
             WHERE response_id ${p.idIn} GROUP BY response_id) m
      JOIN responses r ON r.id = m.response_id`
}

/**
 * How many events a row of response_events stands for: a stored run of deltas (./event-runs.ts RUN_KEY) holds
 * several. `deltas` is the dialect's JSON array length of the row's run, NULL for other rows.
 */
export function eventsInRow(deltas: string): string {
  return `CASE WHEN type LIKE '%.delta' THEN coalesce(${deltas}, 1) ELSE 1 END`
}
