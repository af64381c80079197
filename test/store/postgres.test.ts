// PostgreSQL specifics of the store: opening, embedded migrations (applied once, also by replicas starting together),
// JSON kept exactly as given, loadChain's query count and time, and the Store's guarantees when several processes
// (here: several connection pools) share one database. The behaviour both dialects share is in contract.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SQL } from 'bun'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { ConfigError } from '../../src/config'
import { openStore } from '../../src/store'
import { migrations } from '../../src/store/migrations.pg.gen'
import { openPostgres } from '../../src/store/postgres/driver'
import { embeddedPgMigrations, migratePostgres } from '../../src/store/postgres/migrate'
import { createPostgresStore } from '../../src/store/postgres/repository'
import { createTestDatabase, type TestDatabase } from '../support/postgres'
import { message, responseRecord, storeChain, type JsonStore } from './fixtures'

const repoRoot = join(import.meta.dir, '..', '..')
const pg = await createTestDatabase('store')
afterAll(async () => {
  await pg?.drop()
})

describe('PostgreSQL migrations (files)', () => {
  test("are exactly drizzle-kit's files in drizzle-pg/, with the hashes drizzle's own reader computes", () => {
    expect(embeddedPgMigrations()).toEqual(readMigrationFiles({ migrationsFolder: join(repoRoot, 'drizzle-pg') }))
  })

  test('migrations.pg.gen.ts is up to date with drizzle-pg/ (run `bun run db:generate` otherwise)', () => {
    const journal = JSON.parse(readFileSync(join(repoRoot, 'drizzle-pg/meta/_journal.json'), 'utf8'))
    expect(migrations.journal).toEqual(journal)
    expect(journal.dialect).toBe('postgresql')
    journal.entries.forEach((e: { tag: string }, i: number) => {
      expect(migrations.sql[i]).toBe(readFileSync(join(repoRoot, 'drizzle-pg', `${e.tag}.sql`), 'utf8'))
    })
  })

  test('a URL that is not postgres:// is a config error', async () => {
    const err = await openStore({ db: ':memory:', databaseUrl: 'mysql://u:secret@localhost/x' }).catch((e) => e)
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.message).toContain('--database-url')
    expect(err.message).not.toContain('secret')
  })

  test('an unreachable server fails the start with the URL, without its password', async () => {
    const port = await closedPort()
    const err = await openStore({ db: ':memory:', databaseUrl: `postgres://agentgate:hunter2@127.0.0.1:${port}/x` }).catch((e) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err.message).toStartWith(`cannot open the PostgreSQL database postgres://agentgate:***@127.0.0.1:${port}/x`)
    expect(err.message).not.toContain('hunter2')
  }, 20_000)
})

const describeWithServer = pg
  ? describe
  : () => test.skip('PostgreSQL store (postgres): no PostgreSQL server (see test/support/postgres.ts)', () => {})

describeWithServer('PostgreSQL store (postgres)', () => {
  const db = pg as TestDatabase
  const others: TestDatabase[] = []
  afterAll(async () => {
    for (const other of others) await other.drop()
  })
  async function freshDatabase() {
    const other = (await createTestDatabase('fresh'))!
    others.push(other)
    return other
  }
  const applied = async (url: string) => {
    const sql = new SQL(url, { max: 1 })
    try {
      return ((await sql.unsafe('SELECT hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id')) as { hash: string }[]).map(
        (r) => r.hash,
      )
    } finally {
      await sql.close()
    }
  }

  describe('opening', () => {
    test('a fresh empty database gets every migration, once; reopening keeps the data and applies none again', async () => {
      const fresh = await freshDatabase()
      const first: JsonStore = await openStore({ db: ':memory:', databaseUrl: fresh.url })
      expect(first.dialect).toBe('postgres')
      await first.createResponse(responseRecord('resp_1'), [message('in_1', 'user', 'kept')])
      await first.close()
      const second: JsonStore = await openStore({ db: ':memory:', databaseUrl: fresh.url })
      expect((await second.loadChain('default', 'resp_1'))!.items).toEqual([message('in_1', 'user', 'kept')])
      await second.close()
      expect(await applied(fresh.url)).toEqual(embeddedPgMigrations().map((m) => m.hash))
    })

    test('replicas starting together on a fresh database apply the migrations once between them', async () => {
      const fresh = await freshDatabase()
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore({ db: ':memory:', databaseUrl: fresh.url })))
      await Promise.all(stores.map((s) => s.ping()))
      await Promise.all(stores.map((s) => s.close()))
      expect(await applied(fresh.url)).toEqual(embeddedPgMigrations().map((m) => m.hash))
    })

    test('a process that finds another one migrating waits for it, boundedly', async () => {
      const fresh = await freshDatabase()
      const holder = new SQL(fresh.url, { max: 1 })
      await holder.unsafe(`SELECT pg_advisory_lock(hashtextextended('agentgate migrations', 0))`)
      const { client } = openPostgres(fresh.url)
      const err = await migratePostgres(client, 300).catch((e) => e)
      expect(err.message).toContain('another process has been migrating this database')
      await holder.close()
      await migratePostgres(client, 300)
      await client.close()
      expect(await applied(fresh.url)).toHaveLength(embeddedPgMigrations().length)
    })

    test('ping answers while open and fails once closed', async () => {
      const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: db.url })
      await store.ping()
      await store.close()
      await expect(store.ping()).rejects.toThrow()
    })

    test('only rows with a conversation (or a previous response) are in its index, and lookups by it still use it', async () => {
      // as on SQLite (test/store/sqlite.test.ts): null keys of most rows left out of the index, lookups by value unchanged
      const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: db.url })
      await store.close()
      const sql = new SQL(db.url, { max: 1 })
      try {
        const defs = Object.fromEntries(
          (
            (await sql.unsafe("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('items', 'responses')")) as {
              indexname: string
              indexdef: string
            }[]
          ).map((r) => [r.indexname, r.indexdef]),
        )
        expect(defs.items_conversation_idx).toEndWith('WHERE (conversation_id IS NOT NULL)')
        expect(defs.responses_previous_idx).toEndWith('WHERE (previous_response_id IS NOT NULL)')
        expect(defs.items_response_idx).not.toContain('WHERE')
        // a response's insert writes only indexes that a query reads: none on (tenant, created_at)
        expect(
          Object.keys(defs)
            .filter((name) => name.startsWith('responses_'))
            .sort(),
        ).toEqual(['responses_pkey', 'responses_previous_idx', 'responses_unfinished_idx'])
        await sql.unsafe('SET enable_seqscan = off')
        const plan = async (q: string) =>
          ((await sql.unsafe(`EXPLAIN ${q}`)) as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('; ')
        expect(await plan("SELECT body FROM items WHERE conversation_id = 'conv_1' AND kind = 'conversation' ORDER BY position")).toContain(
          'items_conversation_idx',
        )
        expect(await plan("SELECT id FROM responses WHERE previous_response_id = 'resp_1'")).toContain('responses_previous_idx')
      } finally {
        await sql.close()
      }
    })
  })

  describe('items and their response', () => {
    // No foreign key from items to responses on PostgreSQL (its per-item check cost a quarter of a JSON turn's server
    // CPU): a trigger deletes the items of deleted responses, whichever way they go.
    test('items carry no foreign key to their response; deleting responses by id, by retention or by hand deletes their items', async () => {
      const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: db.url })
      const sql = new SQL(db.url, { max: 1 })
      try {
        await db.reset()
        const fks = (await sql.unsafe(
          "SELECT conname FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'f' ORDER BY conname",
        )) as { conname: string }[]
        expect(fks.map((c) => c.conname)).toEqual(['items_conversation_id_conversations_id_fk'])
        const items = async (id: string) =>
          Number(((await sql.unsafe('SELECT count(*)::int AS n FROM items WHERE response_id = $1', [id])) as { n: number }[])[0]!.n)
        for (const id of ['resp_byid', 'resp_old', 'resp_byhand', 'resp_kept'])
          await store.createResponse(
            responseRecord(id, { status: 'completed', createdAt: id === 'resp_old' ? 1 : Date.now() }),
            [message(`${id}_in`, 'user', 'hi')],
            undefined,
            [message(`${id}_out`, 'assistant', 'hello')],
          )
        expect(await items('resp_byid')).toBe(2)
        expect(await store.deleteResponse('default', 'resp_byid')).toBe(true)
        expect(await store.pruneResponses(1000, 10)).toBe(1)
        await sql.unsafe("DELETE FROM responses WHERE id = 'resp_byhand'")
        expect([await items('resp_byid'), await items('resp_old'), await items('resp_byhand'), await items('resp_kept')]).toEqual([
          0, 0, 0, 2,
        ])
      } finally {
        await sql.close()
        await store.close()
      }
    })
  })

  describe('JSON is kept exactly as given', () => {
    let store: JsonStore
    beforeAll(async () => {
      store = await openStore({ db: ':memory:', databaseUrl: db.url })
    })
    beforeEach(() => db.reset())
    afterAll(() => store.close())

    const odd = {
      id: 'msg_odd',
      type: 'message',
      zeta: 1,
      alpha: { z: [1, { y: 2, b: 1 }], a: null },
      text: 'nul \u0000, "quotes", \\ back, é, 😀',
      big: 2 ** 53 - 1,
      neg: -0.5,
    }

    test("a finished turn's last events point at its stored output and Response, and replay them exactly", async () => {
      const item = { ...odd, id: 'msg_odd_out', text: odd.text.repeat(10) }
      const response = { zz: true, id: 'resp_1', status: 'completed', output: [item] }
      await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [odd], { owner: 'x', expiresAt: Date.now() + 60_000 })
      const events = [
        { type: 'response.output_item.done', sequence_number: 0, output_index: 0, item },
        { type: 'response.completed', sequence_number: 1, response },
      ]
      await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, [item], { events })
      expect(JSON.stringify(await store.listEvents('resp_1', -1))).toBe(JSON.stringify(events))
      expect(JSON.stringify(await store.listEvents('resp_1', 0))).toBe(JSON.stringify(events.slice(1)))
      const sql = new SQL(db.url, { max: 1 })
      try {
        const rows = await sql.unsafe(`SELECT data::text AS data FROM response_events WHERE response_id = 'resp_1'`)
        expect(rows).toHaveLength(2)
        for (const row of rows) expect(row.data).not.toContain('quotes')
      } finally {
        await sql.close()
      }
    })

    test('a response stored whole in one statement keeps its bodies, key order and odd characters too', async () => {
      const rec = responseRecord('resp_whole', { status: 'completed', request: { z: 1, a: odd }, response: { zz: true, aa: odd } })
      const out = { ...odd, id: 'msg_odd_out' }
      await store.createResponse(rec, [odd], undefined, [out])
      const back = await store.getResponse('default', 'resp_whole')
      expect(JSON.stringify(back)).toBe(JSON.stringify(rec))
      expect(JSON.stringify((await store.listInputItems('default', 'resp_whole', { limit: 10, order: 'asc' }))!.items)).toBe(
        JSON.stringify([odd]),
      )
      expect(JSON.stringify(await store.getOutputItems('default', 'resp_whole'))).toBe(JSON.stringify([out]))
    })

    test('item bodies, events, request and response objects come back with their key order and odd characters', async () => {
      const rec = responseRecord('resp_1', {
        status: 'in_progress',
        request: { z: 1, a: odd },
        response: { zz: true, id: 'resp_1', status: 'in_progress', aa: odd },
      })
      await store.createResponse(rec, [odd])
      await store.appendEvents('resp_1', [{ type: 'response.created', sequence_number: 0, z: odd, a: 1 }])
      expect(JSON.stringify((await store.listInputItems('default', 'resp_1', { limit: 10, order: 'asc' }))!.items)).toBe(
        JSON.stringify([odd]),
      )
      expect(JSON.stringify(await store.listEvents('resp_1', -1))).toBe(
        JSON.stringify([{ type: 'response.created', sequence_number: 0, z: odd, a: 1 }]),
      )
      const back = await store.getResponse('default', 'resp_1')
      expect(JSON.stringify(back!.request)).toBe(JSON.stringify(rec.request))
      expect(JSON.stringify(back!.response)).toBe(JSON.stringify(rec.response))
      const chain = await store.loadChain('default', 'resp_1')
      expect(chain!.responses.map((r) => r.id)).toEqual(['resp_1'])
      expect(JSON.stringify(chain!.items)).toBe(JSON.stringify([odd]))
    })

    test('cancel and recovery change status (and error) in place: the rest of the object keeps its order', async () => {
      const response = { id: 'r', object: 'response', status: 'in_progress', later: { b: 1, a: 2, text: 'nul \u0000' } }
      await store.createResponse(responseRecord('resp_c', { status: 'in_progress', response }), [], {
        owner: 'x/1/a',
        expiresAt: Date.now() + 60_000,
      })
      await store.createResponse(responseRecord('resp_f', { status: 'in_progress', response }), [], { owner: 'x/1/a', expiresAt: 1 })
      await store.appendEvents('resp_f', [{ type: 'response.created', sequence_number: 0, response }])
      expect(JSON.stringify((await store.cancelResponse('default', 'resp_c', 5))!.response)).toBe(
        JSON.stringify({ ...response, status: 'cancelled' }),
      )
      expect(JSON.stringify((await store.getResponse('default', 'resp_c'))!.response)).toBe(
        JSON.stringify({ ...response, status: 'cancelled' }),
      )
      await store.failInterrupted('gone', 10)
      const error = { code: 'server_error', message: 'gone' }
      expect(JSON.stringify((await store.getResponse('default', 'resp_f'))!.response)).toBe(
        JSON.stringify({ ...response, status: 'failed', error }),
      )
      const events = await store.listEvents('resp_f', -1)
      expect(JSON.stringify(events[1])).toBe(
        JSON.stringify({ type: 'response.failed', sequence_number: 1, response: { ...response, status: 'failed', error } }),
      )
    })

    test('JSON columns hold JSON objects, not JSON strings (Bun binds objects; a JSON.stringify would double-encode)', async () => {
      // (no "\u0000" here: PostgreSQL's JSON operators refuse it, though `json` columns store it fine)
      await store.createConversation({ id: 'conv_1', tenant: 'default', metadata: { k: 'v' }, createdAt: 1, updatedAt: 1 }, [
        message('m', 'user', 'x'),
      ])
      await store.createResponse(responseRecord('resp_1'), [message('m', 'user', 'x')])
      const sql = new SQL(db.url, { max: 1 })
      const [row] = await sql.unsafe(`SELECT
          (SELECT json_typeof(body) FROM items WHERE response_id = 'resp_1') AS body,
          (SELECT json_typeof(response) FROM responses WHERE id = 'resp_1') AS response,
          (SELECT json_typeof(request) FROM responses WHERE id = 'resp_1') AS request,
          (SELECT json_typeof(metadata) FROM conversations WHERE id = 'conv_1') AS metadata,
          (SELECT body->>'type' FROM items WHERE response_id = 'resp_1') AS type`)
      await sql.close()
      expect(row).toEqual({ body: 'object', response: 'object', request: 'object', metadata: 'object', type: 'message' })
    })
  })

  describe('responses stored whole at the end of turns that end together', () => {
    let store: JsonStore
    let counter: ReturnType<typeof countingClient>
    beforeAll(async () => {
      const { client, db: drizzleDb } = openPostgres(db.url)
      await migratePostgres(client)
      counter = countingClient(client)
      store = createPostgresStore(drizzleDb, counter.client)
    })
    beforeEach(() => db.reset())
    afterAll(() => store.close())

    /** A turn stored whole at its end, as the engine writes a JSON turn. */
    const turn = (id: string, overrides: Parameters<typeof responseRecord>[1] = {}) =>
      store.createResponse(
        responseRecord(id, { status: 'completed', ...overrides }),
        [message(`${id}_in1`, 'user', 'hello'), message(`${id}_in2`, 'user', 'again')],
        undefined,
        [message(`${id}_out`, 'assistant', 'hi')],
      )

    test('share one statement, and each comes back exactly as stored alone', async () => {
      const odd = { z: 1, a: 'nul \u0000, "quotes", \\ back, é, 😀', n: null }
      const before = counter.count()
      await Promise.all([
        turn('resp_t1', { request: { z: 1, a: odd }, response: { zz: true, aa: odd }, completedAt: 5 }),
        turn('resp_t2', { previousResponseId: 'resp_t1', requestId: null, error: { code: 'c', message: 'm' }, status: 'failed' }),
        turn('resp_t3', { background: true, completedAt: null }),
      ])
      expect(counter.count() - before).toBe(1)
      for (const [id, overrides] of [
        ['resp_t1', { request: { z: 1, a: odd }, response: { zz: true, aa: odd }, completedAt: 5 }],
        ['resp_t2', { previousResponseId: 'resp_t1', requestId: null, error: { code: 'c', message: 'm' }, status: 'failed' }],
        ['resp_t3', { background: true, completedAt: null }],
      ] as const) {
        const back = await store.getResponse('default', id)
        expect(JSON.stringify(back)).toBe(JSON.stringify(responseRecord(id, { status: 'completed', ...overrides })))
        const input = await store.listInputItems('default', id, { limit: 10, order: 'asc' })
        expect(input!.items).toEqual([message(`${id}_in1`, 'user', 'hello'), message(`${id}_in2`, 'user', 'again')])
        expect(await store.getOutputItems('default', id)).toEqual([message(`${id}_out`, 'assistant', 'hi')])
      }
      const chain = await store.loadChain('default', 'resp_t2')
      expect(chain!.items.map((i) => i.id)).toEqual([
        'resp_t1_in1',
        'resp_t1_in2',
        'resp_t1_out',
        'resp_t2_in1',
        'resp_t2_in2',
        'resp_t2_out',
      ])
    })

    test('a turn whose write fails fails alone: the others that ended with it are stored', async () => {
      await turn('resp_taken')
      const results = await Promise.allSettled([turn('resp_a'), turn('resp_taken'), turn('resp_b')])
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
      for (const id of ['resp_a', 'resp_b']) expect((await store.getResponse('default', id))?.status).toBe('completed')
      expect(await store.getOutputItems('default', 'resp_taken')).toEqual([message('resp_taken_out', 'assistant', 'hi')])
    })
  })

  describe('loadChain', () => {
    test('runs the same two statements for a chain of 1, 10, 100 and 1000 turns', async () => {
      await db.reset()
      const { client, db: drizzleDb } = openPostgres(db.url)
      await migratePostgres(client)
      const counter = countingClient(client)
      const store = createPostgresStore(drizzleDb, counter.client)
      const counts: Record<number, number> = {}
      for (const turns of [1, 10, 100, 1000]) {
        const chainIds = await storeChain(store, { turns, prefix: `t${turns}` })
        const before = counter.count()
        const chain = await store.loadChain('default', chainIds.at(-1)!)
        counts[turns] = counter.count() - before
        expect(chain!.responses).toHaveLength(turns)
        expect(chain!.items).toHaveLength(turns * 2)
      }
      expect(counts).toEqual({ 1: 2, 10: 2, 100: 2, 1000: 2 })
      await store.close()
    }, 60_000)

    test('a 1000-item chain (500 turns) loads in well under a second', async () => {
      await db.reset()
      const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: db.url })
      const chainIds = await storeChain(store, { turns: 500 })
      const times: number[] = []
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        const chain = await store.loadChain('default', chainIds.at(-1)!)
        times.push(performance.now() - started)
        expect(chain!.items).toHaveLength(1000)
      }
      times.sort((a, b) => a - b)
      console.log(
        `[postgres] loadChain, 1000 items / 500 responses: median ${times[2].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)})`,
      )
      expect(times[2]).toBeLessThan(1_000)
      await store.close()
    }, 60_000)
  })

  describe('several processes on one database (a connection pool each)', () => {
    let a: JsonStore
    let b: JsonStore
    beforeAll(async () => {
      a = await openStore({ db: ':memory:', databaseUrl: db.url })
      b = await openStore({ db: ':memory:', databaseUrl: db.url })
    })
    beforeEach(() => db.reset())
    afterAll(async () => {
      await a.close()
      await b.close()
    })
    const live = () => ({ owner: 'test/1/a', expiresAt: Date.now() + 60_000 })
    const turn = (id: string) => responseRecord(id, { status: 'in_progress', conversationId: 'conv_1', completedAt: null })
    const conversationIds = async (store: JsonStore) =>
      (await store.listConversationItems('default', 'conv_1', { limit: 100, order: 'asc' }))!.items.map((i) => i.id)

    test('of turns started at once on one conversation, exactly one gets it; the others see it locked', async () => {
      await a.createConversation({ id: 'conv_1', tenant: 'default', metadata: {}, createdAt: 1, updatedAt: 1 }, [])
      for (let round = 0; round < 10; round++) {
        const attempts = await Promise.all(
          Array.from({ length: 6 }, (_, i) =>
            (i % 2 ? a : b).startConversationTurn(turn(`resp_${round}_${i}`), [message(`in_${round}_${i}`, 'user', 'q')], live()),
          ),
        )
        const winners = attempts.flatMap((r, i) => (r.ok ? [i] : []))
        expect(winners).toHaveLength(1)
        const winner = `resp_${round}_${winners[0]}`
        for (const r of attempts) if (!r.ok) expect(r).toEqual({ ok: false, reason: 'locked', holder: winner })
        const store = winners[0] % 2 ? b : a // finished by the other process
        expect(
          await store.finishResponse(
            'default',
            winner,
            { status: 'completed', response: {}, error: null, completedAt: 1 },
            [message(`out_${round}`, 'assistant', 'a')],
            {
              conversationItems: [message(`in_${round}_${winners[0]}`, 'user', 'q'), message(`out_${round}`, 'assistant', 'a')],
            },
          ),
        ).toEqual({ status: 'completed', appended: true })
      }
      // every round appended its two items, in order, nothing else
      expect(await conversationIds(a)).toEqual(
        Array.from({ length: 10 }, (_, r) => r).flatMap((r) => [expect.stringMatching(new RegExp(`^in_${r}_`)), `out_${r}`]),
      )
    })

    test('items added at once from both processes all land, each batch in one piece, at distinct positions', async () => {
      await a.createConversation({ id: 'conv_1', tenant: 'default', metadata: {}, createdAt: 1, updatedAt: 1 }, [])
      const batch = (n: number) => Array.from({ length: 3 }, (_, i) => message(`m${n}_${i}`, 'user', 'x'))
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, n) => (n % 2 ? a : b).addConversationItems('default', 'conv_1', batch(n), n)),
      )
      expect(results.every((r) => r.ok)).toBe(true)
      const listed = await conversationIds(b)
      expect(listed).toHaveLength(36)
      for (let n = 0; n < 12; n++) {
        const at = listed.indexOf(`m${n}_0`)
        expect(listed.slice(at, at + 3)).toEqual([`m${n}_0`, `m${n}_1`, `m${n}_2`])
      }
      const sql = new SQL(db.url, { max: 1 })
      const [{ n, distinct }] = await sql.unsafe(
        `SELECT count(*)::int AS n, count(DISTINCT position)::int AS distinct FROM items WHERE conversation_id = 'conv_1'`,
      )
      await sql.close()
      expect({ n, distinct }).toEqual({ n: 36, distinct: 36 })
    })

    test('recovery run by both processes at once fails each abandoned turn once, with one response.failed event', async () => {
      for (let i = 0; i < 8; i++) {
        await a.createResponse(responseRecord(`resp_${i}`, { status: 'in_progress', completedAt: null }), [], {
          owner: 'dead/1/x',
          expiresAt: 1,
        })
        await a.appendEvents(`resp_${i}`, [{ type: 'response.created', sequence_number: 0 }])
      }
      await a.createResponse(responseRecord('resp_live', { status: 'in_progress', completedAt: null }), [], live())
      const [fromA, fromB] = await Promise.all([a.failInterrupted('gone', Date.now()), b.failInterrupted('gone', Date.now())])
      expect([...fromA, ...fromB].sort()).toEqual(Array.from({ length: 8 }, (_, i) => `resp_${i}`).sort())
      for (let i = 0; i < 8; i++) {
        expect((await b.listEvents(`resp_${i}`, -1)).map((e) => e.type)).toEqual(['response.created', 'response.failed'])
        expect((await b.getResponse('default', `resp_${i}`))!.status).toBe('failed')
      }
      expect((await b.getResponse('default', 'resp_live'))!.status).toBe('in_progress')
    })

    test('a cancel racing the end of a turn: the response ends one way, columns and object agree', async () => {
      for (let i = 0; i < 10; i++) {
        const id = `resp_${i}`
        await a.createResponse(
          responseRecord(id, { status: 'in_progress', background: true, completedAt: null, response: { id, status: 'in_progress' } }),
          [],
          live(),
        )
        const [cancelled, finished] = await Promise.all([
          b.cancelResponse('default', id, Date.now()),
          a.finishResponse('default', id, { status: 'completed', response: { id, status: 'completed' }, error: null, completedAt: 1 }, [
            message(`o${i}`, 'assistant', 'x'),
          ]),
        ])
        const rec = (await a.getResponse('default', id))!
        expect(['cancelled', 'completed']).toContain(rec.status)
        expect(rec.response.status).toBe(rec.status)
        expect(cancelled!.status).toBe(rec.status)
        expect(finished.status).toBe(rec.status)
      }
    })

    test('a checkpoint from the running process cannot undo a cancel made by the other', async () => {
      await a.createResponse(responseRecord('resp_1', { status: 'in_progress', background: true, completedAt: null }), [], live())
      await b.cancelResponse('default', 'resp_1', 5)
      const snap = { status: 'in_progress' as const, response: { status: 'in_progress' }, outputItems: [message('o', 'assistant', 'x')] }
      expect(await a.checkpointResponse('default', 'resp_1', { lease: live(), progress: snap })).toBe('cancelled')
      expect(await a.checkpointResponse('default', 'resp_1', { lease: live() })).toBe('cancelled')
      expect((await b.getResponse('default', 'resp_1'))!.status).toBe('cancelled')
      expect(await b.getOutputItems('default', 'resp_1')).toEqual([])
    })

    test('the same event appended from both processes is stored once; the other append fails whole', async () => {
      await a.createResponse(responseRecord('resp_1', { status: 'in_progress', completedAt: null }), [])
      const ev = (n: number) => ({ type: 'response.output_text.delta', sequence_number: n })
      const results = await Promise.allSettled([a.appendEvents('resp_1', [ev(0), ev(1)]), b.appendEvents('resp_1', [ev(2), ev(1)])])
      expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1)
      const seqs = (await a.listEvents('resp_1', -1)).map((e) => e.sequence_number)
      expect([
        [0, 1],
        [1, 2],
      ]).toContainEqual(seqs)
    })

    test('a response deleted by one process while the other streams: its later events are dropped', async () => {
      await a.createResponse(responseRecord('resp_1', { status: 'in_progress', completedAt: null }), [])
      await a.appendEvents('resp_1', [{ type: 'response.created', sequence_number: 0 }])
      expect(await b.deleteResponse('default', 'resp_1')).toBe(true)
      await a.appendEvents('resp_1', [{ type: 'response.in_progress', sequence_number: 1 }])
      expect(await a.listEvents('resp_1', -1)).toEqual([])
    })
  })
})

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

/** Wraps Bun's SQL client to count the statements run through it (`unsafe`, also inside `begin`). */
function countingClient(client: SQL): { client: SQL; count: () => number } {
  let count = 0
  const counted = <T extends object>(target: T, onBegin: boolean): T =>
    new Proxy(target, {
      get(t, key) {
        const value = Reflect.get(t, key, t)
        if (typeof value !== 'function') return value
        if (key === 'unsafe')
          return (...args: unknown[]) => {
            count++
            return value.apply(t, args)
          }
        if (key === 'begin' && onBegin)
          return (opts: string, fn: (tx: SQL) => Promise<unknown>) => value.call(t, opts, (tx: SQL) => fn(counted(tx, false)))
        return value.bind(t)
      },
    })
  return { client: counted(client, true), count: () => count }
}
