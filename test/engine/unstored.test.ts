// The retry of turn ends the failing storage could not take (engine/unstored.ts): written again with backoff until the
// store takes them, bounded, and readable by followers meanwhile. test/store/disk-full.test.ts runs it on a real
// full disk; here the write is scripted, with a short schedule.
import { describe, expect, test } from 'bun:test'
import { UnstoredEnds } from '../../src/engine/unstored'
import type { ResponseEvent } from '../../src/schema/events'
import { createLogger } from '../../src/log'
import { StoreUnavailableError } from '../../src/store/errors'
import { EventRuns } from '../../src/store/event-runs'
import type { EventBody } from '../../src/store/types'

const FAST = { firstMs: 5, maxMs: 20, giveUpAfterMs: 300 }

function setup() {
  const logs: string[] = []
  return {
    logs,
    unstored: new UnstoredEnds(
      createLogger('info', (l) => logs.push(l)),
      FAST,
    ),
  }
}

async function until(what: string, fn: () => boolean, ms = 5_000) {
  for (const end = Date.now() + ms; !fn(); await Bun.sleep(5)) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
}

// Stand-ins: the waiting list keeps events as given and reads only their numbers.
const events = [
  { type: 'response.output_text.delta', sequence_number: 7 },
  { type: 'response.failed', sequence_number: 8 },
] as ResponseEvent[]

describe('an unstored turn end', () => {
  test('is written again until the storage takes it, then is gone from the waiting list', async () => {
    const { unstored, logs } = setup()
    let attempts = 0
    unstored.retry('resp_1', events, async () => {
      if (++attempts < 4) throw new StoreUnavailableError('SQLITE_FULL')
    })
    expect(unstored.eventsAfter('resp_1', 7)).toEqual([events[1]])
    await until('the write to get through', () => unstored.eventsAfter('resp_1', -1) === null)
    expect(attempts).toBe(4)
    expect(logs.join('\n')).toContain('stored the end of a response once the storage took writes again')
  })

  test('is given up after a bounded time while the storage keeps failing (recovery ends the response then)', async () => {
    const { unstored, logs } = setup()
    let attempts = 0
    unstored.retry('resp_2', events, async () => {
      attempts++
      throw new StoreUnavailableError('SQLITE_FULL')
    })
    await until('the retries to stop', () => unstored.eventsAfter('resp_2', -1) === null)
    const stoppedAt = attempts
    expect(stoppedAt).toBeGreaterThan(1)
    await Bun.sleep(60)
    expect(attempts).toBe(stoppedAt)
    expect(logs.join('\n')).toContain('gave up storing the end of a response; recovery will mark it failed')
  })

  test('is not retried when the write fails for another reason than the storage', async () => {
    const { unstored, logs } = setup()
    let attempts = 0
    unstored.retry('resp_3', events, async () => {
      attempts++
      throw new Error('Cannot use a closed database')
    })
    await until('the retries to stop', () => unstored.eventsAfter('resp_3', -1) === null)
    expect(attempts).toBe(1)
    expect(logs.join('\n')).toContain('Cannot use a closed database')
  })

  test("its followers read a run of deltas (as the turn's log keeps them) event by event, from inside the run too", () => {
    const { unstored } = setup()
    const log = new EventRuns<EventBody>()
    const delta = (n: number) => ({ type: 'response.output_text.delta', sequence_number: n, item_id: 'msg_1', delta: `w${n}` })
    const all = [...[3, 4, 5, 6].map(delta), { type: 'response.failed', sequence_number: 7 }] as EventBody[]
    for (const e of all) log.push(e)
    const rows = log.take()
    expect(rows).toHaveLength(2)
    unstored.retry('resp_4', rows, () => new Promise(() => {}))
    for (const after of [-1, 3, 4, 5, 6, 7])
      expect(unstored.eventsAfter('resp_4', after)).toEqual(all.filter((e) => e.sequence_number > after))
  })

  test('followers of other responses see nothing waiting', () => {
    expect(setup().unstored.eventsAfter('resp_unknown', -1)).toBeNull()
  })
})
