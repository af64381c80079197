// Opens the configured Store: SQLite by default (--db), PostgreSQL with --database-url, behind the same interface.

import { ConfigError } from '../config-error'
import { isPostgresUrl, redactUrl } from './postgres/url'
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
    // loaded only when asked for: most gateways run on SQLite, and the PostgreSQL driver and schema cost start-up time
    const { openPostgresStore } = await import('./postgres/repository')
    return openPostgresStore(config.databaseUrl)
  }
  return openSqliteStore(config.db)
}
