// drizzle-kit config for the PostgreSQL migrations (drizzle.config.ts is SQLite's); `bun run db:generate` runs both
// and embeds them (scripts/gen-migrations.ts).
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/postgres/schema.ts',
  out: './drizzle-pg',
})
