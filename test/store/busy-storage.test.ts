// Another process keeps the gateway's SQLite file write-locked for longer than a write waits for it (5 s,
// src/store/sqlite/lock-wait.ts): the turn it keeps out is answered as a 503 storage_unavailable in the OpenAI error
// shape — not a 500 — and its end is stored (as failed) once the lock is gone, like any end the storage could not take.
// Meanwhile the gateway serves on: the write waits on a timer, not in SQLite's busy handler on the serving thread.
import { Database } from 'bun:sqlite'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { LOCK_WAIT_MS } from '../../src/store/sqlite/lock-wait'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { waitFor } from '../support/wait'
import { holdWriteLock } from '../support/write-lock'

let up: FakeUpstream
let gw: TestGateway
beforeAll(async () => {
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url, logLevel: 'warn', store: 'sqlite' })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

test('a turn kept out by a write lock held past the wait is a 503 storage_unavailable; its end is stored once the lock is gone', async () => {
  const { released } = await holdWriteLock(gw.config.db, LOCK_WAIT_MS + 1500)
  const answered = fetch(`${gw.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-model', input: 'hello' }),
  })
  let turnAnswered = false
  void answered.then(() => (turnAnswered = true))
  // the turn's write is waiting now (the upstream answers at once); other requests are served all the while
  await waitFor('the turn to reach the upstream', async () => up.requests.length > 0 || null)
  const health = await fetch(`${gw.url}/health`)
  expect(health.status).toBe(200)
  expect(turnAnswered).toBe(false)
  const res = await answered
  expect(res.status).toBe(503)
  expect(await res.json()).toEqual({
    error: {
      message: expect.stringContaining("The gateway's storage is busy (SQLITE_BUSY)"),
      type: 'server_error',
      param: null,
      code: 'storage_unavailable',
    },
  })
  await released
  // the gateway serves on, and the turn's end (failed: what the client was told) is written once the store takes writes
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  // (the 503 names no response id: the file's only response is the turn's)
  const file = new Database(gw.config.db, { readonly: true })
  try {
    const { id } = await waitFor('the turn stored', async () => file.query<{ id: string }, []>('select id from responses').get(), 10_000)
    const stored = await waitFor('the turn stored as failed', async () => {
      const r = await gw.store.getResponse('default', id)
      return r?.status === 'failed' ? r : null
    })
    expect(stored.error).toMatchObject({ code: 'storage_unavailable', message: expect.stringContaining('storage is busy') })
  } finally {
    file.close()
  }
}, 30_000)
