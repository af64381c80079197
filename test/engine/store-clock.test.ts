// The store clock's slots (engine/store-clock.ts): every running turn is ticked once a period, so its log is never
// more than a period behind, and with many turns no firing of the clock ticks more than one slot of them (the store
// commits one firing's writes as one transaction). Time is fake: the test fires the clock itself.
import { describe, expect, test } from 'bun:test'
import { SLOT_TURNS, SLOTS, StoreClock, type Timers } from '../../src/engine/store-clock'

function fakeTimers() {
  const t = {
    fire: null as (() => void) | null,
    everyMs: 0,
    cleared: 0,
    timers: {
      setInterval(fn: () => void, ms: number) {
        t.fire = fn
        t.everyMs = ms
        return 1
      },
      clearInterval() {
        t.fire = null
        t.cleared++
      },
    } satisfies Timers,
  }
  return t
}

/** A member that notes the firing (counted by the test) of each of its ticks. */
function member(now: () => number) {
  const ticks: number[] = []
  return { ticks, tick: () => ticks.push(now()) }
}

describe('the store clock ticks the running turns in slots', () => {
  test('with 500 running turns each is ticked once a period and no firing ticks more than a slot of them', () => {
    const t = fakeTimers()
    const clock = new StoreClock(100, t.timers)
    let firing = 0
    const turns = Array.from({ length: 500 }, () => member(() => firing))
    // they join over a period: some before the clock's first firing, some between firings
    turns.forEach((m, i) => {
      clock.join(m)
      if (i % 50 === 49) {
        firing++
        t.fire!()
      }
    })
    expect(t.everyMs).toBe(100 / SLOTS)
    const perFiring = new Map<number, number>()
    for (let i = 0; i < SLOTS * 5; i++) {
      firing++
      const before = turns.reduce((n, m) => n + m.ticks.length, 0)
      t.fire!()
      perFiring.set(firing, turns.reduce((n, m) => n + m.ticks.length, 0) - before)
    }
    // no firing ticks more than one slot's turns…
    expect(Math.max(...perFiring.values())).toBeLessThanOrEqual(SLOT_TURNS)
    // …and all 500 are ticked in every period: exactly SLOTS firings apart (a period), the first within one period
    for (const m of turns) {
      expect(m.ticks.length).toBeGreaterThanOrEqual(5)
      for (let i = 1; i < m.ticks.length; i++) expect(m.ticks[i]! - m.ticks[i - 1]!).toBe(SLOTS)
    }
    expect(perFiring.size).toBe(SLOTS * 5)
    expect([...perFiring.values()].reduce((a, b) => a + b, 0)).toBe(500 * 5)
  })

  test('a turn joining at any moment has its first tick within one period', () => {
    const t = fakeTimers()
    const clock = new StoreClock(100, t.timers)
    let firing = 0
    const first = member(() => firing)
    clock.join(first)
    for (let j = 0; j < SLOTS * 2; j++) {
      const late = member(() => firing)
      const joinedAt = firing
      clock.join(late)
      for (let i = 0; i < SLOTS; i++) {
        firing++
        t.fire!()
      }
      expect(late.ticks.length).toBe(1)
      expect(late.ticks[0]! - joinedAt).toBeLessThanOrEqual(SLOTS)
      clock.leave(late)
      firing++
      t.fire!()
    }
  })

  test('up to a slot of turns share one firing (one commit), and the timer stops when the last turn leaves', () => {
    const t = fakeTimers()
    const clock = new StoreClock(100, t.timers)
    let firing = 0
    const turns = Array.from({ length: SLOT_TURNS }, () => member(() => firing))
    for (const m of turns) {
      clock.join(m)
      firing++
      t.fire!()
    }
    for (let i = 0; i < SLOTS * 3; i++) {
      firing++
      t.fire!()
    }
    // every turn's ticks fall on the same firings as the first's
    const firings = turns[0]!.ticks.slice(-3)
    for (const m of turns) expect(m.ticks.slice(-3)).toEqual(firings)
    for (const m of turns) clock.leave(m)
    expect(clock.size).toBe(0)
    expect(t.fire).toBeNull()
    expect(t.cleared).toBe(1)
  })
})
