// The upstream calls' time limit to response headers: one timer per limit for every call in flight (src/upstream/deadlines.ts).
import { describe, expect, test } from 'bun:test'
import { DeadlineList } from '../../src/upstream/deadlines'

const reasonOf = (ctl: AbortController) => (ctl.signal.reason as Error | undefined)?.message

describe('DeadlineList', () => {
  test('a call still waiting at its deadline is aborted with a timeout and marked expired', async () => {
    const list = new DeadlineList(20)
    const ctl = new AbortController()
    const call = list.add(ctl)
    await Bun.sleep(60)
    expect(call.expired).toBe(true)
    expect(ctl.signal.aborted).toBe(true)
    expect(reasonOf(ctl)).toBe('timeout')
    expect(list.armed).toBe(false)
  })

  test('a call that settles in time is never aborted, and an empty list holds no timer', async () => {
    const list = new DeadlineList(20)
    const ctl = new AbortController()
    const call = list.add(ctl)
    expect(list.armed).toBe(true)
    call.settle()
    expect(list.armed).toBe(false)
    await Bun.sleep(60)
    expect(call.expired).toBe(false)
    expect(ctl.signal.aborted).toBe(false)
  })

  test('each call keeps its own deadline when the ones before it settle or expire', async () => {
    const list = new DeadlineList(40)
    const first = new AbortController()
    const firstCall = list.add(first)
    await Bun.sleep(20)
    const second = new AbortController()
    const secondCall = list.add(second)
    const third = new AbortController()
    list.add(third)
    // the head leaves: the timer set for it must still bring the second call down at its own deadline, not later
    firstCall.settle()
    await Bun.sleep(10)
    expect(second.signal.aborted).toBe(false)
    await Bun.sleep(60)
    expect(secondCall.expired).toBe(true)
    expect(second.signal.aborted).toBe(true)
    expect(third.signal.aborted).toBe(true)
    expect(first.signal.aborted).toBe(false)
    expect(list.armed).toBe(false)
  })

  test('a call in the middle settles without disturbing its neighbours', async () => {
    const list = new DeadlineList(20)
    const ctls = [new AbortController(), new AbortController(), new AbortController()]
    const calls = ctls.map((c) => list.add(c))
    calls[1]!.settle()
    calls[1]!.settle() // twice is harmless
    await Bun.sleep(60)
    expect(ctls.map((c) => c.signal.aborted)).toEqual([true, false, true])
    expect(calls.map((c) => c.expired)).toEqual([true, false, true])
  })

  test('the deadline is measured from add(), on the given clock', () => {
    let now = 1000
    const list = new DeadlineList(250, () => now)
    const call = list.add(new AbortController())
    now = 5000
    expect(call.deadline).toBe(1250)
    call.settle()
  })
})
