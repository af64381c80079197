// `agentgate prune`, run as a real process on a SQLite file: deletes what the retention settings say is old, prints
// what it deleted, and the file shrinks (incremental vacuum), also for a database made before incremental vacuum.
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store'
import { message, responseRecord, type JsonStore } from '../store/fixtures'
import { run } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'
import { createTestDatabase } from '../support/postgres'

const DAY = 86_400_000
let root: string
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'agentgate-prune-'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

const prune = (args: string[]) =>
  run([process.execPath, MAIN, 'prune', ...args], { env: cleanEnv({ AGENTGATE_HOME: join(root, 'home') }), timeoutMs: 60_000 })

/** A database with `old` responses 40 days old and `recent` from today, each ~20 kB with streamed events. */
async function fill(path: string, old: number, recent: number, databaseUrl: string | null = null) {
  const store: JsonStore = await openStore({ db: path, databaseUrl })
  const filler = 'x'.repeat(20_000)
  const now = Date.now()
  for (let i = 0; i < old + recent; i++) {
    const id = `resp_${i < old ? 'old' : 'new'}_${i}`
    const at = i < old ? now - 40 * DAY : now
    await store.createResponse(
      responseRecord(id, {
        status: 'in_progress',
        createdAt: at,
        updatedAt: at,
        completedAt: null,
        request: { model: 'm', input: filler },
      }),
      [message(`${id}_in`, 'user', filler)],
    )
    await store.appendEvents(id, [{ type: 'response.output_text.delta', sequence_number: 0, delta: filler }])
    await store.finishResponse(
      'default',
      id,
      { status: 'completed', response: { id, status: 'completed', text: filler }, error: null, completedAt: at },
      [message(`${id}_out`, 'assistant', filler)],
    )
  }
  await store.close()
}

/** The database's bytes on disk: the file and its write-ahead log. */
const onDisk = (path: string) => [path, `${path}-wal`].reduce((n, f) => n + (existsSync(f) ? statSync(f).size : 0), 0)

const count = (path: string, sql: string) => {
  const db = new Database(path, { readonly: true })
  try {
    return (db.query(sql).get() as { n: number }).n
  } finally {
    db.close()
  }
}

describe('agentgate prune', () => {
  test('deletes responses older than --retention-days with their items and events, prints what it deleted, and the file shrinks', async () => {
    const path = join(root, 'shrink.db')
    await fill(path, 150, 10)
    const before = onDisk(path)
    const r = await prune(['--db', path, '--retention-days', '30'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^pruned: 150 responses older than 30 days \(with their items and events\), 0 deleted or empty conversations, the event logs of 0 responses/,
    )
    expect(r.stdout).toMatch(/\d+ free pages given back to the file system/)
    expect(count(path, 'SELECT count(*) AS n FROM responses')).toBe(10)
    expect(count(path, "SELECT count(*) AS n FROM responses WHERE id LIKE 'resp_old%'")).toBe(0)
    expect(count(path, 'SELECT count(*) AS n FROM items')).toBe(20)
    // only the recent responses' logs are left (finished today, under the 24 h default)
    expect(count(path, 'SELECT count(*) AS n FROM response_events')).toBe(10)
    const after = onDisk(path)
    expect(before).toBeGreaterThan(150 * 60_000)
    expect(after).toBeLessThan(before / 4)
  }, 120_000)

  test('without --retention-days, responses are kept and only old event logs go', async () => {
    const path = join(root, 'logs.db')
    await fill(path, 5, 2)
    const r = await prune(['--db', path, '--event-log-retention-hours', '1'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('responses kept (no --retention-days)')
    expect(r.stdout).toContain('the event logs of 5 responses finished over 1 h ago (5 events)')
    expect(count(path, 'SELECT count(*) AS n FROM responses')).toBe(7)
    expect(count(path, 'SELECT count(*) AS n FROM response_events')).toBe(2)
  }, 60_000)

  test('a database made before incremental vacuum is converted once, and shrinks', async () => {
    const path = join(root, 'legacy.db')
    await fill(path, 100, 1)
    const db = new Database(path)
    db.exec('PRAGMA auto_vacuum = NONE')
    db.exec('VACUUM')
    expect((db.query('PRAGMA auto_vacuum').get() as any).auto_vacuum).toBe(0)
    db.close()
    const before = onDisk(path)
    const r = await prune(['--db', path, '--retention-days', '1'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('pruned: 100 responses')
    expect(onDisk(path)).toBeLessThan(before / 4)
    const check = new Database(path, { readonly: true })
    expect((check.query('PRAGMA auto_vacuum').get() as any).auto_vacuum).toBe(2)
    check.close()
  }, 120_000)

  test('on PostgreSQL (--database-url) it deletes the same rows; the space is left to autovacuum', async () => {
    const pg = await createTestDatabase('prune')
    if (!pg) return console.warn('skipped: no PostgreSQL server (see test/support/postgres.ts)')
    try {
      await fill(':memory:', 12, 3, pg.url)
      const r = await prune(['--database-url', pg.url, '--retention-days', '30'])
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toStartWith('pruned: 12 responses older than 30 days')
      expect(r.stdout).not.toContain('free pages')
      const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: pg.url })
      try {
        expect(await store.getResponse('default', 'resp_old_0')).toBeNull()
        expect(await store.getResponse('default', 'resp_new_12')).not.toBeNull()
        expect(await store.hasEvents('resp_new_12')).toBe(true)
      } finally {
        await store.close()
      }
    } finally {
      await pg.drop()
    }
  }, 60_000)

  test('--help says what is deleted and how space is reclaimed', async () => {
    const r = await prune(['--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Usage: agentgate prune')
    expect(r.stdout).toContain('incremental vacuum')
  })
})
