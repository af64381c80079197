// The Store on SQLite (bun:sqlite through drizzle): the shared store (../repository.ts) run on this dialect's queries.
// bun:sqlite is synchronous: an operation runs to its end inside one transaction without yielding to the event loop,
// so no other request's statement can slip into it. Writes issued in one turn of the event loop share one commit
// (./group-commit.ts). Writes take the write lock up front (BEGIN IMMEDIATE); another connection's lock never makes the
// serving thread sleep: what it refuses waits on a timer (./lock-wait.ts). Several processes may share the file:
// running turns carry a lease, a conversation's turn lock is a column checked and set inside one such transaction, and
// cancel is a status change the runner polls.

import type { Database } from 'bun:sqlite'
import { runSync, type Dialect, type Operation, type Queries, type Result } from '../dialect'
import { asStoreError } from '../errors'
import { createStore } from '../repository'
import type { Store } from '../types'
import { checkpointWhenWalGrows } from './checkpointer'
import { conversationQueries } from './conversations'
import { isMemoryPath, openSqlite, type Db } from './driver'
import { eventQueries } from './events'
import { groupCommit } from './group-commit'
import { LOCK_WAIT_MS, refusedByLock, retryWhileLocked } from './lock-wait'
import { itemQueries } from './items'
import { recoveryQueries } from './recovery'
import { responseQueries } from './responses'
import { retentionParts } from './retention'

/** `lockWaitMs`: how long an operation waits, by the clock, for another connection's write lock (./lock-wait.ts). */
export function createSqliteStore(db: Db, client: Database, { lockWaitMs = LOCK_WAIT_MS }: { lockWaitMs?: number } = {}): Store {
  // SQLite refuses at once what another connection's lock keeps out, instead of sleeping on this thread (./lock-wait.ts).
  client.exec('PRAGMA busy_timeout = 0')
  const q: Queries = {
    ...responseQueries(db, client),
    ...itemQueries(db, client),
    ...eventQueries(db, client),
    ...recoveryQueries(db, client),
    ...conversationQueries(db, client),
  }
  // Writes are committed in groups (./group-commit.ts); every other operation runs the queued ones first.
  const commits = groupCommit(client, lockWaitMs)
  /**
   * The result of a synchronous operation as the promise the Store returns, a storage failure classified
   * (../errors.ts); one that another connection's lock refused is tried again from a timer. A plain function, not an
   * async one: every store call passes here, and an async frame per call showed in profiles.
   */
  const settled = <T>(fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn())
    } catch (e) {
      if (!refusedByLock(client, e)) return Promise.reject(asStoreError(e))
      return retryWhileLocked(client, fn, performance.now(), lockWaitMs).catch((e) => Promise.reject(asStoreError(e)))
    }
  }
  /** `fn` run once the writes queued before it are committed, so that it sees them. */
  const afterWrites = <T>(fn: () => T): Promise<T> => commits.flush()?.then(() => afterWrites(fn)) ?? settled(fn)
  const inTransaction = client.transaction(<T>(fn: () => T): T => fn())
  /**
   * A deferred transaction that upgrades to a writer fails with SQLITE_BUSY when another process writes: writes say
   * so when they begin.
   */
  const writeTransaction = <T>(fn: () => T): Promise<T> => afterWrites(() => inTransaction.immediate(fn) as T)
  const dialect: Dialect = {
    name: 'sqlite',
    // one row per INSERT (prepared once): several rows are all or nothing only in a transaction
    rowsPerStatement: 1,
    one: <T>(query: (q: Queries) => Result<T>) => afterWrites(() => query(q) as T),
    run: (op) => commits.write(() => runSync(op(q)), false),
    // (SQLite's queries answer synchronously: the value itself)
    runOne: <T>(query: (q: Queries) => Result<T>) => commits.write(() => query(q) as T, false),
    write: (op) => commits.write(() => runSync(op(q)), true),
    // Every stored JSON turn's one write: its statements called straight, not as an operation's steps. Driven through
    // runSync, the operation's generator and runSync's loop never stayed compiled under load — the JIT compiled them
    // again and again, about 30 times in 8 s of the bench's JSON turns, and between times they ran unoptimised.
    insertWhole: (rec, input, output) =>
      commits.write(() => {
        q.insertResponse(rec, null)
        q.insertItems(rec.tenant, { kind: 'input', responseId: rec.id }, input, 0)
        q.insertItems(rec.tenant, { kind: 'output', responseId: rec.id }, output, 0)
      }, true),
    read: <T>(op: Operation<T>) => afterWrites(() => inTransaction(() => runSync(op(q))) as T),
    own: {
      ...retentionParts(client, writeTransaction, afterWrites),
      // the page cache's free pages back to the allocator (up to 2 MiB per connection by default)
      releaseMemory: () => afterWrites(() => void client.exec('PRAGMA shrink_memory')),
      // a read of the file alone: it waits for no write (another process's lock keeps only writes out, WAL)
      ping: () => settled(() => void client.query('select 1').get()),
      async close() {
        await afterWrites(() => {})
        client.close()
      },
    },
  }
  return createStore(dialect)
}

/**
 * Opens the database file (or ':memory:'), and checkpoints its WAL on a worker thread — once the WAL grows enough to
 * need it, until the gateway goes idle or the store is closed.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  const { client, db } = openSqlite(path)
  const store = createSqliteStore(db, client)
  const checkpointer = isMemoryPath(path) ? null : checkpointWhenWalGrows(path, client)
  if (!checkpointer) return store
  return {
    ...store,
    async releaseMemory() {
      await checkpointer.idle()
      await store.releaseMemory()
    },
    async close() {
      await checkpointer.stop()
      await store.close()
    },
  }
}
