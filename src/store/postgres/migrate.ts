// Applies the PostgreSQL migrations embedded in migrations.pg.gen.ts with drizzle's own migrator core (as the
// SQLite store does), so the binary needs no migration files and the bookkeeping is drizzle-kit's:
// drizzle.__drizzle_migrations, sha256 hashes. Replicas starting together take turns through an advisory lock.

import type { ReservedSQL, SQL } from 'bun'
import { drizzle } from 'drizzle-orm/bun-sql'
import { migrations } from '../migrations.pg.gen'
import { toMigrationMeta, type MigrationMeta } from '../shared'

/** The embedded migrations in the shape drizzle's readMigrationFiles() returns. */
export const embeddedPgMigrations = (): MigrationMeta[] => toMigrationMeta(migrations)

/** Session-level advisory lock key that serialises start-up migrations of processes sharing a database. */
const MIGRATION_LOCK = `hashtextextended('agentgate migrations', 0)`
/** How long a process waits for another one's migrations before giving up. */
const MIGRATION_LOCK_WAIT_MS = 60_000

/**
 * Brings the database up to the newest embedded migration; a no-op when it already is. Everything runs on one
 * reserved connection, which holds the advisory lock meanwhile (a crashed process's lock goes with its connection).
 */
export async function migratePostgres(client: SQL, waitMs = MIGRATION_LOCK_WAIT_MS): Promise<void> {
  const conn = await client.reserve()
  try {
    await acquireLock(conn, waitMs)
    try {
      const db = drizzle({ client: conn as unknown as SQL })
      // `dialect` and `session` are drizzle internals (the stock migrators make this same call); drizzle-orm is pinned.
      const internal = db as unknown as { dialect: { migrate(m: MigrationMeta[], s: unknown, c: object): Promise<void> }; session: unknown }
      await internal.dialect.migrate(embeddedPgMigrations(), internal.session, {})
    } finally {
      await conn.unsafe(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`).catch(() => {})
    }
  } finally {
    conn.release()
  }
}

async function acquireLock(conn: ReservedSQL, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const [row] = await conn.unsafe(`SELECT pg_try_advisory_lock(${MIGRATION_LOCK}) AS locked`)
    if (row.locked) return
    if (Date.now() > deadline) throw new Error(`another process has been migrating this database for over ${waitMs / 1000} s`)
    await Bun.sleep(100)
  }
}
