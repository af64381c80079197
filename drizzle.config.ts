// drizzle-kit config for the SQLite migrations; `bun run db:generate` also embeds them (scripts/gen-migrations.ts).
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/store/sqlite/schema.ts',
  out: './drizzle',
})
