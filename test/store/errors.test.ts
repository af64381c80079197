// Which store failures are the storage's own (disk full, I/O, read-only, database unreachable): those become one
// StoreUnavailableError, which the edges answer with 503 storage_unavailable; anything else stays what it was.
// Runs everywhere (no mount needed); test/store/disk-full.test.ts fills a real disk.
import { Database, SQLiteError } from 'bun:sqlite'
import { afterAll, describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DrizzleQueryError } from 'drizzle-orm/errors'
import { ApiError, toApiError } from '../../src/errors'
import { openStore } from '../../src/store'
import { asStoreError, StoreUnavailableError, storageFailureReason } from '../../src/store/errors'

const dir = mkdtempSync(join(tmpdir(), 'agentgate-store-errors-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** An error shaped as bun:sqlite throws it. */
function sqliteError(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: 'SQLiteError', code })
}

/** An error shaped as Bun's PostgreSQL client throws a server error: SQLSTATE in errno. */
function postgresServerError(sqlstate: string, message: string): Error {
  return new SQL.PostgresError(message, { code: 'ERR_POSTGRES_SERVER_ERROR', errno: sqlstate } as any)
}

describe('storage failures are recognised', () => {
  test.each([
    ['SQLITE_FULL', sqliteError('SQLITE_FULL', 'database or disk is full')],
    ['SQLITE_IOERR_WRITE', sqliteError('SQLITE_IOERR_WRITE', 'disk I/O error')],
    ['SQLITE_IOERR', sqliteError('SQLITE_IOERR', 'disk I/O error')],
    ['SQLITE_READONLY', sqliteError('SQLITE_READONLY', 'attempt to write a readonly database')],
    // only ever seen here once a write has waited out another connection's write lock (src/store/sqlite/lock-wait.ts)
    ['SQLITE_BUSY', sqliteError('SQLITE_BUSY', 'database is locked')],
    ['SQLITE_BUSY_SNAPSHOT', sqliteError('SQLITE_BUSY_SNAPSHOT', 'database is locked')],
    ['ENOSPC', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })],
    ['EROFS', Object.assign(new Error('read-only file system'), { code: 'EROFS' })],
    ['53100', postgresServerError('53100', 'could not extend file: No space left on device')],
    ['08006', postgresServerError('08006', 'connection failure')],
    ['57P01', postgresServerError('57P01', 'terminating connection due to administrator command')],
    ['ERR_POSTGRES_CONNECTION_CLOSED', Object.assign(new Error('Connection closed'), { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })],
  ])('%s', (reason, e) => {
    expect(storageFailureReason(e)).toBe(reason)
    const typed = asStoreError(e)
    expect(typed).toBeInstanceOf(StoreUnavailableError)
    expect((typed as StoreUnavailableError).cause).toBe(e)
  })

  test('wrapped by drizzle (DrizzleQueryError keeps the driver error as its cause)', () => {
    const wrapped = new DrizzleQueryError('insert into responses …', [], sqliteError('SQLITE_FULL', 'database or disk is full'))
    expect(storageFailureReason(wrapped)).toBe('SQLITE_FULL')
  })

  test('a real PostgreSQL connection that is refused', async () => {
    const client = new SQL('postgres://agentgate:x@127.0.0.1:1/agentgate', { connectionTimeout: 5, max: 1 })
    const e = await client`select 1`.then(
      () => null,
      (err: unknown) => err,
    )
    await client.close({ timeout: 0 }).catch(() => {})
    expect(storageFailureReason(e)).toBe('ERR_POSTGRES_CONNECTION_REFUSED')
  })

  test('a real write to a read-only SQLite database', async () => {
    const path = join(dir, 'readonly.db')
    const store = await openStore({ db: path, databaseUrl: null })
    await store.close()
    const ro = new Database(path, { readonly: true })
    let raw: unknown
    try {
      ro.run("insert into conversations (id) values ('x')")
    } catch (err) {
      raw = err
    }
    ro.close()
    expect(raw).toBeInstanceOf(SQLiteError)
    expect(storageFailureReason(raw)).toMatch(/^SQLITE_READONLY/)
  })
})

describe('anything else is not a storage failure', () => {
  test.each([
    ['a constraint violation', sqliteError('SQLITE_CONSTRAINT_PRIMARYKEY', 'UNIQUE constraint failed: responses.id')],
    ['a table locked within one connection', sqliteError('SQLITE_LOCKED', 'database table is locked')],
    ['a PostgreSQL unique violation', postgresServerError('23505', 'duplicate key value violates unique constraint')],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a plain string', 'boom'],
  ])('%s', (_, e) => {
    expect(storageFailureReason(e)).toBeNull()
    expect(asStoreError(e)).toBe(e)
  })
})

describe('what a client is shown', () => {
  test('a storage failure is a 503 server_error with code storage_unavailable that says the storage is full or failing', () => {
    const err = toApiError(new StoreUnavailableError('SQLITE_FULL'))
    expect(err.status).toBe(503)
    expect(err.toJSON()).toEqual({
      error: {
        message: expect.stringMatching(/storage is full or failing \(SQLITE_FULL\)/),
        type: 'server_error',
        param: null,
        code: 'storage_unavailable',
      },
    })
  })

  test('storage busy past the wait is a 503 storage_unavailable that says it is busy, not failing', () => {
    const busy = new StoreUnavailableError('SQLITE_BUSY')
    expect(busy.busy).toBe(true)
    expect(new StoreUnavailableError('SQLITE_FULL').busy).toBe(false)
    const err = toApiError(busy)
    expect(err.status).toBe(503)
    expect(err.toJSON().error).toMatchObject({
      type: 'server_error',
      code: 'storage_unavailable',
      message: expect.stringMatching(/storage is busy \(SQLITE_BUSY\)/),
    })
  })

  test('any other unexpected error stays a 500 without internals', () => {
    const err = toApiError(new TypeError('x is undefined'))
    expect(err.status).toBe(500)
    expect(err.message).toBe('Internal server error')
    const ours = ApiError.badRequest('nope')
    expect(toApiError(ours)).toBe(ours)
  })
})
