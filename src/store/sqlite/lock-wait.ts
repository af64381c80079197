// Waiting for another connection's write lock, measured by the clock. SQLite's busy handler (busy_timeout) does not
// measure how long it waited: it counts the sleeps it asked for (1, 2, 5 … then 100 ms each) and gives up once their
// sum passes the timeout. A signal delivered to the thread ends a sleep early (nanosleep returns at once), so a process
// that receives signals often gives up after a fraction of the timeout: under Bun's CPU profiler (a signal to the main
// thread every sampling interval) busy_timeout = 5000 gave up after 7–33 ms, and a turn whose write came while the
// checkpoint worker restarted the WAL (it holds the write lock for a few ms) failed with "database is locked".
// A write SQLite gave up on is therefore begun again until LOCK_WAIT_MS have passed since its first attempt. Without
// signals SQLite's own wait has used them up by then, and the error stands as before.
import type { Database } from 'bun:sqlite'

/** How long a write waits for another connection's write lock: the connection's busy_timeout, and the clock's bound. */
export const LOCK_WAIT_MS = 5000

/** SQLITE_BUSY and its extended codes: another connection holds a lock this one needs. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'))
}

/**
 * `attempt()`, begun again while it fails with SQLITE_BUSY outside a transaction (nothing of it is left open) and
 * `waitMs` have not passed since it was first begun. `attempt` is a write of the store, whose only effects are its
 * statements: one that SQLite refused with SQLITE_BUSY wrote nothing (a transaction's BEGIN IMMEDIATE, or the one write
 * statement of an operation run statement by statement), so running it again writes it once.
 */
export function waitingOutLocks<T>(client: Database, attempt: () => T, waitMs = LOCK_WAIT_MS): T {
  const start = performance.now()
  for (;;) {
    try {
      return attempt()
    } catch (e) {
      if (!isBusy(e) || client.inTransaction || performance.now() - start >= waitMs) throw e
    }
    // SQLite's busy handler has slept before giving up; this pause only keeps a BUSY returned without it (there is
    // none on these paths today) from spinning.
    Bun.sleepSync(1)
  }
}
