// WAL checkpoints run on a worker thread, not inside the serving thread's commits.
import { describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startCheckpointer } from '../../src/store/sqlite/checkpointer'
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

  test('a store on a file gets its WAL checkpointed while it serves (the WAL restarts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-ckpt-'))
    const path = join(dir, 'store.db')
    const store: JsonStore = await openStore({ db: path, databaseUrl: null })
    try {
      await store.createResponse(responseRecord('resp_first'), [])
      const before = walCheckpointSeq(path)
      // Keep writing until the WAL has been restarted after a worker checkpoint (bounded).
      let after = before
      for (let i = 0; i < 100 && after === before; i++) {
        await store.createResponse(responseRecord(`resp_${i}`), [])
        await Bun.sleep(100)
        after = walCheckpointSeq(path)
      }
      expect(after).toBeGreaterThan(before)
      expect(await store.getResponse('default', 'resp_first')).not.toBeNull()
    } finally {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
