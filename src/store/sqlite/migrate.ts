// Applies the migrations embedded in migrations.gen.ts with drizzle's own migrator core, so the binary needs no
// migration files on disk and the bookkeeping (__drizzle_migrations, sha256 hashes) is identical to drizzle-kit's.

import type { BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { migrations } from '../migrations.gen'
import { toMigrationMeta, type MigrationMeta } from '../shared'

/** The embedded migrations in the shape drizzle's readMigrationFiles() returns. */
export const embeddedMigrations = (): MigrationMeta[] => toMigrationMeta(migrations)

/** Brings the database up to the newest embedded migration; a no-op when it already is. */
export function migrateSqlite(db: BunSQLiteDatabase<Record<string, unknown>>): void {
  // `dialect` and `session` are drizzle internals (the stock migrators make this same call); drizzle-orm is pinned.
  const internal = db as unknown as { dialect: { migrate(m: MigrationMeta[], s: unknown, c: object): void }; session: unknown }
  internal.dialect.migrate(embeddedMigrations(), internal.session, {})
}
