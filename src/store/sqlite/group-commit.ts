// Group commit for the SQLite store: the writes issued in one turn of the event loop are committed together.
// A commit costs more than the rows it writes: every b-tree the rows touch (the table, each index, the database
// header) is one page appended to the WAL, and the many turns that end at about the same moment under load append
// to the same rightmost pages (ids are time-ordered). Committed together, they write those pages once.
//
// Each write stays its own unit: one that fails is undone alone and only its caller hears of it; a failure that ends
// the whole transaction (a full disk, an I/O error) fails every write of the batch, as it would have failed each of
// them. A group is first run plainly, and only one in which a write failed is rolled back and run again with a
// savepoint per write: writes almost never fail, and a savepoint per write was about a quarter of a JSON turn's write. A write's promise settles only once its batch has committed. Reads and the store's
// other operations flush the queue first, so every operation still sees the writes issued before it.
// A transaction takes at most MAX_GROUP writes: holding the event loop is what a group costs the streams it serves.
// A group that another connection's write lock keeps out goes back to the head of the queue and is tried again from a
// timer (./lock-wait.ts), the event loop serving everything else meanwhile; nothing queued commits before it, so the
// writes still commit in the order they were issued. A write still kept out LOCK_WAIT_MS after its first refusal fails.
import type { Database } from 'bun:sqlite'
import { asStoreError } from '../errors'
import { LOCK_WAIT_MS, lockRetryDelay, refusedByLock } from './lock-wait'

interface Queued {
  work: () => unknown
  /** all or nothing (a transaction of its own, a savepoint in a batch); otherwise statement by statement */
  atomic: boolean
  resolve(value: unknown): void
  reject(error: unknown): void
  /** when another connection's write lock first refused it (performance.now()) */
  refusedAt?: number
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown }

/** Thrown out of a group's plain run when one of its writes failed: the group is rolled back and run write by write. */
const RETRY = Symbol('retry the group a savepoint per write')

/**
 * The most writes one transaction commits. A longer queue — the event logs of a few hundred streams, written on one
 * tick of the store clock (engine/checkpoint.ts) — is committed in transactions of this many, one per turn of the
 * event loop, so the sockets are served in between: 200 log writes at once held the loop 2–4 ms, and every stream's
 * tokens waited that long. (Each further commit costs about 0.4 µs a row more: 200 rows in one, 2.4 + 1.4 µs a row;
 * in fours of 50, 2.5 + 1.6.)
 */
export const MAX_GROUP = 64

export interface GroupCommit {
  /** Queues a write for the end of this turn of the event loop; settles once it is committed (or has failed). */
  write<T>(work: () => T, atomic: boolean): Promise<T>
  /**
   * Commits the queued writes now: before a read or any other operation, so that it sees them. Undefined once they
   * are all settled; while another connection's write lock keeps them out, a promise that resolves when they are.
   */
  flush(): Promise<void> | undefined
}

/** `lockWaitMs`: how long a write waits, by the clock, for another connection's write lock (./lock-wait.ts). */
export function groupCommit(client: Database, lockWaitMs = LOCK_WAIT_MS): GroupCommit {
  const queue: Queued[] = []
  // bun:sqlite transaction functions made once (making one per call showed in profiles). Called inside a transaction,
  // `unit` runs in a savepoint.
  const unit = client.transaction((work: () => unknown) => work())
  // The usual group: every write succeeds. One that fails (its transaction still open) rolls the group back: thrown as
  // RETRY, the group is run again by `batch`, where each write is undone alone. A write is an operation of the store,
  // whose only effects are its statements: it may run twice.
  const plain = client.transaction((writes: Queued[]): Outcome[] => {
    const outcomes: Outcome[] = []
    for (const w of writes) {
      try {
        outcomes.push({ ok: true, value: w.work() })
      } catch (error) {
        throw client.inTransaction ? RETRY : error
      }
    }
    return outcomes
  })
  const batch = client.transaction((writes: Queued[]): Outcome[] => {
    const outcomes: Outcome[] = []
    for (const w of writes) {
      try {
        outcomes.push({ ok: true, value: w.atomic ? unit(w.work) : w.work() })
      } catch (error) {
        // a failure that rolled the whole transaction back fails the batch (below); others stay with their write
        if (!client.inTransaction) throw error
        outcomes.push({ ok: false, error })
      }
    }
    return outcomes
  })

  /** Set while the queue's head waits for another connection's write lock: the timer that tries it again. */
  let retry: Timer | null = null
  let refusals = 0
  /** Resolved once the queue is empty again, for the operations that wait for it (flush). */
  let drained: PromiseWithResolvers<void> | null = null

  const take = () => (queue.length <= MAX_GROUP ? queue.splice(0) : queue.splice(0, MAX_GROUP))

  function settleDrained(): void {
    if (queue.length === 0 && drained) {
      drained.resolve()
      drained = null
    }
  }

  /** Commits the queue now, every write of it (before a read: it must see them all), unless a lock keeps it out. */
  function flush(): Promise<void> | undefined {
    while (queue.length && !retry) commit(take())
    if (queue.length === 0) {
      settleDrained()
      return undefined
    }
    drained ??= Promise.withResolvers<void>()
    return drained.promise
  }

  /** The queue's turn of the event loop: one group committed, the rest (if any) in the next turn. */
  function flushGroup(): void {
    if (queue.length === 0 || retry) return
    commit(take())
    if (queue.length && !retry) setImmediate(flushGroup)
    settleDrained()
  }

  /** The writes' first attempt, or their next after a refusal: one transaction, or the write alone as it is. */
  function attempt(writes: Queued[]): Outcome[] {
    if (writes.length === 1) {
      // alone: exactly what it would have been without batching
      const w = writes[0]!
      try {
        return [{ ok: true, value: w.atomic ? unit.immediate(w.work) : w.work() }]
      } catch (error) {
        if (refusedByLock(client, error)) throw error
        return [{ ok: false, error }]
      }
    }
    // immediate: takes the write lock up front (a deferred one upgraded later fails at once with SQLITE_BUSY)
    try {
      return plain.immediate(writes)
    } catch (e) {
      if (e !== RETRY) throw e
      return batch.immediate(writes)
    }
  }

  function commit(writes: Queued[]): void {
    let outcomes: Outcome[]
    try {
      outcomes = attempt(writes)
    } catch (e) {
      if (refusedByLock(client, e)) refused(writes, e)
      else {
        const error = asStoreError(e)
        for (const w of writes) w.reject(error)
      }
      return
    }
    refusals = 0
    writes.forEach((w, i) => {
      const o = outcomes[i]!
      if (o.ok) w.resolve(o.value)
      else w.reject(asStoreError(o.error))
    })
  }

  /**
   * Another connection's write lock refused `writes`: those refused for LOCK_WAIT_MS now fail (503 at the edges, a
   * turn's end is written again later: engine/unstored.ts), the others go back to the head of the queue for a timer.
   */
  function refused(writes: Queued[], e: unknown): void {
    const now = performance.now()
    const waiting: Queued[] = []
    for (const w of writes) {
      w.refusedAt ??= now
      if (now - w.refusedAt < lockWaitMs) waiting.push(w)
      else w.reject(asStoreError(e))
    }
    queue.unshift(...waiting)
    if (queue.length === 0) return
    retry = setTimeout(() => {
      retry = null
      flushGroup()
    }, lockRetryDelay(++refusals))
  }

  return {
    write<T>(work: () => T, atomic: boolean): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flushGroup)
        queue.push({ work, atomic, resolve: resolve as (v: unknown) => void, reject })
      })
    },
    flush,
  }
}
