// SQLite queries on the event logs of streamed responses (resume).

import { and, asc, eq, gt, sql } from 'drizzle-orm'
import type { EventQueries } from '../dialect'
import type { Db } from './driver'
import { responseEvents } from './schema'
import { onFirstUse } from './prepared'

const p = sql.placeholder

export function eventQueries(db: Db): EventQueries {
  const insert = onFirstUse(() =>
    db
      .insert(responseEvents)
      .values({ responseId: p('responseId'), sequenceNumber: p('sequenceNumber'), type: p('type'), data: p('data') })
      .prepare(),
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

  return {
    insertEvents(responseId, events) {
      for (const event of events) insert().run({ responseId, sequenceNumber: event.sequence_number, type: event.type, data: event })
    },
    selectEvents: (responseId, afterSeq) =>
      after()
        .all({ responseId, afterSeq })
        .map((r) => r.data),
    hasEvents: (responseId) => any().get({ responseId }) !== undefined,
  }
}
