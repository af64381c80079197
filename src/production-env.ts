// Imported first by main.ts, and by executable.ts before it loads main.ts (the compiled binary's entry, see there):
// libraries read NODE_ENV when their modules load (Elysia trims validation details only in production), which is
// before main() could set it.
process.env.NODE_ENV ??= 'production'
