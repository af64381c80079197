// Opens a SQLite database file (or ':memory:') for the store: connection pragmas, migrations, drizzle.

import { Database } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { drizzle } from 'drizzle-orm/bun-sqlite'
import type { Store } from '../types'
import { startCheckpointer } from './checkpointer'
import { migrateSqlite } from './migrate'
import { createSqliteStore } from './repository'
import * as schema from './schema'

export function isMemoryPath(path: string): boolean {
  return path === ':memory:' || path === ''
}

export function openSqlite(path: string): { client: Database; db: ReturnType<typeof drizzle<typeof schema>> } {
  if (!isMemoryPath(path)) mkdirSync(dirname(path), { recursive: true })
  const client = new Database(path, { create: true, strict: true })
  try {
    // WAL lets readers run while a turn is being written; it does not apply to an in-memory database.
    if (!isMemoryPath(path)) client.exec('PRAGMA journal_mode = WAL')
    client.exec('PRAGMA synchronous = NORMAL')
    client.exec('PRAGMA busy_timeout = 5000')
    client.exec('PRAGMA foreign_keys = ON') // off by default in SQLite; the item/event cascades need it
    const db = drizzle({ client, schema })
    migrateSqlite(db)
    return { client, db }
  } catch (err) {
    client.close()
    throw err
  }
}

export async function openSqliteStore(path: string): Promise<Store> {
  const { client, db } = openSqlite(path)
  const store = createSqliteStore(db, client)
  const checkpointer = isMemoryPath(path) ? null : await startCheckpointer(path, client)
  if (!checkpointer) return store
  return {
    ...store,
    async close() {
      await checkpointer.stop()
      await store.close()
    },
  }
}
