// A write of the SQLite store waits for another connection's write lock on a timer, by the clock
// (src/store/sqlite/lock-wait.ts): not in SQLite's busy handler, which sleeps on the serving thread (the whole gateway
// stopped meanwhile), counts the sleeps it asked for and gives up early when signals cut them short (Bun's CPU profiler
// sends the main thread one every sampling interval).
import type { Database } from 'bun:sqlite'
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openSqlite, type Db } from '../../src/store/sqlite/driver'
import { StoreUnavailableError } from '../../src/store/errors'
import { isBusy, lockRetryDelay, retryWhileLocked } from '../../src/store/sqlite/lock-wait'
import { createSqliteStore } from '../../src/store/sqlite/repository'
import { holdWriteLock } from '../support/write-lock'
import { message, responseRecord, type JsonStore } from './fixtures'

let dir: string
let path: string
let client: Database
let db: Db
let store: JsonStore
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agentgate-lock-wait-'))
  path = join(dir, 'agentgate.db')
  ;({ client, db } = openSqlite(path))
  store = createSqliteStore(db, client) as JsonStore
})
afterEach(async () => {
  await store.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A turn stored whole at its end, as the engine writes a JSON turn. */
const turn = (id: string) =>
  store.createResponse(responseRecord(id), [message(`${id}_in`, 'user', 'hello')], undefined, [message(`${id}_out`, 'assistant', 'hi')])

describe("a write waits out another connection's write lock", () => {
  test('a turn written alone (the single-write path)', async () => {
    const { released } = await holdWriteLock(path, 300)
    await turn('resp_alone')
    await released
    expect((await store.getResponse('default', 'resp_alone'))?.status).toBe('completed')
  })

  test('turns written together (a group), each stored once', async () => {
    const { released } = await holdWriteLock(path, 300)
    await Promise.all(['resp_g1', 'resp_g2', 'resp_g3'].map(turn))
    await released
    for (const id of ['resp_g1', 'resp_g2', 'resp_g3']) {
      expect((await store.getResponse('default', id))?.status).toBe('completed')
      expect(await store.getOutputItems('default', id)).toEqual([message(`${id}_out`, 'assistant', 'hi')])
    }
  })

  test('a statement written on its own (an event log append, not in a transaction)', async () => {
    await store.createResponse(responseRecord('resp_log', { status: 'in_progress' }), [])
    const { released } = await holdWriteLock(path, 300)
    await store.appendEvents('resp_log', [{ type: 'response.output_text.delta', sequence_number: 1, delta: 'x' }])
    await released
    expect((await store.listEvents('resp_log', 0)).map((e) => e.sequence_number)).toEqual([1])
  })

  test('a batch of retention', async () => {
    await turn('resp_old')
    const { released } = await holdWriteLock(path, 300)
    expect(await store.pruneResponses(Date.now() + 1000, 100)).toBe(1)
    await released
    expect(await store.getResponse('default', 'resp_old')).toBeNull()
  })

  test('signals arriving all the while: the turn is stored', async () => {
    // The CPU profiler's signals, sent from another process: each ends one of the busy handler's sleeps early, so on
    // its own it gave up after milliseconds of a 300 ms hold.
    let signals = 0
    const count = () => signals++
    process.on('SIGUSR2', count)
    const sender = Bun.spawn(
      [
        process.execPath,
        '-e',
        `for (;;) { process.kill(${process.pid}, 'SIGUSR2'); const t = Bun.nanoseconds() + 100_000; while (Bun.nanoseconds() < t) {} }`,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
    try {
      while (signals < 10) await Bun.sleep(5)
      const { released } = await holdWriteLock(path, 300)
      await turn('resp_signalled')
      await released
    } finally {
      sender.kill()
      await sender.exited
      process.off('SIGUSR2', count)
    }
    expect((await store.getResponse('default', 'resp_signalled'))?.status).toBe('completed')
  })
})

describe('the serving thread runs on while a write waits', () => {
  test('timers fire and reads that need no write run while a write is kept out; the write commits once the lock is gone', async () => {
    const order: string[] = []
    const { released } = await holdWriteLock(path, 400)
    const written = turn('resp_waiting').then(() => order.push('written'))
    // SQLite's busy handler would hold this thread until the lock went: the timer, due long before, would come after
    await new Promise((resolve) => setTimeout(resolve, 20)).then(() => order.push('timer'))
    // a ping reads nothing the write holds (WAL: readers do not wait for the writer)
    await store.ping().then(() => order.push('ping'))
    await Promise.all([written, released])
    expect(order).toEqual(['timer', 'ping', 'written'])
    expect((await store.getResponse('default', 'resp_waiting'))?.status).toBe('completed')
  })

  test('a read issued while writes wait waits for them and sees them, in the order issued', async () => {
    await store.createResponse(responseRecord('resp_log', { status: 'in_progress' }), [])
    const { released } = await holdWriteLock(path, 300)
    const writes = [1, 2, 3].map((n) =>
      store.appendEvents('resp_log', [{ type: 'response.output_text.delta', sequence_number: n, delta: String(n) }]),
    )
    // issued after the writes: waits for them and sees them, though its read alone needs no lock
    const read = store.listEvents('resp_log', 0)
    let readDone = false
    void read.then(() => (readDone = true))
    await Bun.sleep(50)
    expect(readDone).toBe(false)
    expect((await read).map((e) => e.sequence_number)).toEqual([1, 2, 3])
    await Promise.all([...writes, released])
  })

  test('a retention batch kept out waits on a timer as well', async () => {
    await turn('resp_old')
    const { released } = await holdWriteLock(path, 300)
    let ticks = 0
    const ticker = setInterval(() => ticks++, 5)
    try {
      expect(await store.pruneResponses(Date.now() + 1000, 100)).toBe(1)
    } finally {
      clearInterval(ticker)
    }
    await released
    // the interval ran while the batch waited (SQLite's busy handler would have let it run about once)
    expect(ticks).toBeGreaterThan(5)
  })
})

describe('the wait has a bound', () => {
  test('a lock held past the wait fails the write as the storage being unavailable (busy), and nothing of it is stored', async () => {
    const quick = createSqliteStore(db, client, { lockWaitMs: 50 }) as JsonStore
    const { released } = await holdWriteLock(path, 1000)
    // a write alone, then a group: two writes and an event log append issued together
    const alone = await Promise.allSettled([quick.createResponse(responseRecord('resp_late'), [])])
    const grouped = await Promise.allSettled([
      quick.createResponse(responseRecord('resp_late2'), []),
      quick.appendEvents('resp_late', [{ type: 'response.output_text.delta', sequence_number: 1, delta: 'x' }]),
    ])
    await released
    for (const result of [...alone, ...grouped]) {
      expect(result.status).toBe('rejected')
      // a StoreUnavailableError: the edges answer 503, and a turn's end is written again later (engine/unstored.ts)
      const error = (result as PromiseRejectedResult).reason
      expect(error).toBeInstanceOf(StoreUnavailableError)
      expect(error.reason).toBe('SQLITE_BUSY')
      expect(isBusy(error.cause)).toBe(true)
    }
    expect(await store.getResponse('default', 'resp_late')).toBeNull()
    expect(await store.getResponse('default', 'resp_late2')).toBeNull()
  })

  test('any other failure is thrown at once, not tried again', async () => {
    let attempts = 0
    const failing = () => {
      attempts++
      throw Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_PRIMARYKEY' })
    }
    expect(retryWhileLocked(client, failing, performance.now())).rejects.toThrow('UNIQUE constraint failed')
    await Bun.sleep(20)
    expect(attempts).toBe(1)
  })

  test('the pauses between attempts grow from 1 ms to at most 4 ms', () => {
    expect([1, 2, 3, 4, 5, 20].map(lockRetryDelay)).toEqual([1, 2, 4, 4, 4, 4])
  })

  test('SQLITE_BUSY and its extended codes are busy; other codes are not', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY']) expect(isBusy({ code })).toBe(true)
    for (const e of [{ code: 'SQLITE_LOCKED' }, { code: 'SQLITE_FULL' }, new Error('database is locked'), null])
      expect(isBusy(e)).toBe(false)
  })
})
