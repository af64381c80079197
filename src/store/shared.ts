// Pieces both store implementations use: the embedded-migration shape drizzle's migrator takes.

export interface MigrationMeta {
  sql: string[]
  bps: boolean
  folderMillis: number
  hash: string
}

interface EmbeddedMigrations {
  journal: { entries: { when: number; breakpoints: boolean }[] }
  sql: string[]
}

/** Embedded migrations (a migrations*.gen.ts module) in the shape drizzle's readMigrationFiles() returns. */
export function toMigrationMeta(migrations: EmbeddedMigrations): MigrationMeta[] {
  return migrations.journal.entries.map((entry, i) => {
    const text = migrations.sql[i]
    return {
      sql: text.split('--> statement-breakpoint'),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: new Bun.CryptoHasher('sha256').update(text).digest('hex'),
    }
  })
}
