// SQLite specifics of the store: opening files, embedded migrations, pragmas, and loadChain's query count.
import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import { readMigrationFiles } from 'drizzle-orm/migrator'
import { openStore } from '../../src/store'
import { migrations } from '../../src/store/migrations.gen'
import { embeddedMigrations, migrateSqlite } from '../../src/store/sqlite/migrate'
import { createSqliteStore } from '../../src/store/sqlite/repository'
import * as schema from '../../src/store/sqlite/schema'
import { message, responseRecord, storeChain } from './fixtures'
import type { JsonStore } from './fixtures'

const repoRoot = join(import.meta.dir, '..', '..')
let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentgate-store-'))
})
afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

describe('openStore', () => {
  test('a database path in directories that do not exist yet is created, in WAL mode', async () => {
    const path = join(dir, 'nested', 'deeper', 'agentgate.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    expect(store.dialect).toBe('sqlite')
    await store.ping()
    await store.close()
    expect(existsSync(path)).toBe(true)
    const raw = new Database(path)
    expect(raw.query('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
    raw.close()
  })

  test('reopening a file keeps its data and applies no migration twice', async () => {
    const path = join(dir, 'agentgate.db')
    const first: JsonStore = await openStore({ db: path, databaseUrl: null })
    await first.createResponse(responseRecord('resp_1'), [message('in_1', 'user', 'kept')])
    await first.close()

    const second: JsonStore = await openStore({ db: path, databaseUrl: null })
    const chain = await second.loadChain('default', 'resp_1')
    expect(chain!.items).toEqual([message('in_1', 'user', 'kept')])
    await second.close()

    const raw = new Database(path)
    const applied = raw.query('SELECT hash FROM __drizzle_migrations').all() as { hash: string }[]
    expect(applied.map((r) => r.hash)).toEqual(embeddedMigrations().map((m) => m.hash))
    raw.close()
  })

  test('a restart fails the responses the previous process left unfinished', async () => {
    const path = join(dir, 'agentgate.db')
    const before: JsonStore = await openStore({ db: path, databaseUrl: null })
    await before.createResponse(responseRecord('resp_bg', { status: 'in_progress', background: true }), [])
    await before.close()
    const after: JsonStore = await openStore({ db: path, databaseUrl: null })
    expect(await after.failInterrupted('gateway restarted', 1)).toEqual(['resp_bg'])
    expect((await after.getResponse('default', 'resp_bg'))!.status).toBe('failed')
    await after.close()
  })

  test('ping fails once the store is closed', async () => {
    const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: null })
    await store.close()
    await expect(store.ping()).rejects.toThrow()
  })
})

describe('embedded migrations', () => {
  test("are exactly drizzle-kit's files, with the hashes drizzle's own reader computes", () => {
    const fromDisk = readMigrationFiles({ migrationsFolder: join(repoRoot, 'drizzle') })
    expect(embeddedMigrations()).toEqual(fromDisk)
  })

  test('a database made before turn leases upgrades in place; its unfinished rows count as abandoned', async () => {
    const path = join(dir, 'old.db')
    const old = new Database(path, { create: true, strict: true })
    const oldDb = drizzle({ client: old, schema })
    ;(oldDb as any).dialect.migrate(embeddedMigrations().slice(0, 1), (oldDb as any).session, {})
    old.run(
      `INSERT INTO responses (id, tenant, status, model, background, created_at, updated_at, request, response)
       VALUES ('resp_old', 'default', 'in_progress', 'm', 1, 1, 1, '{}', '{"id":"resp_old","status":"in_progress"}')`,
    )
    old.close()
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    expect((await store.getResponse('default', 'resp_old'))!.status).toBe('in_progress')
    expect(await store.failInterrupted('restarted', 5)).toEqual(['resp_old'])
    await store.close()
    const raw = new Database(path)
    const columns = (table: string) => (raw.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name)
    expect(columns('responses')).toEqual(expect.arrayContaining(['lease_owner', 'lease_expires_at']))
    expect(columns('conversations')).toContain('turn_response_id')
    raw.close()
  })

  test('migrations.gen.ts is up to date with drizzle/ (run `bun run db:generate` otherwise)', () => {
    const journal = JSON.parse(readFileSync(join(repoRoot, 'drizzle/meta/_journal.json'), 'utf8'))
    expect(migrations.journal).toEqual(journal)
    journal.entries.forEach((e: { tag: string }, i: number) => {
      expect(migrations.sql[i]).toBe(readFileSync(join(repoRoot, 'drizzle', `${e.tag}.sql`), 'utf8'))
    })
  })
})

/** A bun:sqlite Database that counts the statements executed through it (BEGIN/COMMIT of transactions excluded). */
function countingDatabase(path: string) {
  const target = new Database(path, { create: true, strict: true })
  target.exec('PRAGMA foreign_keys = ON')
  let count = 0
  const wrapStatement = (stmt: object) =>
    new Proxy(stmt, {
      get(t, key) {
        const value = Reflect.get(t, key, t)
        if (typeof value !== 'function') return value
        if (['all', 'get', 'run', 'values', 'iterate'].includes(String(key)))
          return (...args: unknown[]) => {
            count++
            return value.apply(t, args)
          }
        return value.bind(t)
      },
    })
  const client = new Proxy(target, {
    get(t, key) {
      const value = Reflect.get(t, key, t)
      if (typeof value !== 'function') return value
      if (key === 'prepare' || key === 'query') return (...args: unknown[]) => wrapStatement(value.apply(t, args))
      if (key === 'run' || key === 'exec')
        return (...args: unknown[]) => {
          count++
          return value.apply(t, args)
        }
      return value.bind(t)
    },
  })
  return { client, queries: () => count }
}

describe('loadChain query count', () => {
  test('is the same for a chain of 1, 10, 100 and 1000 turns', async () => {
    const { client, queries } = countingDatabase(':memory:')
    const db = drizzle({ client, schema })
    migrateSqlite(db)
    const store = createSqliteStore(db, client)
    const counts: Record<number, number> = {}
    for (const turns of [1, 10, 100, 1000]) {
      const chainIds = await storeChain(store, { turns, prefix: `t${turns}` })
      const before = queries()
      const chain = await store.loadChain('default', chainIds.at(-1)!)
      counts[turns] = queries() - before
      expect(chain!.responses).toHaveLength(turns)
      expect(chain!.items).toHaveLength(turns * 2)
    }
    expect(counts).toEqual({ 1: 2, 10: 2, 100: 2, 1000: 2 })
    await store.close()
  })
})

describe('event log rows', () => {
  test('a run of alike deltas is one row of response_events, however long; other events keep a row each', async () => {
    const path = join(dir, 'events.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [], { owner: 'x', expiresAt: Date.now() + 60_000 })
    const delta = (n: number) => ({
      type: 'response.output_text.delta',
      item_id: 'msg_1',
      output_index: 0,
      content_index: 0,
      delta: ` w${n}`,
      sequence_number: n,
    })
    await store.appendEvents('resp_1', [
      { type: 'response.created', sequence_number: 0 },
      ...Array.from({ length: 64 }, (_, i) => delta(i + 1)),
    ])
    await store.finishResponse(
      'default',
      'resp_1',
      { status: 'completed', response: { id: 'resp_1', status: 'completed' }, error: null, completedAt: 1 },
      [],
      { events: [...Array.from({ length: 100 }, (_, i) => delta(i + 65)), { type: 'response.completed', sequence_number: 165 }] },
    )
    expect(await store.listEvents('resp_1', -1)).toHaveLength(166)
    await store.close()
    const raw = new Database(path)
    const rows = raw.query('SELECT sequence_number AS seq, type FROM response_events ORDER BY sequence_number').all()
    raw.close()
    expect(rows).toEqual([
      { seq: 0, type: 'response.created' },
      { seq: 64, type: 'response.output_text.delta' },
      { seq: 164, type: 'response.output_text.delta' },
      { seq: 165, type: 'response.completed' },
    ])
  })

  test("a finished turn's last events do not repeat its answer: they point at its stored output items and Response", async () => {
    const path = join(dir, 'events.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [], { owner: 'x', expiresAt: Date.now() + 60_000 })
    const text = 'the answer, '.repeat(100)
    const item = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text, annotations: [] }],
    }
    const response = { id: 'resp_1', status: 'completed', output: [item] }
    const at = { item_id: 'msg_1', output_index: 0, content_index: 0 }
    const events = [
      { type: 'response.output_text.done', sequence_number: 1, ...at, text },
      { type: 'response.content_part.done', sequence_number: 2, ...at, part: item.content[0] },
      { type: 'response.output_item.done', sequence_number: 3, output_index: 0, item },
      { type: 'response.completed', sequence_number: 4, response },
    ]
    await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, [item], { events })
    expect((await store.listEvents('resp_1', -1)).map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)))
    await store.close()
    const raw = new Database(path)
    const rows = raw.query<{ data: string }, []>('SELECT data FROM response_events ORDER BY sequence_number').all()
    raw.close()
    expect(rows).toHaveLength(4)
    for (const row of rows) expect(row.data).not.toContain('the answer')
  })
})

describe('response rows', () => {
  test("a finished response's Response object does not repeat its answer: output and output_text read from its items", async () => {
    const path = join(dir, 'rows.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    const text = 'the answer, '.repeat(100)
    const item = message('msg_1', 'assistant', text)
    const response = { id: 'resp_1', status: 'completed', output: [item], output_text: text, usage: null }
    await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [], { owner: 'x', expiresAt: Date.now() + 60_000 })
    await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, [item])
    // a row stored before Responses were kept this way: its output in the row, read as it is
    const old = {
      id: 'resp_old',
      status: 'completed',
      output: [message('msg_2', 'assistant', 'kept in the row')],
      output_text: 'kept in the row',
    }
    await store.close()
    const raw = new Database(path)
    raw.run(
      `INSERT INTO responses (id, tenant, status, model, created_at, updated_at, request, response) VALUES ('resp_old', 'default', 'completed', 'm', 1, 1, '{}', ?)`,
      [JSON.stringify(old)],
    )
    const row = raw.query<{ response: string }, []>("SELECT response FROM responses WHERE id = 'resp_1'").get()!
    raw.close()
    expect(row.response).not.toContain('the answer')
    expect(JSON.parse(row.response)).toMatchObject({ output: null, output_text: null, usage: null })
    const reopened: JsonStore = await openStore({ db: path, databaseUrl: null })
    expect(JSON.stringify((await reopened.getResponse('default', 'resp_1'))!.response)).toBe(JSON.stringify(response))
    expect(JSON.stringify((await reopened.getResponse('default', 'resp_old'))!.response)).toBe(JSON.stringify(old))
    await reopened.close()
  })

  test("a streamed response stored whole at its end: its log's events point at the Response and items written with them", async () => {
    const path = join(dir, 'whole-log.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    const text = 'the answer, '.repeat(100)
    const item = message('msg_1', 'assistant', text)
    const tools = [{ type: 'function', name: 'shell', description: 'Runs a command in the repository. '.repeat(8), strict: false }]
    const response = { id: 'resp_1', status: 'completed', tools, output: [item], output_text: text }
    const log = [
      { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', status: 'in_progress', tools, output: [] } },
      { type: 'response.output_item.done', sequence_number: 1, output_index: 0, item },
      { type: 'response.completed', sequence_number: 2, response },
    ]
    await store.createResponse(responseRecord('resp_1', { response }), [], undefined, [item], log)
    await store.close()
    const raw = new Database(path)
    const rows = raw
      .query<{ data: string }, []>("SELECT data FROM response_events WHERE response_id = 'resp_1' ORDER BY sequence_number")
      .all()
    raw.close()
    // the answer is in the item row alone, the tools in the Response's row alone
    expect(rows.map((r) => r.data.includes('the answer'))).toEqual([false, false, false])
    expect(rows.map((r) => r.data.includes('Runs a command'))).toEqual([false, false, false])
    const reopened: JsonStore = await openStore({ db: path, databaseUrl: null })
    expect((await reopened.listEvents('resp_1', -1)).map((e) => JSON.stringify(e))).toEqual(log.map((e) => JSON.stringify(e)))
    await reopened.close()
  })

  test('a response deleted between the read of its row and of its items reads as gone, not with an empty output', async () => {
    const store: JsonStore = await openStore({ db: join(dir, 'race.db'), databaseUrl: null })
    const item = message('msg_1', 'assistant', 'the answer')
    const response = { id: 'resp_1', status: 'completed', output: [item], output_text: 'the answer' }
    await store.createResponse(responseRecord('resp_1', { response }), [], undefined, [item])
    // the row is read as the call begins; the delete runs before the items are
    const read = store.getResponse('default', 'resp_1')
    expect(await store.deleteResponse('default', 'resp_1')).toBe(true)
    expect(await read).toBeNull()
    await store.close()
  })
})

describe('indexes', () => {
  // A response's items (most rows) have no conversation and most responses no previous one: indexed, their null keys
  // made every turn's insert split pages in the middle of the index. Partial indexes leave them out; the reads that
  // look a conversation (or a previous response) up by value, and the cascade from a deleted conversation, still use them.
  test('only rows with a conversation (or a previous response) are in its index, and lookups by it still use it', async () => {
    const path = join(dir, 'indexes.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    await store.close()
    const raw = new Database(path)
    const partial = (table: string) =>
      Object.fromEntries(
        (raw.query(`PRAGMA index_list(${table})`).all() as { name: string; partial: number }[]).map((i) => [i.name, i.partial]),
      )
    expect(partial('items')).toMatchObject({ items_conversation_idx: 1, items_response_idx: 0, items_tenant_id_idx: 0 })
    expect(partial('responses')).toMatchObject({ responses_previous_idx: 1 })
    const plan = (sql: string) =>
      (raw.query(`EXPLAIN QUERY PLAN ${sql}`).all('conv_1') as { detail: string }[]).map((r) => r.detail).join('; ')
    expect(plan("SELECT body FROM items WHERE conversation_id = ? AND kind = 'conversation' ORDER BY position")).toContain(
      'USING INDEX items_conversation_idx',
    )
    // what SQLite runs for ON DELETE CASCADE when a conversation goes
    expect(plan('DELETE FROM items WHERE conversation_id = ?')).toContain('items_conversation_idx')
    expect(plan('SELECT id FROM responses WHERE previous_response_id = ?')).toContain('responses_previous_idx')
    raw.close()
  })

  test("a response's insert writes only indexes that a query reads: none on (tenant, created_at)", async () => {
    const path = join(dir, 'response-indexes.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    await store.close()
    const raw = new Database(path)
    const names = (raw.query('PRAGMA index_list(responses)').all() as { name: string }[]).map((i) => i.name).sort()
    // the primary key's, the chain walk's (previous_response_id) and recovery's (unfinished responses)
    expect(names).toEqual(['responses_previous_idx', 'responses_unfinished_idx', 'sqlite_autoindex_responses_1'])
    raw.close()
  })
})
