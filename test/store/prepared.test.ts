// Statements of the SQLite store are prepared by their first use, once, and not when the store opens.
import { expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { onFirstUse } from '../../src/store/sqlite/prepared'

test('a statement is prepared by its first use, and only once', () => {
  const db = new Database(':memory:')
  try {
    db.exec('CREATE TABLE t (a INTEGER)')
    let prepared = 0
    const insert = onFirstUse(() => {
      prepared++
      return db.prepare('INSERT INTO t VALUES (?)')
    })
    expect(prepared).toBe(0)
    insert().run(1)
    insert().run(2)
    expect(prepared).toBe(1)
    expect(db.query('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 })
  } finally {
    db.close()
  }
})
