// Pieces both store implementations use: the embedded-migration shape drizzle's migrator takes, and lazily
// parsed JSON fields on records.

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

/** Defines `key` on `target` as JSON parsed from `text` on first read; afterwards a plain data property. */
export function lazyJson(target: object, key: string, text: string): void {
  const settle = (value: unknown) => {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
    return value
  }
  Object.defineProperty(target, key, { enumerable: true, configurable: true, get: () => settle(JSON.parse(text)), set: settle })
}
