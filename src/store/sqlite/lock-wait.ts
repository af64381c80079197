// Waiting for another connection's write lock without stopping the event loop, measured by the clock.
// SQLite's own wait (busy_timeout) sleeps on the calling thread. On the serving thread that froze the whole gateway —
// every stream, every request, /health — for as long as another process held the file's write lock (measured: a
// /health sent during a 7 s hold answered after 4.56 s). It also counts the sleeps it asked for instead of timing
// them, and a signal ends a sleep early: under Bun's CPU profiler busy_timeout = 5000 gave up after 7–33 ms.
// So the store's connection has busy_timeout 0 (./repository.ts): SQLite refuses at once with SQLITE_BUSY, and the
// operation is begun again from a timer, pausing a little longer each time, until LOCK_WAIT_MS have passed since its
// first refusal. (The checkpoint worker's own connection still waits in SQLite: it blocks only its own thread.)
import type { Database } from 'bun:sqlite'

/** How long an operation waits, by the clock, for another connection's write lock before it fails. */
export const LOCK_WAIT_MS = 5000

/** SQLITE_BUSY and its extended codes: another connection holds a lock this one needs. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'))
}

/**
 * Whether `e`, thrown by an operation on `client`, can be begun again later: SQLITE_BUSY outside a transaction.
 * An operation of the store has no effects but its statements, and one SQLite refused that way wrote nothing (a
 * transaction's BEGIN IMMEDIATE, or the one write statement of an operation run statement by statement; a transaction
 * refused midway was rolled back), so running it again writes it once.
 */
export function refusedByLock(client: Database, e: unknown): boolean {
  return isBusy(e) && !client.inTransaction
}

/**
 * The pause before the `n`-th attempt after a refusal (n from 1), in ms: 1, 2, then 4 at most. Most holds are short —
 * the checkpoint worker's WAL restart, another gateway's group commit, each a few ms — and a longer pause lets the
 * other process take the lock again and again first (two gateways on one file under JSON load: p99 66–120 ms with
 * pauses up to 50 ms against 46–76 with SQLite's handler, same minutes; up to 4 ms, no worse than it). Over a long hold
 * (a VACUUM, an operator's shell) a refused BEGIN costs a few µs every 4 ms.
 */
export function lockRetryDelay(n: number): number {
  return Math.min(2 ** (n - 1), 4)
}

/**
 * `attempt()` begun again after a pause while another connection's lock refuses it, until `waitMs` have passed since
 * `refusedAt` (its first refusal, from performance.now()); then its last refusal is thrown. Other failures at once.
 */
export async function retryWhileLocked<T>(client: Database, attempt: () => T, refusedAt: number, waitMs = LOCK_WAIT_MS): Promise<T> {
  for (let n = 1; ; n++) {
    await Bun.sleep(lockRetryDelay(n))
    try {
      return attempt()
    } catch (e) {
      if (!refusedByLock(client, e) || performance.now() - refusedAt >= waitMs) throw e
    }
  }
}
