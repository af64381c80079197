// What "the store is consistent" means after a limit was hit, checked on the SQLite file itself: no turn left
// running, every row's columns agree with its Response object, its output items are exactly response.output, a
// streamed response's log ends with the terminal event carrying that same object, and no conversation stays locked.
import { Database } from 'bun:sqlite'
import { expect } from 'bun:test'

export interface StoredResponse {
  id: string
  tenant: string
  status: string
  response: any
  outputIds: string[]
  inputCount: number
  events: any[]
}

export function storedResponses(dbPath: string): StoredResponse[] {
  const db = new Database(dbPath, { readonly: true })
  try {
    const rows = db.query('select id, tenant, status, response from responses order by id').all() as {
      id: string
      tenant: string
      status: string
      response: string
    }[]
    return rows.map((r) => ({
      id: r.id,
      tenant: r.tenant,
      status: r.status,
      response: JSON.parse(r.response),
      outputIds: (
        db.query("select id from items where response_id = ? and kind = 'output' order by position").all(r.id) as { id: string }[]
      ).map((i) => i.id),
      inputCount: (db.query("select count(*) as n from items where response_id = ? and kind = 'input'").get(r.id) as { n: number }).n,
      events: (
        db.query('select data from response_events where response_id = ? order by sequence_number').all(r.id) as { data: string }[]
      ).map((e) => JSON.parse(e.data)),
    }))
  } finally {
    db.close()
  }
}

export function lockedConversations(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true })
  try {
    return (
      db
        .query("select c.id from conversations c join responses r on r.id = c.turn_response_id where r.status in ('queued', 'in_progress')")
        .all() as { id: string }[]
    ).map((r) => r.id)
  } finally {
    db.close()
  }
}

/** Asserts the whole store is consistent; returns the responses for more specific checks. */
export function expectStoreSane(dbPath: string): StoredResponse[] {
  const all = storedResponses(dbPath)
  for (const r of all) {
    const where = `response ${r.id}`
    expect({ where, running: r.status === 'queued' || r.status === 'in_progress' }).toEqual({ where, running: false })
    expect({ where, id: r.response.id, status: r.response.status }).toEqual({ where, id: r.id, status: r.status })
    expect({ where, output: r.outputIds }).toEqual({ where, output: r.response.output.map((i: any) => i.id) })
    if (r.events.length && r.status !== 'cancelled') {
      const last = r.events.at(-1)
      expect({ where, last: last.type }).toEqual({ where, last: `response.${r.status}` })
      expect(last.response).toEqual(r.response)
    }
  }
  expect(lockedConversations(dbPath)).toEqual([])
  return all
}
