// The errors the store throws (StoreError), for the HTTP layer to map to API errors (src/errors.ts toApiError), and
// the classification of driver errors: "the storage itself is failing" (disk full, I/O error, read-only, database
// unreachable) or "busy past the wait" (another connection kept SQLite's write lock longer than a write waits for it,
// ./sqlite/lock-wait.ts) is told apart from bugs and bad data, so the edges answer 503 storage_unavailable and the engine can
// retry a turn's end. Outcomes a caller branches on (an unknown or locked conversation) are returned values instead
// (ConversationConflict in ./types.ts). Nothing here knows about HTTP.

/** The storage cannot take (or serve) the request right now; retrying later may succeed. */
export class StoreUnavailableError extends Error {
  readonly kind = 'unavailable' as const
  constructor(
    /** what the driver said, short: SQLITE_FULL, 53100, ENOSPC, ERR_POSTGRES_CONNECTION_REFUSED … */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the gateway's storage is unavailable (${reason})`, options)
    this.name = 'StoreUnavailableError'
  }

  /** Another connection held the write lock for longer than a write waits: nothing is failing, and it may pass soon. */
  get busy(): boolean {
    return this.reason.startsWith('SQLITE_BUSY')
  }
}

/** A list was asked for from (`after`) or up to (`before`) an item id that is not in it. */
export class InvalidCursorError extends Error {
  readonly kind = 'invalid_cursor' as const
  constructor(
    readonly param: 'after' | 'before',
    readonly itemId: string,
  ) {
    super(`No item with id '${itemId}' in this list`)
    this.name = 'InvalidCursorError'
  }
}

/** Every error the store throws on purpose; `kind` tells them apart. */
export type StoreError = StoreUnavailableError | InvalidCursorError

export function isStoreError(e: unknown): e is StoreError {
  return e instanceof StoreUnavailableError || e instanceof InvalidCursorError
}

/** A row refers to one that is gone (SQLite's extended result code, PostgreSQL's SQLSTATE 23503), in `e` or its causes. */
export function isForeignKeyViolation(e: unknown): boolean {
  for (let err = e, depth = 0; err && typeof err === 'object' && depth < 5; err = (err as { cause?: unknown }).cause, depth++) {
    const { code, errno } = err as { code?: unknown; errno?: unknown }
    if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || errno === '23503' || code === '23503') return true
  }
  return false
}

// SQLite result codes (bun:sqlite's SQLiteError.code); the extended SQLITE_IOERR_*, SQLITE_READONLY_* and SQLITE_BUSY_*
// codes included. SQLITE_BUSY reaches here only once a write has waited out its bound (./sqlite/lock-wait.ts): left a
// plain error it was a 500, and a turn's end it hit was not retried (engine/unstored.ts retries storage failures).
const SQLITE = /^SQLITE_(FULL|IOERR|READONLY|CANTOPEN|BUSY)/
// PostgreSQL SQLSTATE classes: 53 insufficient resources (53100 disk_full), 08 connection exception, 58 system
// error (58030 io_error), 57P01–57P03 the server shutting down or not accepting connections, 25006 a read-only server.
const SQLSTATE = /^(53|08|58|57P0[123]|25006)/
// Bun's PostgreSQL client: the pool could not connect, or lost the connection.
const BUN_POSTGRES = /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT)/
// System errors: out of space or quota, I/O, read-only file system, and the network to a database server.
const SYSTEM = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EROFS',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** The short reason when `e` (or an error it wraps, e.g. drizzle's DrizzleQueryError) is a storage failure; else null. */
export function storageFailureReason(e: unknown): string | null {
  for (let err = e, depth = 0; err && typeof err === 'object' && depth < 5; err = (err as { cause?: unknown }).cause, depth++) {
    if (err instanceof StoreUnavailableError) return err.reason
    const { code, errno } = err as { code?: unknown; errno?: unknown }
    if (typeof code === 'string' && (SQLITE.test(code) || BUN_POSTGRES.test(code) || SYSTEM.has(code))) return code
    // PostgreSQL's SQLSTATE: `errno` on Bun's PostgresError, `code` on other clients.
    for (const state of [errno, code]) if (typeof state === 'string' && /^[0-9A-Z]{5}$/.test(state) && SQLSTATE.test(state)) return state
  }
  return null
}

/** `e` as a StoreUnavailableError when it is a storage failure, else `e` unchanged. */
export function asStoreError(e: unknown): unknown {
  if (e instanceof StoreUnavailableError) return e
  const reason = storageFailureReason(e)
  return reason ? new StoreUnavailableError(reason, { cause: e }) : e
}

/** Every method of `store` with its failure passed through asStoreError (a dialect's own parts; its operations classify themselves). */
export function classifyStoreErrors<S extends object>(store: S): S {
  const wrapped = {} as Record<string, unknown>
  for (const [key, value] of Object.entries(store)) {
    wrapped[key] =
      typeof value !== 'function'
        ? value
        : async (...args: unknown[]) => {
            try {
              return await value.apply(store, args)
            } catch (e) {
              throw asStoreError(e)
            }
          }
  }
  return wrapped as S
}
