// The idle release (src/idle-release.ts, --idle-release-ms): memory is given back once after the start and once after
// traffic, when nothing is in flight, and not while a request, a turn or a stream is. The gateway runs here with a release that only counts;
// test/binary/idle-release.test.ts runs the real one in the compiled binary.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { watchIdle } from '../src/idle-release'
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream'
import { startGateway, type TestGateway } from './support/gateway'
import { waitFor } from './support/wait'
import { openSocket } from './support/ws-client'

const IDLE_MS = 100

let up: FakeUpstream
let gw: TestGateway | null = null
let releases: number[] = []
/** called by the counting release, if set (reset by gateway()) */
let duringRelease: (() => void) | null = null

beforeAll(() => {
  up = startFakeUpstream({ models: [{ id: 'test-model', max_model_len: 32768 }] })
})
afterAll(() => up.stop())
afterEach(async () => {
  await gw?.stop()
  gw = null
})

/**
 * A gateway with a release that only counts. `idle` (default): it has given back what its start left and has had no
 * request since, so what the tests count is what traffic makes; 'fresh': just started.
 */
async function gateway(opts: { idleMs?: number; minIntervalMs?: number; state?: 'idle' | 'fresh' } = {}): Promise<TestGateway> {
  releases = []
  duringRelease = null
  gw = await startGateway({
    upstream: up.url,
    env: { AGENTGATE_IDLE_RELEASE_MS: String(opts.idleMs ?? IDLE_MS) },
    idleRelease: {
      release: () => {
        duringRelease?.()
        releases.push(performance.now())
      },
      minIntervalMs: opts.minIntervalMs ?? 0,
    },
  })
  if ((opts.state ?? 'idle') === 'idle' && opts.idleMs !== 0) {
    await released(1)
    releases = []
  }
  return gw
}

const turn = (g: TestGateway, body: Record<string, unknown> = {}) =>
  fetch(`${g.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-model', input: 'hello', ...body }),
  })

const released = (n: number) => waitFor(`${n} release(s), got ${releases.length}`, () => releases.length === n)

describe('giving memory back once the gateway is idle', () => {
  test('a started gateway gives back once what its start left, and nothing more until a request comes', async () => {
    await gateway({ state: 'fresh' })
    await released(1)
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(1)
  })

  test('a request soon after the start: one release, after the traffic', async () => {
    const g = await gateway({ state: 'fresh', idleMs: IDLE_MS * 5 })
    expect((await turn(g)).status).toBe(200)
    await released(1)
    await Bun.sleep(IDLE_MS * 10)
    expect(releases).toHaveLength(1)
  })

  test("the start's release does not hold back the first one after traffic (the minimum interval is for traffic)", async () => {
    const g = await gateway({ minIntervalMs: 60_000 })
    expect((await turn(g)).status).toBe(200)
    await released(1)
    // and the one after traffic does hold back the next
    expect((await turn(g)).status).toBe(200)
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(1)
  })

  test('after traffic and --idle-release-ms with nothing in flight, memory is given back once', async () => {
    const g = await gateway()
    // One request: two in a row would be two idle periods on a slow box, if the gap between them passed IDLE_MS.
    expect((await turn(g)).status).toBe(200)
    await released(1)
    // idle from here on: no second release without a new request
    await Bun.sleep(IDLE_MS * 6)
    expect(releases).toHaveLength(1)
  })

  test('not while a JSON turn waits for the upstream', async () => {
    const g = await gateway()
    up.queue({ fault: 'slow', delayMs: IDLE_MS * 7 })
    const answer = turn(g)
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(0)
    const r = await answer
    expect(r.status).toBe(200)
    expect(((await r.json()) as { status: string }).status).toBe('completed')
    await released(1)
  })

  test('not while a pass-through request waits for the upstream', async () => {
    const g = await gateway()
    up.queue({ fault: 'slow', delayMs: IDLE_MS * 7 })
    const answer = fetch(`${g.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
    })
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(0)
    expect((await answer).status).toBe(200)
    await released(1)
  })

  test('not while an SSE stream is open, though no byte moves on it', async () => {
    const g = await gateway()
    up.queue({ fault: 'stall', afterEvents: 3, stallMs: IDLE_MS * 7 })
    const r = await turn(g, { stream: true })
    const reader = r.body!.getReader()
    await reader.read()
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(0)
    let text = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    expect(text).toContain('event: response.completed')
    await released(1)
  })

  test('a WebSocket turn is traffic, and in flight until it ends', async () => {
    const g = await gateway()
    const socket = await openSocket(g.url)
    try {
      // the upgrade was a request: an open socket with no turn running is idle
      await released(1)
      up.queue({ fault: 'stall', afterEvents: 3, stallMs: IDLE_MS * 7 })
      socket.create({ input: 'hello over the socket' })
      await Bun.sleep(IDLE_MS * 5)
      expect(releases).toHaveLength(1)
      expect((await socket.terminal(1)).type).toBe('response.completed')
      await released(2)
    } finally {
      socket.close()
    }
  })

  test('the next request arms it again, and two releases are at least the minimum interval apart', async () => {
    const g = await gateway({ minIntervalMs: IDLE_MS * 6 })
    expect((await turn(g)).status).toBe(200)
    await released(1)
    expect((await turn(g)).status).toBe(200)
    await released(2)
    // a timer may fire a millisecond early
    expect(releases[1] - releases[0]).toBeGreaterThanOrEqual(IDLE_MS * 6 - 2)
  })

  test('the store gives back its part: the checkpoint worker stops with the WAL cut to 0 bytes', async () => {
    // a longer idle time here: the traffic below must not look idle on a slow machine
    const g = await gateway({ idleMs: IDLE_MS * 5 })
    const wal = join(g.dir, 'agentgate.db-wal')
    // stored turns of 64 KiB each until the WAL passes the size at which the checkpoint worker starts (1 MiB) …
    for (let i = 0; i < 40 && (statSync(wal, { throwIfNoEntry: false })?.size ?? 0) < 2 * 1024 * 1024; i++)
      expect((await turn(g, { input: 'x'.repeat(64 * 1024) })).status).toBe(200)
    expect(statSync(wal).size).toBeGreaterThan(1024 * 1024)
    // … and traffic for a while after, so the watch (every 250 ms) starts it before the gateway goes idle
    for (let i = 0; i < 12; i++) {
      await fetch(`${g.url}/health`)
      await Bun.sleep(50)
    }
    expect(releases).toHaveLength(0)
    // the process-wide part (the full collection) comes after the store's: what SQLite frees must be free by then
    let walAtRelease = -1
    duringRelease = () => {
      walAtRelease = statSync(wal).size
    }
    await released(1)
    expect(walAtRelease).toBe(0)
    expect(statSync(wal).size).toBe(0)
    // and the store works on
    expect((await turn(g)).status).toBe(200)
  })

  test('--idle-release-ms 0 never gives memory back', async () => {
    const g = await gateway({ idleMs: 0 })
    expect((await turn(g)).status).toBe(200)
    await Bun.sleep(IDLE_MS * 5)
    expect(releases).toHaveLength(0)
  })
})

describe('watchIdle', () => {
  /** A watch whose `before` ends when the test says, counting releases and onRelease's times. */
  function watchWithBefore(busy = () => false) {
    const w = { finish: () => {}, befores: 0, releases: 0, ended: [] as number[] }
    const watch = watchIdle({
      afterMs: 10,
      busy,
      before: () => {
        w.befores++
        return new Promise<void>((resolve) => (w.finish = resolve))
      },
      release: () => void w.releases++,
      onRelease: (ms) => w.ended.push(ms),
    })
    return { w, watch }
  }

  test('`before` runs first: the release waits for it, and onRelease comes after both, with their whole time', async () => {
    const { w, watch } = watchWithBefore()
    try {
      watch.touch()
      await waitFor('before', () => w.befores === 1)
      await Bun.sleep(40)
      expect(w.releases).toBe(0)
      expect(w.ended).toHaveLength(0)
      w.finish()
      await waitFor('onRelease', () => w.ended.length === 1)
      expect(w.releases).toBe(1)
      expect(w.ended[0]).toBeGreaterThanOrEqual(30)
    } finally {
      watch.stop()
    }
  })

  test('a request while `before` runs: the release is left out (no full collection in front of new traffic)', async () => {
    const { w, watch } = watchWithBefore()
    try {
      watch.touch()
      await waitFor('before', () => w.befores === 1)
      watch.touch()
      w.finish()
      await waitFor('onRelease', () => w.ended.length === 1)
      expect(w.releases).toBe(0)
    } finally {
      watch.stop()
    }
  })

  test('work in flight when `before` ends: the release is left out', async () => {
    let inFlight = false
    const { w, watch } = watchWithBefore(() => inFlight)
    try {
      watch.touch()
      await waitFor('before', () => w.befores === 1)
      inFlight = true
      w.finish()
      await waitFor('onRelease', () => w.ended.length === 1)
      expect(w.releases).toBe(0)
    } finally {
      watch.stop()
    }
  })
})
