// Gateway-owned ids (src/ids.ts): prefix, 12 hex digits of time, a 4-digit per-millisecond counter, 16 random hex digits.
import { expect, test } from 'bun:test'
import { timeOrderedId } from '../../src/ids'

test('an id is its prefix, the time, a counter and a random tail, all lowercase hex', () => {
  const before = Date.now()
  const id = timeOrderedId('resp')
  expect(id).toMatch(/^resp_[0-9a-f]{32}$/)
  const ms = Number.parseInt(id.slice(5, 17), 16)
  expect(ms).toBeGreaterThanOrEqual(before)
  expect(ms).toBeLessThanOrEqual(Date.now())
})

test('ids sort in creation order and never repeat, many per millisecond and across refills of the random pool', () => {
  const ids = Array.from({ length: 20_000 }, () => timeOrderedId('msg'))
  expect([...ids].sort()).toEqual(ids)
  expect(new Set(ids).size).toBe(ids.length)
  // the random tails differ too (not only the counter): a pool read twice would repeat them
  expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length)
})
