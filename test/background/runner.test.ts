// The background runner's live feed on its own: a reader that falls far behind continues from the store, so the
// runner never buffers without bound and the reader still gets every event exactly once, in order.
import { afterEach, beforeEach, expect, test } from 'bun:test'
import { createBackgroundRunner } from '../../src/engine/background'
import type { Turn } from '../../src/engine/turn'
import { createLogger } from '../../src/log'
import { openStore } from '../../src/store'
import type { Store } from '../../src/store/types'
import type { ResponseEvent } from '../../src/schema/events'
import { responseRecord, type JsonStore } from '../store/fixtures'

let store: Store
beforeEach(async () => {
  store = await openStore({ db: ':memory:', databaseUrl: null })
})
afterEach(async () => {
  await store.close()
})

/** A finished turn of `n` events, already in the store (as the engine leaves it), replayed by batches(). */
async function storedTurn(id: string, n: number): Promise<Turn> {
  const events = Array.from(
    { length: n },
    (_, i): ResponseEvent =>
      i === n - 1
        ? { type: 'response.completed', sequence_number: i, response: {} as any }
        : { type: 'response.output_text.delta', sequence_number: i, item_id: 'msg_1', output_index: 0, content_index: 0, delta: `d${i}` },
  )
  const json: JsonStore = store
  await json.createResponse(responseRecord(id, { status: 'completed', background: true }), [])
  await store.appendEvents(id, events)
  return {
    id,
    stored: true,
    background: true,
    response: {} as any,
    failure: null,
    transcript: () => [],
    async *batches() {
      for (const e of events) yield [e]
    },
  }
}

test('a reader far behind the live turn continues from the store without gaps or duplicates', async () => {
  const runner = createBackgroundRunner({ store, logger: createLogger('silent') })
  const turn = await storedTurn('resp_1', 3000)
  const feed = runner.run(turn, new AbortController(), { tenant: 'default', idleMs: 5000 })!
  const got: number[] = []
  got.push((await feed.next()).value!.sequence_number)
  // the turn runs to its end while the reader waits
  while (runner.running().length) await Bun.sleep(5)
  for await (const e of feed) got.push(e.sequence_number)
  expect(got).toEqual(Array.from({ length: 3000 }, (_, i) => i))
})

test('a reader that keeps up gets the events live; leaving early does not stop the turn', async () => {
  const runner = createBackgroundRunner({ store, logger: createLogger('silent') })
  const turn = await storedTurn('resp_2', 50)
  const feed = runner.run(turn, new AbortController(), { tenant: 'default', idleMs: 5000 })!
  const first = await feed.next()
  expect(first.value!.sequence_number).toBe(0)
  await feed.return(undefined)
  while (runner.running().length) await Bun.sleep(5)
  expect(runner.running()).toEqual([])
})

test('cancel of a turn that does not run here is false; shutdown with nothing running returns at once', async () => {
  const runner = createBackgroundRunner({ store, logger: createLogger('silent') })
  expect(await runner.cancel('resp_nope')).toBe(false)
  await runner.shutdown()
})
