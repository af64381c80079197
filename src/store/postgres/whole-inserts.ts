// Responses stored whole at their end (Dialect.insertWhole: a JSON turn's one write) on PostgreSQL, several in one
// statement: the turns that end in one turn of the event loop share one round trip and one statement's overhead on
// both sides (the client's per-query work, the server's parse/bind/execute and commit). Under load many turns end at
// about the same moment.
//
// A statement is all or nothing: when the shared one fails, nothing of it was stored, and each turn is then stored
// by its own statement, so only a turn whose own write fails hears of a failure. A turn's promise settles once its
// rows are committed (or its write has failed).
import type { SQL } from 'bun'
import { toJson } from '../../json-text'
import { asStoreError } from '../errors'
import type { ItemBody, ResponseRecord } from '../types'
import { insertWhole, jsonArray } from './responses'

interface Whole {
  rec: ResponseRecord
  input: ItemBody[]
  output: ItemBody[]
}

interface Queued extends Whole {
  resolve(): void
  reject(error: unknown): void
}

/** At most this many responses in one statement (its arrays stay a few hundred KiB at most). */
const MAX_PER_STATEMENT = 64

/**
 * Like insertWhole's statement, for several responses: their columns as parallel arrays, and their items as parallel
 * arrays that name their response. The large JSON values (requests, responses, item bodies) come as one JSON array
 * each (jsonArray in ./responses.ts), matched to their row by position. Items go in in array order: per response,
 * input before output, by position.
 */
const INSERT_WHOLE_MANY = `
  WITH r AS (
    INSERT INTO responses (id, tenant, status, model, previous_response_id, conversation_id, background, created_at, updated_at,
                           completed_at, request_id, error, request, response)
    SELECT x.id, x.tenant, x.status, x.model, x.previous_response_id, x.conversation_id, x.background, x.created_at,
           x.updated_at, x.completed_at, x.request_id, x.error::json, q.request, p.response
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[], $8::int8[], $9::int8[],
                  $10::int8[], $11::text[], $12::text[])
             WITH ORDINALITY AS x(id, tenant, status, model, previous_response_id, conversation_id, background, created_at,
                                  updated_at, completed_at, request_id, error, n)
      JOIN json_array_elements($13::text::json) WITH ORDINALITY AS q(request, n) ON q.n = x.n
      JOIN json_array_elements($14::text::json) WITH ORDINALITY AS p(response, n) ON p.n = x.n
    RETURNING id, tenant)
  INSERT INTO items (id, tenant, response_id, kind, position, type, body)
  SELECT x.id, r.tenant, r.id, x.kind, x.position, x.type, b.body
    FROM unnest($15::text[], $16::text[], $17::text[], $18::int[], $19::text[])
           WITH ORDINALITY AS x(response_id, id, kind, position, type, n)
    JOIN json_array_elements($20::text::json) WITH ORDINALITY AS b(body, n) ON b.n = x.n
    JOIN r ON r.id = x.response_id
   ORDER BY x.n`

async function insertWholeMany(sql: SQL, wholes: Whole[]): Promise<void> {
  const recs = wholes.map((w) => w.rec)
  const items: { responseId: string; kind: 'input' | 'output'; position: number; body: ItemBody }[] = []
  for (const { rec, input, output } of wholes) {
    for (const [position, body] of input.entries()) items.push({ responseId: rec.id, kind: 'input', position, body })
    for (const [position, body] of output.entries()) items.push({ responseId: rec.id, kind: 'output', position, body })
  }
  await sql.unsafe(INSERT_WHOLE_MANY, [
    recs.map((r) => r.id),
    recs.map((r) => r.tenant),
    recs.map((r) => r.status),
    recs.map((r) => r.model),
    recs.map((r) => r.previousResponseId),
    recs.map((r) => r.conversationId),
    recs.map((r) => r.background),
    recs.map((r) => r.createdAt),
    recs.map((r) => r.updatedAt),
    recs.map((r) => r.completedAt),
    recs.map((r) => r.requestId),
    recs.map((r) => (r.error === null ? null : JSON.stringify(r.error))),
    jsonArray(recs, (r) => JSON.stringify(r.request)),
    jsonArray(recs, (r) => toJson(r.response)), // made once already when it was measured (src/json-text.ts)
    items.map((i) => i.responseId),
    items.map((i) => i.body.id),
    items.map((i) => i.kind),
    items.map((i) => i.position),
    items.map((i) => i.body.type),
    jsonArray(items, (i) => JSON.stringify(i.body)),
  ])
}

export interface WholeInserts {
  insert(rec: ResponseRecord, input: ItemBody[], output: ItemBody[]): Promise<void>
  /** Sends the queued inserts now (before the pool closes). */
  flush(): void
}

export function wholeInserts(sql: SQL): WholeInserts {
  let queue: Queued[] = []
  const alone = (w: Queued) => insertWhole(sql, w.rec, w.input, w.output).then(w.resolve, (e) => w.reject(asStoreError(e)))

  function send(batch: Queued[]): void {
    if (batch.length === 1) {
      void alone(batch[0]!)
      return
    }
    insertWholeMany(sql, batch).then(
      () => {
        for (const w of batch) w.resolve()
      },
      // nothing of the shared statement was stored: each on its own, so only a failing one fails
      () => {
        for (const w of batch) void alone(w)
      },
    )
  }

  function flush(): void {
    const queued = queue
    queue = []
    for (let i = 0; i < queued.length; i += MAX_PER_STATEMENT) send(queued.slice(i, i + MAX_PER_STATEMENT))
  }

  return {
    insert(rec, input, output) {
      return new Promise<void>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ rec, input, output, resolve, reject })
      })
    },
    flush,
  }
}
