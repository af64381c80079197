// Opens the configured Store: SQLite by default; PostgreSQL (--database-url) will sit behind the same interface.

import { ConfigError } from '../config'
import { openSqliteStore } from './sqlite/driver'
import type { Store } from './types'

export type { Store } from './types'

export async function openStore(config: { db: string; databaseUrl: string | null }): Promise<Store> {
  if (config.databaseUrl) throw new ConfigError('PostgreSQL (--database-url) is not supported yet; use --db')
  return openSqliteStore(config.db)
}
