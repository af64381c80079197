// The Store on PostgreSQL (Bun's built-in SQL client through drizzle-orm/bun-sql): the shared store (../repository.ts)
// run on this dialect's queries, so several gateway processes can share the database:
// - every write of several rows is one transaction (READ COMMITTED), its queries awaited one after the other on the
//   transaction's connection; rows are locked (SELECT … FOR NO KEY UPDATE) before they are judged and changed,
//   always a response before a conversation;
// - reads that need one snapshot (loadChain's two queries, a page and its cursor) run in one REPEATABLE READ, READ
//   ONLY transaction, said in its BEGIN;
// - JSON objects are rewritten in JS, not with jsonb functions, so stored objects keep their key order.

import type { SQL, TransactionSQL } from 'bun'
import { drizzle } from 'drizzle-orm/bun-sql'
import { runAsync, type Dialect, type Operation, type Queries } from '../dialect'
import { asStoreError } from '../errors'
import { createStore } from '../repository'
import type { Store } from '../types'
import { conversationQueries } from './conversations'
import { openPostgres, redactUrl, type Conn, type Db } from './driver'
import { eventQueries } from './events'
import { INSERT_CHUNK, itemQueries } from './items'
import { migratePostgres } from './migrate'
import { recoveryQueries } from './recovery'
import { responseQueries } from './responses'
import { retentionParts } from './retention'
import { wholeInserts } from './whole-inserts'

function queriesOn(conn: Conn): Queries {
  return { ...responseQueries(conn), ...itemQueries(conn), ...eventQueries(conn), ...recoveryQueries(conn), ...conversationQueries(conn) }
}

/** `run()`'s promise with a storage failure classified (../errors.ts). */
function classified<T>(run: () => Promise<T>): Promise<T> {
  return run().catch((e) => {
    throw asStoreError(e)
  })
}

export function createPostgresStore(db: Db, client: SQL): Store {
  const pool = queriesOn({ db, sql: client })
  /** Runs `op` in one transaction; `mode` is what its BEGIN says (none: READ COMMITTED, READ WRITE). */
  const transaction = <T>(op: Operation<T>, mode?: string): Promise<T> => {
    // drizzle over the transaction's connection, as drizzle's own transaction() builds it
    const body = (tx: TransactionSQL) => runAsync(op(queriesOn({ db: drizzle({ client: tx as unknown as SQL }), sql: tx })))
    return (mode ? client.begin(mode, body) : client.begin(body)) as Promise<T>
  }
  // the turns stored whole at their end in one tick share one statement (./whole-inserts.ts)
  const wholes = wholeInserts(client)
  // a query on the pool, outside a transaction: a read, or one write statement (all or nothing on its own)
  const onPool: Dialect['one'] = (query) => classified(async () => query(pool))
  const dialect: Dialect = {
    name: 'postgres',
    // one multi-row INSERT per chunk: a batch up to that size is all or nothing on its own
    rowsPerStatement: INSERT_CHUNK,
    one: onPool,
    run: (op) => classified(() => runAsync(op(pool))),
    runOne: onPool,
    write: (op) => classified(() => transaction(op)),
    read: (op) => classified(() => transaction(op, 'isolation level repeatable read read only')),
    insertWhole: (rec, input, output) => wholes.insert(rec, input, output),
    own: {
      ...retentionParts(client),
      // the pool's connections are the server's memory, and reused by the next turn
      async releaseMemory() {},
      async ping() {
        await client.unsafe('select 1')
      },
      async close() {
        wholes.flush()
        // queries in flight get a moment to finish; then the pool's connections are closed
        await client.close({ timeout: 5 })
      },
    },
  }
  return createStore(dialect)
}

/** Connects, applies the embedded migrations (once, whichever replica comes first) and returns the Store. */
export async function openPostgresStore(url: string): Promise<Store> {
  const { client, db } = openPostgres(url)
  try {
    await migratePostgres(client)
  } catch (e) {
    await client.close({ timeout: 0 }).catch(() => {})
    const reason = String((e as Error)?.message ?? e).replaceAll(url, redactUrl(url))
    throw new Error(`cannot open the PostgreSQL database ${redactUrl(url)}: ${reason}`)
  }
  return createPostgresStore(db, client)
}
