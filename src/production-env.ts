// Imported by main.ts (the entry) before it loads the CLI: libraries read NODE_ENV when their modules load (Elysia
// trims validation details only in production), which is before main() could set it.
process.env.NODE_ENV ??= 'production'
