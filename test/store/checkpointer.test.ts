// WAL checkpoints run on a worker thread, not inside the serving thread's commits.
import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkpointWhenWalGrows, startCheckpointer } from '../../src/store/sqlite/checkpointer'
import { openStore } from '../../src/store'
import { responseRecord } from './fixtures'
import type { JsonStore } from './fixtures'

/** The WAL header's checkpoint sequence number: it goes up each time the WAL restarts after a full checkpoint. */
function walCheckpointSeq(dbPath: string): number {
  return readFileSync(`${dbPath}-wal`).readUInt32BE(12)
}

describe('the checkpoint worker', () => {
  test('the serving connection stops checkpointing while the worker runs, and starts again after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const db = new Database(join(dir, 'a.db'), { create: true })
    try {
      db.exec('PRAGMA journal_mode = WAL')
      const cp = await startCheckpointer(join(dir, 'a.db'), db)
      expect(cp).not.toBeNull()
      expect(db.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 0 })
      await cp!.stop()
      expect(db.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 1000 })
    } finally {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the worker starts only once the WAL grows: until then SQLite checkpoints by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'a.db')
    const db = new Database(path, { create: true })
    const autocheckpoint = () => (db.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint
    try {
      db.exec('PRAGMA journal_mode = WAL')
      db.exec('CREATE TABLE t (body BLOB)')
      const watch = checkpointWhenWalGrows(path, db, { startAtBytes: 256 * 1024, everyMs: 10 })
      db.query('INSERT INTO t VALUES (?)').run(new Uint8Array(100))
      await Bun.sleep(100)
      // a small WAL: no worker, the serving connection still checkpoints at SQLite's 1000 pages
      expect(watch.workerRunning).toBe(false)
      expect(autocheckpoint()).toBe(1000)
      for (let i = 0; i < 100; i++) db.query('INSERT INTO t VALUES (?)').run(new Uint8Array(4096))
      for (let i = 0; i < 500 && !watch.workerRunning; i++) await Bun.sleep(10)
      expect(watch.workerRunning).toBe(true)
      expect(autocheckpoint()).toBe(0)
      await watch.stop()
      expect(watch.workerRunning).toBe(false)
      expect(autocheckpoint()).toBe(1000)
    } finally {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('an idle gateway stops the worker once the WAL is cut to 0 bytes, and the worker starts again when the WAL grows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'a.db')
    const db = new Database(path, { create: true })
    const autocheckpoint = () => (db.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint
    const grow = async () => {
      for (let i = 0; i < 100; i++) db.query('INSERT INTO t VALUES (?)').run(new Uint8Array(4096))
      for (let i = 0; i < 500 && !watch.workerRunning; i++) await Bun.sleep(10)
    }
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('CREATE TABLE t (body BLOB)')
    const watch = checkpointWhenWalGrows(path, db, { startAtBytes: 256 * 1024, everyMs: 10 })
    try {
      await grow()
      expect(watch.workerRunning).toBe(true)
      await watch.idle()
      expect(watch.workerRunning).toBe(false)
      expect(statSync(`${path}-wal`).size).toBe(0)
      expect(autocheckpoint()).toBe(1000)
      // every row is in the database file
      expect(db.query('SELECT count(*) AS n FROM t').get()).toEqual({ n: 100 })
      await Bun.sleep(50)
      expect(watch.workerRunning).toBe(false)
      await grow()
      expect(watch.workerRunning).toBe(true)
      expect(autocheckpoint()).toBe(0)
    } finally {
      await watch.stop()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the worker keeps running when the WAL cannot be cut (a reader holds it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'a.db')
    const db = new Database(path, { create: true })
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('CREATE TABLE t (body BLOB)')
    const watch = checkpointWhenWalGrows(path, db, { startAtBytes: 256 * 1024, everyMs: 10 })
    // another connection (another replica) in the middle of a read
    const reader = new Database(path)
    try {
      for (let i = 0; i < 100; i++) db.query('INSERT INTO t VALUES (?)').run(new Uint8Array(4096))
      for (let i = 0; i < 500 && !watch.workerRunning; i++) await Bun.sleep(10)
      expect(watch.workerRunning).toBe(true)
      reader.exec('BEGIN')
      reader.query('SELECT count(*) FROM t').get()
      db.query('INSERT INTO t VALUES (?)').run(new Uint8Array(4096))
      await watch.idle()
      expect(watch.workerRunning).toBe(true)
      expect((db.query('PRAGMA wal_autocheckpoint').get() as { wal_autocheckpoint: number }).wal_autocheckpoint).toBe(0)
    } finally {
      reader.exec('COMMIT')
      reader.close()
      await watch.stop()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('under writes that never pause, the worker restarts the WAL once it passes its limit: it does not grow without end', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'a.db')
    const db = new Database(path, { create: true })
    // as the store's connection: a commit that meets the worker's restart waits for it
    db.exec('PRAGMA busy_timeout = 5000')
    db.exec('PRAGMA journal_mode = WAL')
    db.exec('PRAGMA synchronous = NORMAL')
    db.exec('CREATE TABLE t (body BLOB)')
    const limit = 1024 * 1024
    const cp = await startCheckpointer(path, db, { intervalMs: 10, restartAtBytes: limit })
    const insert = db.query('INSERT INTO t VALUES (?)')
    const row = new Uint8Array(4096)
    const seq0 = walCheckpointSeq(path)
    let rows = 0
    let largest = 0
    try {
      // Commits back to back, the loop let run every 20: a passive checkpoint never finds the WAL without frames newer
      // than those it copied, so on its own SQLite never restarts it. 12,000 rows of 4 KiB: about 100 MiB of WAL written
      // (the WAL file grows to all of it without the restart; with it, to a few MiB).
      const until = Date.now() + 20_000
      while (rows < 12_000 && Date.now() < until) {
        insert.run(row)
        rows++
        if (rows % 20 === 0) {
          largest = Math.max(largest, statSync(`${path}-wal`).size)
          await Bun.sleep(1)
        }
      }
      expect(rows).toBe(12_000)
      // restarted again and again, each time soon after it passed the limit
      expect(walCheckpointSeq(path)).toBeGreaterThan(seq0 + 2)
      expect(largest).toBeLessThan(16 * limit)
      // nothing lost on the way
      expect(db.query('SELECT count(*) AS n FROM t').get()).toEqual({ n: rows })
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    } finally {
      await cp?.stop()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('stopping the watch before the WAL grew starts no worker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'a.db')
    const db = new Database(path, { create: true })
    try {
      db.exec('PRAGMA journal_mode = WAL')
      const watch = checkpointWhenWalGrows(path, db, { startAtBytes: 1, everyMs: 10 })
      await watch.stop()
      db.exec('CREATE TABLE t (body BLOB)')
      await Bun.sleep(50)
      expect(watch.workerRunning).toBe(false)
      expect(db.query('PRAGMA wal_autocheckpoint').get()).toEqual({ wal_autocheckpoint: 1000 })
    } finally {
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a store on a file gets its WAL checkpointed while it serves (the WAL restarts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'store.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    // 64 KiB a response: the WAL passes the size at which the worker starts after a few dozen writes
    const big = (id: string) => responseRecord(id, { request: { model: 'test-model', input: 'x'.repeat(64 * 1024) } })
    try {
      await store.createResponse(responseRecord('resp_first'), [])
      const before = walCheckpointSeq(path)
      // Keep writing until the WAL has been restarted after a worker checkpoint (bounded).
      let after = before
      for (let i = 0; i < 100 && after === before; i++) {
        await store.createResponse(big(`resp_${i}`), [])
        await Bun.sleep(100)
        after = walCheckpointSeq(path)
      }
      expect(after).toBeGreaterThan(before)
      // restarted by the worker: SQLite's own checkpoint would have waited for 1000 pages
      expect(statSync(`${path}-wal`).size).toBeLessThan(1000 * 4096)
      expect(await store.getResponse('default', 'resp_first')).not.toBeNull()
    } finally {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
