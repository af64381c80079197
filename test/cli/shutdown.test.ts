// Graceful shutdown of the real process (bun src/main.ts serve): on SIGTERM /ready turns 503 and new turns are
// refused at once, running turns (SSE and WebSocket) finish within --shutdown-grace-ms, sockets close with 1001,
// what still runs at the deadline ends with response.failed and is stored as failed, and the process exits 0.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../../src/store'
import { startBinary, type RunningBinary } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { sseEvents } from '../support/sse'
import { openSocket } from '../support/ws-client'
import { waitFor } from '../support/wait'

let up: FakeUpstream
let home: string

beforeAll(() => {
  up = startFakeUpstream()
  home = mkdtempSync(join(tmpdir(), 'agentgate-shutdown-'))
})
afterAll(async () => {
  await up.stop()
  rmSync(home, { recursive: true, force: true })
})

const env = () => cleanEnv({ AGENTGATE_HOME: home, AGENTGATE_LOG_FORMAT: 'json' })

async function gateway(db: string, ...args: string[]): Promise<RunningBinary> {
  return startBinary(process.execPath, [MAIN, 'serve', '--port', '0', '--db', db, '--upstream', up.url, ...args], { cwd: home, env: env() })
}

/** A streamed create; `firstDelta` resolves at its first text delta (or its end), `events` with every event once it ends. */
function streamTurn(url: string, body: Record<string, unknown>) {
  const stream = fetch(`${url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-model', stream: true, ...body }),
  }).then((res) => {
    expect(res.status).toBe(200)
    return sseEvents(res)
  })
  const firstDelta = stream.then((s) => s.until((e) => e.type === 'response.output_text.delta'))
  const events = firstDelta.then(async () => (await stream).toEnd())
  return { firstDelta, events }
}

/** A WebSocket turn; `firstDelta` at its first delta, `done` with its frames and the close code. */
async function socketTurn(url: string, input: string) {
  const s = await openSocket(url)
  s.create({ input })
  return {
    firstDelta: s.next((f) => f.type === 'response.output_text.delta', 15_000, 'the first delta'),
    done: s.closed.then(({ code }) => ({ frames: s.frames, code })),
  }
}

/** Polls until `check` resolves true (bounded); a check that fails (say, a refused connection) counts as not yet. */
const eventually = (check: () => Promise<boolean>, what: string, ms = 5_000) => waitFor(what, () => check().catch(() => false), ms)

const logLines = (gw: RunningBinary) =>
  gw
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))

describe('SIGTERM', () => {
  test('during 10 streamed turns and a WebSocket turn: every client gets its terminal event, the turns complete, the process exits 0', async () => {
    // ~12 text deltas, 250 ms apart: each turn runs about 3 s, time enough to see the shutdown refuse new work.
    up.queue(
      ...Array.from({ length: 11 }, () => ({ text: 'one two three four five six seven eight nine ten eleven twelve', delayMs: 250 })),
    )
    const gw = await gateway(join(home, 'drain.db'))
    const streams = Array.from({ length: 10 }, (_, i) => streamTurn(gw.url, { input: `streamed turn ${i}` }))
    const socket = await socketTurn(gw.url, 'a socket turn')
    // and a socket with no turn running: it is closed (1001) as soon as the shutdown begins
    const idle = await openSocket(gw.url)
    await Promise.all([...streams.map((s) => s.firstDelta), socket.firstDelta])

    process.kill(gw.pid, 'SIGTERM')
    // At once: not ready, and no new turns (HTTP or WebSocket), while the running ones go on.
    await eventually(async () => (await fetch(`${gw.url}/ready`)).status === 503, '/ready answers 503')
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as any
    expect(ready.status).toBe('shutting_down')
    const refused = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'too late' }),
    })
    expect(refused.status).toBe(503)
    expect(((await refused.json()) as any).error).toMatchObject({ type: 'server_error', code: 'shutting_down' })
    const lateSocket = await fetch(`${gw.url}/v1/responses`, {
      headers: {
        upgrade: 'websocket',
        connection: 'Upgrade',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'sec-websocket-version': '13',
      },
    })
    expect(lateSocket.status).toBe(503)
    expect((await idle.closed).code).toBe(1001)

    const results = await Promise.all(streams.map((s) => s.events))
    for (const events of results) {
      expect(events.at(-1).type).toBe('response.completed')
      expect(events.at(-1).response.output[0].content[0].text).toBe('one two three four five six seven eight nine ten eleven twelve')
    }
    const ws = await socket.done
    expect(ws.frames.at(-1).type).toBe('response.completed')
    expect(ws.code).toBe(1001)

    expect(await Promise.race([gw.exited, Bun.sleep(20_000).then(() => 'still running')])).toBe(0)
    const done = logLines(gw).filter((l) => l.msg === 'shut down')
    expect(done).toHaveLength(1)
    expect(done[0]).toMatchObject({ signal: 'SIGTERM', turns_finished: 11, turns_failed_at_deadline: 0, websockets_closed: 2 })
  }, 40_000)

  test('a turn still running at the deadline ends with response.failed and is stored as failed; so do background and WebSocket turns', async () => {
    const stall = { fault: 'stall' as const, afterEvents: 6, stallMs: 30_000 }
    up.queue(stall, stall, stall, stall)
    const db = join(home, 'deadline.db')
    const gw = await gateway(db, '--shutdown-grace-ms', '300')
    const before = up.requestsTo('/v1/responses').length
    const stream = streamTurn(gw.url, { input: 'this one stalls' })
    const socket = await socketTurn(gw.url, 'so does this one')
    const bg = (await (
      await fetch(`${gw.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'and this', background: true }),
      })
    ).json()) as any
    expect(bg.status).toBe('queued')
    const json = fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'a JSON turn' }),
    })
    await Promise.all([stream.firstDelta, socket.firstDelta])
    await eventually(async () => up.requestsTo('/v1/responses').length >= before + 4, 'the four turns reached the upstream')

    process.kill(gw.pid, 'SIGTERM')
    const events = await stream.events
    const terminal = events.at(-1)
    expect(terminal.type).toBe('response.failed')
    expect(terminal.response.error.message).toContain('shut down')
    const ws = await socket.done
    expect(ws.frames.at(-1).type).toBe('response.failed')
    expect(ws.code).toBe(1001)
    expect(await Promise.race([gw.exited, Bun.sleep(20_000).then(() => 'still running')])).toBe(0)
    expect(logLines(gw).find((l) => l.msg === 'shut down')).toMatchObject({ turns_finished: 0, turns_failed_at_deadline: 4 })
    // The JSON client: 503 in the error shape, the gateway's doing rather than the upstream's.
    const answer = await json
    expect(answer.status).toBe(503)
    expect(((await answer.json()) as any).error).toMatchObject({ type: 'server_error', code: 'shutting_down' })

    const store = await openStore({ db, databaseUrl: null })
    try {
      for (const id of [terminal.response.id, ws.frames.at(-1).response.id, bg.id]) {
        const rec = await store.getResponse('default', id)
        expect({ id, status: rec?.status }).toEqual({ id, status: 'failed' })
      }
    } finally {
      await store.close()
    }
  }, 40_000)

  test('a second signal exits at once, without waiting for the running turn', async () => {
    up.queue({ fault: 'stall', afterEvents: 6, stallMs: 30_000 })
    const gw = await gateway(join(home, 'twice.db'))
    const stream = streamTurn(gw.url, { input: 'stalls for 30 s' })
    // Its connection is cut when the process exits: that is what a second signal means.
    const ended = stream.events.then(
      () => 'ended',
      () => 'cut',
    )
    await stream.firstDelta
    process.kill(gw.pid, 'SIGTERM')
    await eventually(async () => (await fetch(`${gw.url}/ready`)).status === 503, '/ready answers 503')
    process.kill(gw.pid, 'SIGTERM')
    // The grace period is 25 s and the upstream stalls for 30 s: only the second signal can end it this soon.
    expect(await Promise.race([gw.exited, Bun.sleep(10_000).then(() => 'still running')])).toBe(143)
    expect(await ended).toBe('cut')
    expect(gw.stderr()).toContain('exiting without waiting for running turns')
  }, 30_000)
})
