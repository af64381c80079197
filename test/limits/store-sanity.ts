// What "the store is consistent" means after a limit was hit, checked on the database itself (the SQLite file, or
// the PostgreSQL database under AGENTGATE_TEST_STORE=postgres): no turn left running, every row's columns agree with
// its Response object, its output items are exactly response.output, a streamed response's log ends with the
// terminal event carrying that same object (read as the store reads it: the last events of a finished turn point at
// its stored output and Response, src/store/event-sources.ts, and a finished Response is stored without the output its
// items hold, src/store/stored-response.ts), and no conversation stays locked.
import { SQL } from 'bun'
import { Database } from 'bun:sqlite'
import { expect } from 'bun:test'
import type { Config } from '../../src/config'
import { fillFromSources } from '../../src/store/event-sources'
import { withOutput } from '../../src/store/stored-response'

export interface StoredResponse {
  id: string
  tenant: string
  status: string
  response: any
  outputIds: string[]
  inputCount: number
  events: any[]
}

/** Plain SQL with `?` placeholders, run on whichever database the gateway's config names. */
type Query = (text: string, ...params: unknown[]) => Promise<any[]>

async function withDatabase<T>(config: Pick<Config, 'db' | 'databaseUrl'>, fn: (q: Query) => Promise<T>): Promise<T> {
  if (config.databaseUrl) {
    const sql = new SQL(config.databaseUrl, { max: 1 })
    try {
      return await fn((text, ...params) => {
        let n = 0
        return sql.unsafe(
          text.replace(/\?/g, () => `$${++n}`),
          params,
        )
      })
    } finally {
      await sql.close()
    }
  }
  const db = new Database(config.db, { readonly: true })
  try {
    return await fn(async (text, ...params) => db.query(text).all(...(params as any[])))
  } finally {
    db.close()
  }
}

/** A json column reads as text from SQLite and may come parsed from PostgreSQL. */
const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v)

export function storedResponses(config: Pick<Config, 'db' | 'databaseUrl'>): Promise<StoredResponse[]> {
  return withDatabase(config, async (q) => {
    const rows = await q('select id, tenant, status, response from responses order by id')
    const out: StoredResponse[] = []
    for (const r of rows) {
      const outputs = await q("select id, body from items where response_id = ? and kind = 'output' order by position", r.id)
      const [{ n }] = await q("select count(*) as n from items where response_id = ? and kind = 'input'", r.id)
      const events = await q('select data from response_events where response_id = ? order by sequence_number', r.id)
      const output = outputs.map((i) => json(i.body))
      const response = withOutput(json(r.response), output)
      out.push({
        id: r.id,
        tenant: r.tenant,
        status: r.status,
        response,
        outputIds: outputs.map((i) => i.id),
        inputCount: Number(n),
        events: fillFromSources(
          events.map((e) => json(e.data)),
          { response, output },
        ),
      })
    }
    return out
  })
}

export function lockedConversations(config: Pick<Config, 'db' | 'databaseUrl'>): Promise<string[]> {
  return withDatabase(config, async (q) =>
    (
      await q("select c.id from conversations c join responses r on r.id = c.turn_response_id where r.status in ('queued', 'in_progress')")
    ).map((r) => r.id),
  )
}

/** Asserts the whole store is consistent; returns the responses for more specific checks. */
export async function expectStoreSane(config: Pick<Config, 'db' | 'databaseUrl'>): Promise<StoredResponse[]> {
  const all = await storedResponses(config)
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
  expect(await lockedConversations(config)).toEqual([])
  return all
}
