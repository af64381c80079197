// PostgreSQL queries on the event logs of streamed responses (resume).

import { and, asc, eq, gt } from 'drizzle-orm'
import type { EventQueries } from '../dialect'
import type { Conn } from './driver'
import { INSERT_CHUNK } from './items'
import { items, responseEvents, responses } from './schema'

export function eventQueries({ db }: Conn): EventQueries {
  return {
    async insertEvents(responseId, events) {
      for (let i = 0; i < events.length; i += INSERT_CHUNK) {
        const rows = events
          .slice(i, i + INSERT_CHUNK)
          .map((event) => ({ responseId, sequenceNumber: event.sequence_number, type: event.type, data: event }))
        await db.insert(responseEvents).values(rows)
      }
    },
    async selectEvents(responseId, afterSeq) {
      const after = and(eq(responseEvents.responseId, responseId), gt(responseEvents.sequenceNumber, afterSeq))
      const rows = await db
        .select({ data: responseEvents.data })
        .from(responseEvents)
        .where(after)
        .orderBy(asc(responseEvents.sequenceNumber))
      return rows.map((r) => r.data)
    },
    hasEvents: async (responseId) =>
      (
        await db
          .select({ seq: responseEvents.sequenceNumber })
          .from(responseEvents)
          .where(eq(responseEvents.responseId, responseId))
          .limit(1)
      ).length > 0,
    async eventSources(responseId) {
      const [row] = await db.select({ response: responses.response }).from(responses).where(eq(responses.id, responseId))
      if (!row) return null
      const output = await db
        .select({ body: items.body })
        .from(items)
        .where(and(eq(items.responseId, responseId), eq(items.kind, 'output')))
        .orderBy(asc(items.position))
      return { response: row.response, output: output.map((r) => r.body) }
    },
  }
}
