// A WebSocket session when the gateway shuts down (engine/drain.ts), in process: the running turn finishes, the
// requests queued behind it and any sent later get a 503 `shutting_down` error frame, then the socket closes 1001;
// and a turn still running at the deadline ends with response.failed, stored as failed.
import { afterEach, expect, test } from 'bun:test'
import { Drain } from '../../src/engine/drain'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

let up: FakeUpstream | null = null
let gw: TestGateway | null = null
afterEach(async () => {
  await gw?.stop()
  await up?.stop()
  gw = up = null
})

async function openSocket(url: string) {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/responses')
  const frames: any[] = []
  let onFrame: () => void = () => {}
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)))
    onFrame()
  }
  const closed = new Promise<number>((resolve) => (ws.onclose = (e) => resolve(e.code)))
  await new Promise((resolve, reject) => {
    ws.onopen = resolve
    ws.onerror = reject
  })
  /** resolves once a frame matching `pred` has arrived (bounded) */
  const until = (pred: (f: any) => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no frame: ${what}; got ${frames.map((f) => f.type).join(', ')}`)), 10_000)
      const check = () => {
        if (frames.some(pred)) {
          clearTimeout(timer)
          resolve()
        }
      }
      onFrame = check
      check()
    })
  return { ws, frames, closed, until }
}

test('the running turn finishes, queued and later requests are refused with 503 shutting_down, then the socket closes 1001', async () => {
  up = startFakeUpstream()
  const drain = new Drain()
  gw = await startGateway({ upstream: up.url, drain })
  up.queue({ text: 'a b c d e f g h', delayMs: 50 })
  const s = await openSocket(gw.url)
  const create = (input: string) => s.ws.send(JSON.stringify({ type: 'response.create', model: 'test-model', input }))
  create('running')
  create('queued one')
  create('queued two')
  await s.until((f) => f.type === 'response.output_text.delta', 'the first delta')

  drain.begin()
  expect((await fetch(`${gw.url}/ready`)).status).toBe(503)
  expect(await s.closed).toBe(1001)
  const errors = s.frames.filter((f) => f.type === 'error')
  expect(errors).toHaveLength(2)
  for (const e of errors) expect(e).toMatchObject({ status: 503, error: { type: 'server_error', code: 'shutting_down' } })
  const completed = s.frames.filter((f) => f.type === 'response.completed')
  expect(completed).toHaveLength(1)
  expect(completed[0].response.output[0].content[0].text).toBe('a b c d e f g h')
  // exactly one turn reached the upstream
  expect(up.requestsTo('/v1/responses')).toHaveLength(1)
})

test('at the deadline a running socket turn ends with response.failed, stored as failed, and the drain says so', async () => {
  up = startFakeUpstream()
  const drain = new Drain()
  gw = await startGateway({ upstream: up.url, drain })
  up.queue({ fault: 'stall', afterEvents: 6, stallMs: 30_000 })
  const s = await openSocket(gw.url)
  s.ws.send(JSON.stringify({ type: 'response.create', model: 'test-model', input: 'stalls' }))
  await s.until((f) => f.type === 'response.output_text.delta', 'the first delta')
  expect(drain.active()).toBe(1)

  const summary = await drain.drain(100)
  expect(summary).toMatchObject({ running: 1, finished: 0, stopped: 1, unfinished: 0 })
  expect(await s.closed).toBe(1001)
  const failed = s.frames.find((f) => f.type === 'response.failed')
  expect(failed.response.error.message).toContain('shut down')
  expect((await gw.store.getResponse('default', failed.response.id))?.status).toBe('failed')
  expect(drain.active()).toBe(0)
})
