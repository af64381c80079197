// Opens a PostgreSQL database (--database-url postgres://…) for the store: the connection pool, migrations, drizzle.

import { SQL, type TransactionSQL } from 'bun'
import { drizzle, type BunSQLDatabase, type BunSQLQueryResultHKT } from 'drizzle-orm/bun-sql'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import * as schema from './schema'

export type Db = BunSQLDatabase<typeof schema>

/** Where queries run: the pool, or one transaction's connection — drizzle for the builders, Bun's client for raw SQL. */
export interface Conn {
  db: PgDatabase<BunSQLQueryResultHKT, Record<string, unknown>>
  sql: SQL | TransactionSQL
}

/**
 * Connections per process. A turn holds one only for the length of a statement or a short transaction (never
 * while it waits on the upstream), so a few serve many concurrent turns; replicas × this must stay below the
 * server's max_connections (100 by default).
 */
export const POOL_MAX = 10

export { isPostgresUrl, redactUrl } from './url'

export function openPostgres(url: string, opts: { max?: number } = {}): { client: SQL; db: Db } {
  const client = new SQL(url, {
    max: opts.max ?? POOL_MAX,
    idleTimeout: 60,
    connectionTimeout: 10,
    connection: { application_name: 'agentgate' },
  })
  return { client, db: drizzle({ client, schema }) }
}
