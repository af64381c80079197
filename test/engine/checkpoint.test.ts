// The running turns' store clock (engine/checkpoint.ts): the event logs of turns running together are written in the
// same turn of the event loop, where the SQLite store commits them as one transaction; each log still gets every
// event, in order, and never more than about 100 ms behind. The store is scripted: it records which turn of the
// event loop each write came in.
import { describe, expect, test } from 'bun:test'
import { TurnCheckpoint } from '../../src/engine/checkpoint'
import { createLogger } from '../../src/log'
import type { ResponseEvent } from '../../src/schema/events'
import { fromStoredRuns } from '../../src/store/event-runs'
import type { Store } from '../../src/store/types'

interface Write {
  id: string
  /** the turn of the event loop it came in (writes in one share the object) */
  loopTurn: object
  seqs: number[]
}

function scriptedStore() {
  const writes: Write[] = []
  let loopTurn: object | null = null
  const store = {
    async appendEvents(id: string, events: ResponseEvent[]) {
      if (!loopTurn) {
        loopTurn = {}
        setImmediate(() => {
          loopTurn = null
        })
      }
      // the log comes as the rows that store it (a run of deltas in one): read back as its events
      writes.push({ id, loopTurn, seqs: fromStoredRuns(events, -1).map((e) => e.sequence_number) })
    },
  } as unknown as Store
  return { store, writes }
}

function turn(store: Store, id: string) {
  return new TurnCheckpoint({
    store,
    logger: createLogger('error', () => {}),
    tenant: 'default',
    id,
    owner: 'test',
    stored: true,
    recordEvents: true,
    logStarted: true,
    background: false,
    progress: () => {
      throw new Error('a foreground turn takes no snapshot')
    },
    onStopped: () => {},
    onStoreFailure: () => {},
  })
}

const delta = (seq: number) => ({ type: 'response.output_text.delta', sequence_number: seq, delta: 'x' }) as unknown as ResponseEvent

describe('the running turns share one store clock', () => {
  test('turns started at different moments write their logs in the same turn of the event loop, every event in order', async () => {
    const { store, writes } = scriptedStore()
    const ids = ['resp_a', 'resp_b', 'resp_c']
    const turns = ids.map((id) => turn(store, id))
    const seq = new Map(ids.map((id) => [id, 0]))
    let streaming = true
    // each turn streams an event every 5 ms; they start 35 ms apart (with a timer each, their writes would fall apart)
    const streams = turns.map(async (cp, i) => {
      await Bun.sleep(35 * i)
      cp.start()
      while (streaming) {
        const n = seq.get(ids[i]!)! + 1
        seq.set(ids[i]!, n)
        cp.record(delta(n))
        await cp.afterEvent()
        await Bun.sleep(5)
      }
    })
    await Bun.sleep(600)
    streaming = false
    await Promise.all(streams)
    const rest = await Promise.all(turns.map((cp) => cp.stop()))

    // once all three run, every write of the clock has all three logs in it
    const loopTurns = [...new Set(writes.map((w) => w.loopTurn))]
    const full = loopTurns.filter((lt) => new Set(writes.filter((w) => w.loopTurn === lt).map((w) => w.id)).size === 3)
    expect(full.length).toBeGreaterThanOrEqual(3)
    const afterAllStarted = loopTurns.slice(loopTurns.indexOf(full[0]!))
    for (const lt of afterAllStarted) expect(writes.filter((w) => w.loopTurn === lt).map((w) => w.id)).toEqual(ids)

    // nothing lost, nothing twice, in order: the written events plus those handed back at stop are 1..n
    ids.forEach((id, i) => {
      const written = writes.filter((w) => w.id === id).flatMap((w) => w.seqs)
      const all = [...written, ...fromStoredRuns(rest[i]!, -1).map((e) => e.sequence_number)]
      expect(all).toEqual(Array.from({ length: seq.get(id)! }, (_, k) => k + 1))
    })
  })

  test('a log is written at least every tick while the turn streams', async () => {
    const { store, writes } = scriptedStore()
    const cp = turn(store, 'resp_alone')
    cp.start()
    let n = 0
    const t0 = performance.now()
    while (performance.now() - t0 < 450) {
      cp.record(delta(++n))
      await cp.afterEvent()
      await Bun.sleep(10)
    }
    await cp.stop()
    // about one write per 100 ms tick over 450 ms (the bound: a follower is never far behind), never one per event
    expect(writes.length).toBeGreaterThanOrEqual(3)
    expect(writes.length).toBeLessThan(n / 3)
  })
})
