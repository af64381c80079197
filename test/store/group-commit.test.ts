// SQLite's group commit (src/store/sqlite/group-commit.ts): writes issued in one turn of the event loop share one
// commit, each one still its own unit, and every operation sees the writes issued before it.
import { Database } from 'bun:sqlite'
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqlite, type Db } from '../../src/store/sqlite/driver'
import { MAX_GROUP } from '../../src/store/sqlite/group-commit'
import { createSqliteStore } from '../../src/store/sqlite/repository'
import { message, responseRecord, type JsonStore } from './fixtures'

let dir: string
let client: Database
let db: Db
let store: JsonStore
let path: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentgate-group-commit-'))
  path = join(dir, 'agentgate.db')
  const opened = openSqlite(path)
  client = opened.client
  db = opened.db
  store = createSqliteStore(opened.db, opened.client) as JsonStore
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A turn stored whole at its end, as the engine writes a JSON turn. */
const turn = (id: string) =>
  store.createResponse(responseRecord(id), [message(`${id}_in`, 'user', 'hello')], undefined, [message(`${id}_out`, 'assistant', 'hi')])

const walBytes = () => statSync(`${path}-wal`).size

test('turns ending together are committed together: ten append the WAL pages of about one commit, not ten', async () => {
  for (let i = 0; i < 5; i++) await turn(`resp_warm${i}`)
  let before = walBytes()
  await turn('resp_alone')
  const oneCommit = walBytes() - before
  expect(oneCommit).toBeGreaterThan(0)

  before = walBytes()
  await Promise.all(Array.from({ length: 10 }, (_, i) => turn(`resp_together${i}`)))
  const tenTogether = walBytes() - before
  expect(tenTogether).toBeLessThan(3 * oneCommit)
  for (let i = 0; i < 10; i++) expect((await store.getResponse('default', `resp_together${i}`))?.status).toBe('completed')
})

test('a write that fails in a group is undone alone: the others of its group are stored, and only its caller hears of it', async () => {
  await turn('resp_taken')
  const results = await Promise.allSettled([turn('resp_a'), turn('resp_taken'), turn('resp_b')])
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
  for (const id of ['resp_a', 'resp_b']) {
    expect((await store.getResponse('default', id))?.status).toBe('completed')
    expect(await store.getOutputItems('default', id)).toEqual([message(`${id}_out`, 'assistant', 'hi')])
  }
  // the failed write left nothing of its own: the first resp_taken keeps exactly its one output item
  expect(await store.getOutputItems('default', 'resp_taken')).toEqual([message('resp_taken_out', 'assistant', 'hi')])
})

test('the writes of a group in which one failed are each stored exactly once, with their own results', async () => {
  // two running turns to end, and an insert that fails in between them (an id already taken)
  await turn('resp_taken')
  for (const id of ['resp_r1', 'resp_r2'])
    await store.createResponse(responseRecord(id, { status: 'in_progress' }), [message(`${id}_in`, 'user', 'hi')])
  const end = (id: string) =>
    store.finishResponse(
      'default',
      id,
      { status: 'completed', response: { id }, error: null, completedAt: 1 },
      [message(`${id}_out`, 'assistant', 'hello')],
      {
        events: [{ type: 'response.completed', sequence_number: 1, response: { id } }],
      },
    )
  const results = await Promise.allSettled([end('resp_r1'), turn('resp_taken'), end('resp_r2')])
  expect(results.map((r) => (r.status === 'fulfilled' ? r.value : r.status))).toEqual([
    { status: 'completed', appended: false },
    'rejected',
    { status: 'completed', appended: false },
  ])
  for (const id of ['resp_r1', 'resp_r2']) {
    expect((await store.getResponse('default', id))?.status).toBe('completed')
    expect(await store.getOutputItems('default', id)).toEqual([message(`${id}_out`, 'assistant', 'hello')])
    expect((await store.listEvents(id, 0)).map((e) => e.sequence_number)).toEqual([1])
  }
  expect(await store.getOutputItems('default', 'resp_taken')).toEqual([message('resp_taken_out', 'assistant', 'hi')])
})

test('a failing statement of a write that is not all-or-nothing does not undo the group (event log of a deleted response)', async () => {
  await turn('resp_gone')
  await store.deleteResponse('default', 'resp_gone')
  const events = [{ type: 'response.output_text.delta', sequence_number: 1, delta: 'x' }]
  const [kept, dropped] = await Promise.allSettled([turn('resp_kept'), store.appendEvents('resp_gone', events)])
  expect(kept.status).toBe('fulfilled')
  expect(dropped.status).toBe('fulfilled') // the events of a deleted response are dropped with it
  expect((await store.getResponse('default', 'resp_kept'))?.status).toBe('completed')
})

test('a queue longer than one group is committed a group per turn of the event loop, in order, the loop running in between', async () => {
  // the event logs of many streams on one tick of the store clock: one write each, all issued at once
  const streams = 3 * MAX_GROUP + 10
  const ids = Array.from({ length: streams }, (_, i) => `resp_s${String(i).padStart(4, '0')}`)
  for (const id of ids) await store.createResponse(responseRecord(id, { status: 'in_progress' }), [])
  const other = new Database(path, { readonly: true })
  const committed = () => (other.query('SELECT count(*) AS n FROM response_events').get() as { n: number }).n
  try {
    const delta = (seq: number) => [{ type: 'response.output_text.delta', sequence_number: seq, delta: 'x' }]
    const writes = ids.map((id) => store.appendEvents(id, delta(1)))
    // What another connection sees at each turn of the event loop while the queue drains (scheduled after the queue's
    // own first turn, so each look comes after one more group).
    const seen: number[] = []
    await new Promise<void>((resolve) => {
      const look = () => {
        seen.push(committed())
        if (seen.at(-1)! < streams && seen.length < 20) setImmediate(look)
        else resolve()
      }
      setImmediate(look)
    })
    await Promise.all(writes)
    expect(seen).toEqual([MAX_GROUP, 2 * MAX_GROUP, 3 * MAX_GROUP, streams])
    // every write in its place: the first group holds the first MAX_GROUP streams
    const order = other.query('SELECT response_id AS id FROM response_events ORDER BY rowid').all() as { id: string }[]
    expect(order.map((r) => r.id)).toEqual(ids)
  } finally {
    other.close()
  }
})

test('a read issued right after writes, without waiting for them, sees them', async () => {
  const writing = turn('resp_unawaited')
  const seen = await store.getResponse('default', 'resp_unawaited')
  expect(seen?.status).toBe('completed')
  await writing
  const chain = store.loadChain('default', 'resp_unawaited')
  const written = turn('resp_after')
  expect((await chain)?.items.map((i) => i.id)).toEqual(['resp_unawaited_in', 'resp_unawaited_out'])
  await written
})

test('a failure of the whole transaction fails every write of the group, and nothing of it is stored', async () => {
  // another connection holds the write lock past busy_timeout and the store's own wait: the group cannot begin
  client.exec('PRAGMA busy_timeout = 50')
  store = createSqliteStore(db, client, { lockWaitMs: 50 }) as JsonStore
  const other = new Database(path)
  other.exec('BEGIN IMMEDIATE')
  try {
    const results = await Promise.allSettled([turn('resp_x'), turn('resp_y')])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    // each as the storage being unavailable (busy): src/store/errors.ts
    for (const r of results)
      expect((r as PromiseRejectedResult).reason).toMatchObject({ reason: 'SQLITE_BUSY', cause: { code: 'SQLITE_BUSY' } })
  } finally {
    other.exec('ROLLBACK')
    other.close()
  }
  expect(await store.getResponse('default', 'resp_x')).toBeNull()
  await turn('resp_x')
  expect((await store.getResponse('default', 'resp_x'))?.status).toBe('completed')
})
