// Several gateway replicas on one PostgreSQL database: two processes of the compiled binary (copied alone into an
// empty dir, so the PostgreSQL migrations it applies are the embedded ones) share a fresh database. A chain driven
// alternately through both sees its whole history every turn; background turns run on both and are cancelled
// through the other one; a conversation used from both never interleaves turns; a replica killed mid-turn has its
// turn failed on restart. Afterwards the rows add up: nothing lost or duplicated, every response terminal.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { SQL } from 'bun'
import { RUN_KEY } from '../../src/store/event-runs'
import { eventsInRow } from '../../src/store/sql'
import { copyBinaryAlone, ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { createTestDatabase, type TestDatabase } from '../support/postgres'
import { waitFor } from '../support/wait'

const pg = await createTestDatabase('replicas')

const SLOW_WORDS = 120
const slowText = (tag: string) => Array.from({ length: SLOW_WORDS }, (_, i) => `${tag}${i}`).join(' ')
const lastUserText = (req: RecordedRequest) => {
  const last = req.body.input.at(-1)
  return typeof last?.content === 'string' ? last.content : last?.content?.map((p: any) => p.text).join('')
}

/** "slow …" prompts stream for a few seconds, "conv …" ones for about half a second, the rest answer at once. */
function byPrompt(req: RecordedRequest): TurnScript {
  const prompt = lastUserText(req) ?? ''
  if (prompt.startsWith('slow')) return { text: slowText('w'), delayMs: 25 }
  if (prompt.startsWith('conv')) return { text: `answer to ${prompt}`, chunks: 10, delayMs: 50 }
  return { text: `answer to ${prompt}` }
}

/** What the upstream saw, as "role: text" lines. */
const transcript = (req: RecordedRequest): string[] =>
  req.body.input.map((i: any) =>
    i.type === 'message' ? `${i.role}: ${typeof i.content === 'string' ? i.content : i.content.map((p: any) => p.text).join('')}` : i.type,
  )

const describeWithServer = pg
  ? describe
  : () => test.skip('replicas on one PostgreSQL database (postgres): no PostgreSQL server (see test/support/postgres.ts)', () => {})

describeWithServer('replicas on one PostgreSQL database (postgres)', () => {
  const db = pg as TestDatabase
  let up: FakeUpstream
  let dir: string
  let binPath: string
  let sql: SQL
  const gws: Record<'A' | 'B', RunningBinary> = {} as any

  const start = (name: 'A' | 'B') => {
    const home = join(dir, `home-${name}`)
    mkdirSync(home, { recursive: true })
    return startBinary(
      binPath,
      ['serve', '--host', '127.0.0.1', '--port', '0', '--upstream', up.url, '--database-url', db.url, '--log-level', 'warn'],
      {
        cwd: dir,
        env: { HOME: home, AGENTGATE_HOME: home, PATH: process.env.PATH },
        timeoutMs: 30_000,
      },
    )
  }

  beforeAll(async () => {
    await ensureBinary()
    const copy = copyBinaryAlone()
    dir = copy.dir
    binPath = copy.path
    up = startFakeUpstream({ defaultReply: byPrompt })
    // both start at once on the empty database: one applies the migrations, the other waits for it
    ;[gws.A, gws.B] = await Promise.all([start('A'), start('B')])
    sql = new SQL(db.url, { max: 2 })
  }, 300_000)

  afterAll(async () => {
    await Promise.all(Object.values(gws).map((g) => g?.stop()))
    await sql?.close()
    await up?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
    await db.drop()
  })

  const other = (name: 'A' | 'B') => (name === 'A' ? 'B' : 'A')
  async function call(gw: RunningBinary, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    })
    return { status: res.status, json: await res.json() }
  }
  /** A streamed create, read to its end; returns the final response object. */
  async function streamed(gw: RunningBinary, body: Record<string, unknown>): Promise<any> {
    const text = await (
      await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, stream: true }),
      })
    ).text()
    const last = text.trim().split('\n\n').at(-1)!
    expect(last).toStartWith('event: response.completed')
    return JSON.parse(
      last
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    ).response
  }
  /** Two processes on one database: a turn may take a while to show on the other. */
  const settle = <T>(what: string, check: () => Promise<T | null | undefined | false>) => waitFor(what, check, 20_000, 50)

  test('a previous_response_id chain driven alternately through both sees its full ordered history every turn', async () => {
    let previous: string | undefined
    const history: string[] = []
    for (let turn = 1; turn <= 8; turn++) {
      const name = turn % 2 ? 'A' : 'B'
      const input = `chain turn ${turn}`
      const body = { model: 'test-model', input, previous_response_id: previous }
      const r = turn % 3 === 0 ? await streamed(gws[name], body) : (await call(gws[name], 'POST', '/v1/responses', body)).json
      expect(r.status).toBe('completed')
      history.push(`user: ${input}`)
      const sent = up.requestsTo('/v1/responses').filter((q) => lastUserText(q) === input)
      expect(sent).toHaveLength(1)
      expect(transcript(sent[0])).toEqual(history)
      history.push(`assistant: answer to ${input}`)
      previous = r.id
    }
    // both replicas show the last turn the same way
    const [a, b] = await Promise.all([call(gws.A, 'GET', `/v1/responses/${previous}`), call(gws.B, 'GET', `/v1/responses/${previous}`)])
    expect(a.json).toEqual(b.json)
    expect(a.json.previous_response_id).toStartWith('resp_')
  }, 60_000)

  test('background turns on both replicas run side by side; those cancelled through the other replica stop', async () => {
    const names = ['A', 'B', 'A', 'B', 'A', 'B'] as const
    const created = await Promise.all(
      names.map((n, i) => call(gws[n], 'POST', '/v1/responses', { model: 'test-model', input: `slow background ${i}`, background: true })),
    )
    for (const c of created) expect(['queued', 'in_progress']).toContain(c.json.status)
    const ids = created.map((c) => c.json.id as string)
    // every turn is streaming (some output stored) before any cancel
    await settle('all background turns to be streaming', async () => {
      const counts = await sql.unsafe(
        `SELECT count(DISTINCT response_id)::int AS n FROM response_events WHERE type = 'response.output_text.delta' AND response_id = ANY($1)`,
        [ids],
      )
      return counts[0].n === ids.length
    })
    const cancelled = [0, 3, 4]
    for (const i of cancelled) {
      const r = await call(gws[other(names[i])], 'POST', `/v1/responses/${ids[i]}/cancel`)
      expect(r.status).toBe(200)
      expect(r.json.status).toBe('cancelled')
    }
    const finals = await Promise.all(
      ids.map((id, i) =>
        settle(`${id} to end`, async () => {
          const r = await call(gws[other(names[i])], 'GET', `/v1/responses/${id}`)
          return r.json.status === 'queued' || r.json.status === 'in_progress' ? null : r.json
        }),
      ),
    )
    finals.forEach((r, i) => {
      if (cancelled.includes(i)) {
        expect(r.status).toBe('cancelled')
      } else {
        expect(r.status).toBe('completed')
        expect(r.output_text).toBe(slowText('w'))
      }
    })
    // the runner that owned each cancelled turn stopped it: its output is cut short and its log no longer grows
    await Bun.sleep(500)
    for (const i of cancelled) {
      const r = await call(gws[names[i]], 'GET', `/v1/responses/${ids[i]}`)
      expect(r.json.status).toBe('cancelled')
      const text = r.json.output?.[0]?.content?.[0]?.text ?? ''
      expect(text.length).toBeLessThan(slowText('w').length)
    }
    const before = await sql.unsafe(`SELECT count(*)::int AS n FROM response_events WHERE response_id = ANY($1)`, [
      cancelled.map((i) => ids[i]),
    ])
    await Bun.sleep(400)
    const after = await sql.unsafe(`SELECT count(*)::int AS n FROM response_events WHERE response_id = ANY($1)`, [
      cancelled.map((i) => ids[i]),
    ])
    expect(after[0].n).toBe(before[0].n)
  }, 60_000)

  test('a conversation used from both replicas at once runs one turn at a time; the others get 409 conversation_locked', async () => {
    const conv = (await call(gws.A, 'POST', '/v1/conversations', { metadata: { from: 'A' } })).json
    expect(conv.id).toStartWith('conv_')
    const winners: string[] = []
    for (let round = 0; round < 4; round++) {
      const names = ['A', 'B', 'A', 'B'] as const
      const results = await Promise.all(
        names.map((n, i) =>
          call(gws[n], 'POST', '/v1/responses', { model: 'test-model', input: `conv round ${round} racer ${i}`, conversation: conv.id }),
        ),
      )
      const won = results.filter((r) => r.status === 200)
      const lost = results.filter((r) => r.status !== 200)
      expect(won).toHaveLength(1)
      for (const r of lost) {
        expect(r.status).toBe(409)
        expect(r.json.error.code).toBe('conversation_locked')
      }
      const winner = won[0].json
      expect(winner.status).toBe('completed')
      const prompt = `conv round ${round} racer ${results.indexOf(won[0])}`
      // the winner's history was the conversation as the earlier winners left it
      const sent = up.requestsTo('/v1/responses').filter((q) => lastUserText(q) === prompt)
      expect(sent).toHaveLength(1)
      expect(transcript(sent[0])).toEqual([...winners.flatMap((p) => [`user: ${p}`, `assistant: answer to ${p}`]), `user: ${prompt}`])
      winners.push(prompt)
    }
    const listed = (await call(gws.B, 'GET', `/v1/conversations/${conv.id}/items?order=asc&limit=100`)).json.data
    expect(listed.map((i: any) => `${i.role}: ${i.content.map((p: any) => p.text).join('')}`)).toEqual(
      winners.flatMap((p) => [`user: ${p}`, `assistant: answer to ${p}`]),
    )
    const [{ n }] = await sql.unsafe(`SELECT count(*)::int AS n FROM items WHERE conversation_id = $1`, [conv.id])
    expect(n).toBe(winners.length * 2)
    const [{ holder }] = await sql.unsafe(`SELECT turn_response_id AS holder FROM conversations WHERE id = $1`, [conv.id])
    const held = holder ? (await call(gws.A, 'GET', `/v1/responses/${holder}`)).json.status : 'free'
    expect(['free', 'completed']).toContain(held)
  }, 60_000)

  test('a replica killed mid-turn: the other keeps serving, and the turn is failed once the dead process is noticed', async () => {
    const r = (await call(gws.A, 'POST', '/v1/responses', { model: 'test-model', input: 'slow orphan', background: true })).json
    await settle(
      'the orphan to stream',
      async () =>
        (await sql.unsafe(`SELECT 1 FROM response_events WHERE response_id = $1 AND type = 'response.output_text.delta' LIMIT 1`, [r.id]))
          .length > 0,
    )
    process.kill(gws.A.pid, 'SIGKILL')
    await gws.A.stop(1_000)
    // B still serves, and reads the orphan as still running (its lease has not expired yet)
    expect((await call(gws.B, 'POST', '/v1/responses', { model: 'test-model', input: 'while A is down' })).json.status).toBe('completed')
    // A restarted (new process, same host): its start-up recovery sees the old process is dead
    gws.A = await start('A')
    const failed = await settle('the orphan to be failed', async () => {
      const g = (await call(gws.B, 'GET', `/v1/responses/${r.id}`)).json
      return g.status === 'failed' ? g : null
    })
    expect(failed.error.code).toBe('server_error')
    const events = await sql.unsafe(`SELECT type FROM response_events WHERE response_id = $1 ORDER BY sequence_number`, [r.id])
    expect(events.at(-1).type).toBe('response.failed')
  }, 60_000)

  test('afterwards nothing is lost or duplicated and every response is terminal', async () => {
    const unfinished = await sql.unsafe(
      `SELECT id, status FROM responses WHERE status IN ('queued', 'in_progress') OR lease_owner IS NOT NULL`,
    )
    expect(unfinished).toEqual([])
    // 8 chain turns, 6 background, 4 conversation winners, the orphan, "while A is down"; the 409s stored nothing
    const [{ responses }] = await sql.unsafe(`SELECT count(*)::int AS responses FROM responses`)
    expect(responses).toBe(8 + 6 + 4 + 1 + 1)
    // every response has its one input item; every completed one its one output item; nothing twice
    const perResponse = await sql.unsafe(`
      SELECT r.id, r.status,
             count(*) FILTER (WHERE i.kind = 'input')::int AS inputs,
             count(*) FILTER (WHERE i.kind = 'output')::int AS outputs,
             count(DISTINCT (i.kind, i.position))::int AS positions, count(i.seq)::int AS rows
        FROM responses r LEFT JOIN items i ON i.response_id = r.id
       GROUP BY r.id, r.status`)
    for (const row of perResponse) {
      expect({ id: row.id, inputs: row.inputs }).toEqual({ id: row.id, inputs: 1 })
      if (row.status === 'completed') expect({ id: row.id, outputs: row.outputs }).toEqual({ id: row.id, outputs: 1 })
      expect(row.outputs).toBeLessThanOrEqual(1)
      expect(row.positions).toBe(row.rows)
    }
    const [{ conversationRows, conversationPositions }] = await sql.unsafe(
      `SELECT count(*)::int AS "conversationRows", count(DISTINCT (conversation_id, position))::int AS "conversationPositions" FROM items WHERE conversation_id IS NOT NULL`,
    )
    expect(conversationRows).toBe(8)
    expect(conversationPositions).toBe(8)
    // each event log runs 0..n-1 without gaps or repeats and ends with exactly one terminal event (a row holding a run
    // of deltas, src/store/event-runs.ts, counts as the events it holds)
    const logs = await sql.unsafe(`
      SELECT response_id, sum(${eventsInRow(`json_array_length(data->'${RUN_KEY}')`)})::int AS n, min(sequence_number) AS first, max(sequence_number) AS last,
             count(*) FILTER (WHERE type IN ('response.completed', 'response.failed', 'response.incomplete', 'response.cancelled'))::int AS terminal,
             (array_agg(type ORDER BY sequence_number DESC))[1] AS last_type
        FROM response_events GROUP BY response_id`)
    expect(logs.length).toBeGreaterThanOrEqual(6 + 1)
    for (const log of logs) {
      expect({ id: log.response_id, first: log.first, last: log.last }).toEqual({ id: log.response_id, first: 0, last: log.n - 1 })
      expect(log.terminal).toBeLessThanOrEqual(1)
    }
  })
})
