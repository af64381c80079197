// Imported by main.ts (the entry) before it loads the CLI: libraries read NODE_ENV when their modules load (Elysia
// trims validation details only in production), which is before main() could set it.

/** NODE_ENV as the process started with it (undefined: unset), before the line below: serve's re-execution passes that on. */
// Bun.env (the same object as process.env): build.ts defines process.env.NODE_ENV as "production", a constant.
export const NODE_ENV_AT_START = Bun.env.NODE_ENV
process.env.NODE_ENV ??= 'production'
