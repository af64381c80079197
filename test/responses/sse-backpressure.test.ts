// A streamed turn whose client does not keep up: the SSE writer pushes back on the turn (the model's events are written
// from inside the upstream adapter's loop, engine/turn-types.ts BatchSink, and the next upstream read waits for the
// socket to drain), and the client still gets every event once, in order, after the ones the turn yielded itself.
import { expect, test } from 'bun:test'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { sseEvents } from '../support/sse'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
useGateway({}, (s) => ({ up, gw } = s))

test('a client that stops reading gets every event of a long stream once, in order, and the turn completes', async () => {
  // ~3 MB of text in 1,500 deltas, one upstream write each: far more than the sockets between gateway and client hold
  const text = Array.from({ length: 1_500 }, (_, i) => `${String(i).padStart(5, '0')}${'x'.repeat(2_000)}`).join('')
  up.queue({ text, chunks: 1_500 })
  const res = await fetch(`${gw.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'test-model', input: 'a long answer', stream: true }),
  })
  expect(res.status).toBe(200)
  // not read for a while: the gateway's writes fill the socket and wait for it
  await Bun.sleep(300)
  const stream = sseEvents(res)
  await stream.until(() => false)
  const events = stream.events
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
  expect(events[0].type).toBe('response.created')
  expect(events.at(-1).response?.incomplete_details ?? null).toBeNull()
  expect(events.at(-1).type).toBe('response.completed')
  const deltas = events.filter((e) => e.type === 'response.output_text.delta')
  expect(deltas.length).toBe(1_500)
  expect(deltas.map((d) => d.delta).join('')).toBe(text)
  const id = events[0].response.id
  const stored = await gw.store.listEvents(id, -1)
  expect(stored.length).toBe(events.length)
  expect(stored.map((e) => e.sequence_number)).toEqual(events.map((e) => e.sequence_number))
})
