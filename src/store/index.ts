// Opens the configured Store: SQLite by default (--db), PostgreSQL with --database-url, behind the same interface.

import { ConfigError } from '../config-error'
import { isPostgresUrl, redactUrl } from './postgres/driver'
import { openPostgresStore } from './postgres/repository'
import { openSqliteStore } from './sqlite/repository'
import type { Store } from './types'

export type { Store } from './types'
export { StoreUnavailableError } from './errors'

/** Every failure of the returned store that is the storage's own (disk full, I/O, unreachable) is a StoreUnavailableError (classified by each dialect's runner). */
export async function openStore(config: { db: string; databaseUrl: string | null }): Promise<Store> {
  if (config.databaseUrl) {
    if (!isPostgresUrl(config.databaseUrl))
      throw new ConfigError(
        `invalid value for --database-url: expected postgres://… or postgresql://…, got "${redactUrl(config.databaseUrl)}"`,
      )
    return openPostgresStore(config.databaseUrl)
  }
  return openSqliteStore(config.db)
}
