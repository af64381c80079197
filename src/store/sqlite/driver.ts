// Opens a SQLite database file (or ':memory:') for the store: connection pragmas, migrations, drizzle.

import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { drizzle, type BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { LOCK_WAIT_MS } from './lock-wait'
import { migrateSqlite } from './migrate'
import * as schema from './schema'

export type Db = BunSQLiteDatabase<typeof schema>

export function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === ''
}

/** Why a database could not be opened, in words: the error names the path (--db) and this cause. */
function openFailure(path: string, e: unknown): Error {
  const code = String((e as { code?: unknown })?.code ?? '')
  const message = String((e as Error)?.message ?? e)
  let why: string
  if (code === 'SQLITE_NOTADB' || /file is not a database/i.test(message)) why = 'the file is not a SQLite database'
  else if (existsSync(path) && statSync(path).isDirectory()) why = 'it is a directory, not a file'
  else if (code === 'SQLITE_READONLY' || /readonly/i.test(message))
    why = 'it is read-only (check the permissions of the file and its directory)'
  else if (code === 'SQLITE_CANTOPEN' || /unable to open/i.test(message))
    why = `unable to open or create the file (check that ${dirname(path)} exists and is writable)`
  else if (code === 'EACCES' || code === 'EPERM') why = `permission denied creating its directory ${dirname(path)}`
  else if (code === 'ENOTDIR' || code === 'EEXIST') why = `cannot create its directory ${dirname(path)}: part of that path is a file`
  else why = message
  return new Error(`cannot open the SQLite database ${path}: ${why}`, { cause: e })
}

export function openSqlite(path: string): { client: Database; db: Db } {
  let client: Database
  try {
    if (!isMemoryPath(path)) mkdirSync(dirname(path), { recursive: true })
    client = new Database(path, { create: true, strict: true })
  } catch (e) {
    throw openFailure(path, e)
  }
  try {
    // First, so every statement below waits for a lock another connection still holds (a process or the checkpoint
    // worker of a store just closed) instead of failing at once with "database is locked". (SQLite counts the sleeps of
    // this wait rather than timing them: the store's writes also wait by the clock, ./lock-wait.ts.)
    client.exec(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`)
    // A new database gets incremental vacuum, so retention can give deleted rows' space back to the file system
    // (Store.reclaimSpace). The mode can only be set before the first table exists; an older database is converted
    // by the first `agentgate prune` (a one-time full VACUUM).
    if (!client.query("SELECT 1 FROM sqlite_master WHERE type = 'table' LIMIT 1").get()) client.exec('PRAGMA auto_vacuum = INCREMENTAL')
    // WAL lets readers run while a turn is being written; it does not apply to an in-memory database.
    if (!isMemoryPath(path)) client.exec('PRAGMA journal_mode = WAL')
    client.exec('PRAGMA synchronous = NORMAL')
    client.exec('PRAGMA foreign_keys = ON') // off by default in SQLite; the item/event cascades need it
    const db = drizzle({ client, schema })
    migrateSqlite(db)
    return { client, db }
  } catch (err) {
    client.close()
    throw openFailure(path, err)
  }
}
