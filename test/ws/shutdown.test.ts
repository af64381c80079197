// A WebSocket session when the gateway shuts down (engine/drain.ts), in process: the running turn finishes, the
// requests queued behind it and any sent later get a 503 `shutting_down` error frame, then the socket closes 1001;
// and a turn still running at the deadline ends with response.failed, stored as failed.
import { afterEach, expect, test } from 'bun:test'
import { Drain } from '../../src/engine/drain'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { openSocket } from '../support/ws-client'

let up: FakeUpstream | null = null
let gw: TestGateway | null = null
afterEach(async () => {
  await gw?.stop()
  await up?.stop()
  gw = up = null
})

test('the running turn finishes, queued and later requests are refused with 503 shutting_down, then the socket closes 1001', async () => {
  up = startFakeUpstream()
  const drain = new Drain()
  gw = await startGateway({ upstream: up.url, drain })
  up.queue({ text: 'a b c d e f g h', delayMs: 50 })
  const s = await openSocket(gw.url)
  const create = (input: string) => s.create({ input })
  create('running')
  create('queued one')
  create('queued two')
  await s.next((f) => f.type === 'response.output_text.delta', 10_000, 'the first delta')

  drain.begin()
  expect((await fetch(`${gw.url}/ready`)).status).toBe(503)
  expect((await s.closed).code).toBe(1001)
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
  s.create({ input: 'stalls' })
  await s.next((f) => f.type === 'response.output_text.delta', 10_000, 'the first delta')
  expect(drain.active()).toBe(1)

  const summary = await drain.drain(100)
  expect(summary).toMatchObject({ running: 1, finished: 0, stopped: 1, unfinished: 0 })
  expect((await s.closed).code).toBe(1001)
  const failed = s.frames.find((f) => f.type === 'response.failed')
  expect(failed.response.error.message).toContain('shut down')
  expect((await gw.store.getResponse('default', failed.response.id))?.status).toBe('failed')
  expect(drain.active()).toBe(0)
})
