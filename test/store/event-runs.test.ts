// A turn's event log built event by event (src/store/event-runs.ts EventRuns, what engine/checkpoint.ts keeps while a
// turn runs): the rows it hands over are the rows the whole log stored at once would be, and they read back as the
// events pushed, from any point — whatever batches it was taken in, and with a batch put back after a failed write.
import { describe, expect, test } from 'bun:test'
import { EventRuns, eventJson, fromStoredRuns, toStoredRuns } from '../../src/store/event-runs'

type Ev = { type: string; sequence_number: number; [k: string]: unknown }

const delta = (n: number, item = 'msg_a', extra: Record<string, unknown> = {}): Ev => ({
  type: 'response.output_text.delta',
  sequence_number: n,
  item_id: item,
  output_index: 0,
  content_index: 0,
  delta: ` w${n}`,
  logprobs: [],
  ...extra,
})

/** A log with runs broken every way a run can be: another event, another item, other values, keys in another order. */
function mixedLog(): Ev[] {
  const log: Ev[] = [{ type: 'response.created', sequence_number: 0 }]
  let n = 1
  for (let i = 0; i < 30; i++) log.push(delta(n++))
  log.push({ type: 'response.output_text.done', sequence_number: n++, text: 'x' })
  for (let i = 0; i < 5; i++) log.push(delta(n++, 'msg_b'))
  log.push(delta(n++, 'msg_c'))
  log.push(delta(n++, 'msg_c', { logprobs: [{ token: 'x' }] }))
  log.push(delta(n++, 'msg_c'))
  const { item_id, ...rest } = delta(n++, 'msg_c')
  log.push({ item_id, ...rest })
  log.push(delta(n++, 'msg_c'))
  log.push({ type: 'response.function_call_arguments.delta', sequence_number: n++, item_id: 'fc_1', output_index: 1, delta: '{"a"' })
  log.push({ type: 'response.function_call_arguments.delta', sequence_number: n++, item_id: 'fc_1', output_index: 1, delta: ':1}' })
  log.push({ type: 'response.completed', sequence_number: n++ })
  return log
}

const json = (events: unknown[]) => events.map((e) => JSON.stringify(e))

describe('a log built event by event', () => {
  test('is stored as the same rows as the whole log at once, and reads back as the events pushed, from any point', () => {
    const log = mixedLog()
    const runs = new EventRuns<Ev>()
    for (const e of log) runs.push(e)
    expect(runs.length).toBe(log.length)
    const rows = runs.take()
    expect(runs.length).toBe(0)
    expect(json(rows)).toEqual(json(toStoredRuns(log)))
    expect(rows.length).toBeLessThan(log.length / 3)
    for (let after = -1; after < log.length; after++)
      expect(
        json(
          fromStoredRuns(
            rows.filter((r) => r.sequence_number > after),
            after,
          ),
        ),
      ).toEqual(json(log.slice(after + 1)))
  })

  test('taken in batches (each write of the running turn), the rows still read back as the whole log', () => {
    const log = mixedLog()
    const runs = new EventRuns<Ev>()
    const stored: Ev[] = []
    log.forEach((e, i) => {
      runs.push(e)
      // a batch ends inside a run of deltas too: the next batch starts a run of its own
      if (i % 7 === 3) stored.push(...runs.take())
    })
    stored.push(...runs.take())
    expect(json(fromStoredRuns(stored, -1))).toEqual(json(log))
  })

  test('a batch put back after a failed write is written ahead of the newer events, none lost or repeated', () => {
    const log = mixedLog()
    const runs = new EventRuns<Ev>()
    for (const e of log.slice(0, 20)) runs.push(e)
    const failed = runs.take()
    for (const e of log.slice(20, 25)) runs.push(e)
    runs.putBack(failed, 20)
    expect(runs.length).toBe(25)
    for (const e of log.slice(25)) runs.push(e)
    expect(json(fromStoredRuns(runs.take(), -1))).toEqual(json(log))
  })

  test('deltas given as their JSON (a run kept as bytes) make the rows pushing them one by one makes, stored as the same JSON', () => {
    const log = mixedLog()
    const one = new EventRuns<Ev>()
    const runs = new EventRuns<Ev>()
    // the text deltas of msg_a and msg_b in runs of 1 to 7 (each run's first as its event, the rest as JSON), the rest singly
    for (let i = 0; i < log.length; ) {
      let j = i + 1
      const alike = (k: number) =>
        log[k]?.type === 'response.output_text.delta' && log[k]!.item_id === log[i]!.item_id && k - i < 1 + (i % 7)
      if (log[i]!.item_id === 'msg_a' || log[i]!.item_id === 'msg_b') while (alike(j)) j++
      const texts = log.slice(i, j).map((e) => JSON.stringify(e.delta))
      if (j - i > 1 || log[i]!.item_id === 'msg_a') runs.pushRun(log[i]!, texts.join(','), j - i)
      else runs.push(log[i]!)
      for (let k = i; k < j; k++) one.push(log[k]!)
      i = j
    }
    expect(runs.length).toBe(log.length)
    const rows = runs.take()
    expect(json(rows)).toEqual(json(one.take()))
    expect(rows.map(eventJson)).toEqual(json(rows))
    expect(
      json(
        fromStoredRuns(
          rows.map((r) => JSON.parse(eventJson(r))),
          -1,
        ),
      ),
    ).toEqual(json(log))
    expect(
      json(
        fromStoredRuns(
          rows.filter((r) => r.sequence_number > 10),
          10,
        ),
      ),
    ).toEqual(json(log.slice(11)))
  })

  test('tokens given as their text alone (after a delta of the same shape) make the rows pushing their events makes; any other is refused', () => {
    const log = mixedLog()
    const one = new EventRuns<Ev>()
    const runs = new EventRuns<Ev>()
    // one template per item and part, as engine/checkpoint.ts keeps them; the events it stands for are made only when
    // a token is refused (its event then given with the template)
    const shapes = new Map<string, object>()
    let appended = 0
    let refused = 0
    log.forEach((e, i) => {
      one.push(e)
      const plain = e.type === 'response.output_text.delta' && Array.isArray(e.logprobs) && e.logprobs.length === 0
      if (!plain || Object.keys(e)[0] !== 'type') {
        runs.push(e)
        return
      }
      const key = `${e.item_id}/${e.output_index}/${e.content_index}`
      const shape = shapes.get(key) ?? shapes.set(key, {}).get(key)!
      if (runs.appendText(shape, e.sequence_number, e.delta as string)) appended++
      else {
        refused++
        runs.pushRun(e, '', 1, shape)
      }
      if (i === 12)
        // a write that failed: its rows go back, and a run after them starts anew
        for (const log of [runs, one]) {
          const n = log.length
          log.putBack(log.take(), n)
        }
    })
    // msg_a's 30 deltas: the first is given as its event and so is the one after the write that failed, msg_b's first,
    // msg_c's first and each one after an event of another shape
    expect({ appended, refused }).toEqual({ appended: 32, refused: 6 })
    expect(runs.length).toBe(log.length)
    const rows = runs.take()
    expect(json(rows)).toEqual(json(one.take()))
    expect(json(fromStoredRuns(rows, -1))).toEqual(json(log))
    // not after an event of another kind, nor with a gap in the numbers, nor after a take
    const fresh = new EventRuns<Ev>()
    const shape = {}
    fresh.pushRun(delta(1), '', 1, shape)
    expect(fresh.appendText(shape, 3, 'x')).toBe(false)
    expect(fresh.appendText({}, 2, 'x')).toBe(false)
    expect(fresh.appendText(shape, 2, 'x')).toBe(true)
    fresh.push({ type: 'response.output_text.done', sequence_number: 3 })
    expect(fresh.appendText(shape, 4, 'x')).toBe(false)
    fresh.pushRun(delta(4), '', 1, shape)
    fresh.take()
    expect(fresh.appendText(shape, 5, 'x')).toBe(false)
  })

  test('a thousand alike deltas pushed one by one are one row, numbered by its last event', () => {
    const runs = new EventRuns<Ev>()
    for (let n = 0; n < 1000; n++) runs.push(delta(n))
    const rows = runs.take()
    expect(rows).toHaveLength(1)
    expect(rows[0]!.sequence_number).toBe(999)
  })
})
