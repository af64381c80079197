// SQLite queries on the event logs of streamed responses (resume).

import type { Database } from 'bun:sqlite'
import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { EventQueries } from '../dialect'
import type { Db } from './driver'
import { items, responseEvents, responses } from './schema'
import { onFirstUse } from './prepared'
import { eventJson } from '../event-runs'

const p = sql.placeholder

export function eventQueries(db: Db, client: Database): EventQueries {
  // The one hot write of a stream: every running turn appends its log on each tick of the shared clock
  // (engine/checkpoint.ts), all in one group commit that holds the event loop while it runs. Bound by position on
  // bun:sqlite's own statement: drizzle's placeholder filling and column mapping were about 2 of every 5 µs a row cost.
  // `data` is the event's JSON, as the schema's jsonText column stores it (and `after` below reads it).
  const insert = onFirstUse(() =>
    client.prepare<unknown, [string, number, string, string]>(
      'INSERT INTO response_events (response_id, sequence_number, type, data) VALUES (?, ?, ?, ?)',
    ),
  )
  const after = onFirstUse(() =>
    db
      .select({ data: responseEvents.data })
      .from(responseEvents)
      .where(and(eq(responseEvents.responseId, p('responseId')), gt(responseEvents.sequenceNumber, p('afterSeq'))))
      .orderBy(asc(responseEvents.sequenceNumber))
      .prepare(),
  )
  const any = onFirstUse(() =>
    db
      .select({ seq: responseEvents.sequenceNumber })
      .from(responseEvents)
      .where(eq(responseEvents.responseId, p('responseId')))
      .limit(1)
      .prepare(),
  )

  const response = onFirstUse(() =>
    db
      .select({ response: responses.response })
      .from(responses)
      .where(eq(responses.id, p('responseId')))
      .prepare(),
  )
  const output = onFirstUse(() =>
    db
      .select({ body: items.body })
      .from(items)
      .where(and(eq(items.responseId, p('responseId')), eq(items.kind, 'output')))
      .orderBy(asc(items.position))
      .prepare(),
  )

  return {
    insertEvents(responseId, events) {
      const statement = insert()
      for (const event of events) statement.run(responseId, event.sequence_number, event.type, eventJson(event))
    },
    selectEvents: (responseId, afterSeq) =>
      after()
        .all({ responseId, afterSeq })
        .map((r) => r.data),
    hasEvents: (responseId) => any().get({ responseId }) !== undefined,
    eventSources(responseId) {
      const row = response().get({ responseId })
      if (!row) return null
      return {
        response: row.response,
        output: output()
          .all({ responseId })
          .map((r) => r.body),
      }
    },
  }
}
