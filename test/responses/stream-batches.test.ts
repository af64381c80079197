// Streams the upstream sends faster than the gateway reads: many events arrive in one chunk and travel through the
// engine as one batch (upstream adapters → engine → SSE writer / WebSocket). Whatever the batching, every event
// reaches the client once, in order and numbered without gaps; the stored log replays exactly what was sent; an event
// that cannot be read still leaves the ones before it. For both upstream APIs, and the Messages API on the same engine.
import { describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type OpenAI from 'openai'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { collect, parseSse } from '../support/sse'
import { useGateway } from '../support/suite'
import { UPSTREAM_APIS } from '../support/upstream-view'
import { openSocket } from '../support/ws-client'

/** 1,000 words: the fake upstream sends one delta per word. */
const WORDS = Array.from({ length: 1000 }, (_, i) => `w${i}${i % 7 === 0 ? ' "é\\\n😀' : ''}`)
const TEXT = WORDS.join(' ')

const seqs = (events: { sequence_number: number }[]) => events.map((e) => e.sequence_number)
const range = (n: number) => Array.from({ length: n }, (_, i) => i)

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}: a stream sent in one write`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: OpenAI
    useGateway({ gateway: { logLevel: 'warn', env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, gw, client } = s))

    const post = (body: unknown) =>
      fetch(`${gw.baseURL}/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

    test('1,000 deltas reach the client whole, in order, numbered without gaps; the stored log replays them exactly', async () => {
      up.queue({ text: TEXT, oneWrite: true })
      const events = parseSse(await (await post({ model: 'test-model', input: 'burst', stream: true })).text())
      expect(seqs(events)).toEqual(range(events.length))
      const deltas = events.filter((e) => e.type === 'response.output_text.delta')
      expect(deltas.length).toBeGreaterThanOrEqual(1000)
      expect(deltas.map((e) => e.delta).join('')).toBe(TEXT)
      const last = events.at(-1)
      expect(last.type).toBe('response.completed')
      expect(last.response.output[0].content[0].text).toBe(TEXT)
      // every delta of one item carries the item's id and index, as the item's announcement said
      const added = events.find((e) => e.type === 'response.output_item.added')
      for (const d of deltas) expect([d.item_id, d.output_index]).toEqual([added.item.id, added.output_index])

      const id = last.response.id
      expect(await gw.store.listEvents(id, -1)).toEqual(events)
      const from = deltas[500].sequence_number
      const replay = await collect(await client.responses.retrieve(id, { stream: true, starting_after: from }))
      expect(replay).toEqual(events.slice(from + 1))
    })

    test('every SSE frame is `event: <type>` and the JSON of the whole event, byte for byte', async () => {
      up.queue({ text: TEXT, oneWrite: true })
      const text = await (await post({ model: 'test-model', input: 'burst', stream: true })).text()
      const frames = text.split('\n\n')
      expect(frames.pop()).toBe('')
      expect(frames.length).toBeGreaterThan(1000)
      for (const frame of frames) {
        const [event, data, ...rest] = frame.split('\n')
        const e = JSON.parse(data!.slice('data: '.length))
        expect([event, data, rest]).toEqual([`event: ${e.type}`, `data: ${JSON.stringify(e)}`, []])
      }
    })

    test('store:false streams the same events and keeps nothing', async () => {
      up.queue({ text: TEXT, oneWrite: true })
      const events = parseSse(await (await post({ model: 'test-model', input: 'burst', stream: true, store: false })).text())
      expect(seqs(events)).toEqual(range(events.length))
      expect(
        events
          .filter((e) => e.type === 'response.output_text.delta')
          .map((e) => e.delta)
          .join(''),
      ).toBe(TEXT)
      expect(events.at(-1).type).toBe('response.completed')
      expect((await fetch(`${gw.baseURL}/responses/${events[0].response.id}`)).status).toBe(404)
    })

    test('over the WebSocket each event of a batch is its own message, in order', async () => {
      up.queue({ text: TEXT, oneWrite: true })
      const s = await openSocket(gw.url)
      s.send({ type: 'response.create', model: 'test-model', input: 'burst over the socket' })
      const done = await s.next((f) => f.type === 'response.completed')
      expect(seqs(s.frames)).toEqual(range(s.frames.length))
      expect(
        s.frames
          .filter((f) => f.type === 'response.output_text.delta')
          .map((f) => f.delta)
          .join(''),
      ).toBe(TEXT)
      expect(done.response.output[0].content[0].text).toBe(TEXT)
      // each message is the JSON of the whole event, byte for byte
      expect(s.texts).toEqual(s.frames.map((f) => JSON.stringify(f)))
      s.ws.close()
    })

    test('the Messages API streams the same burst as content_block_delta events, in order', async () => {
      up.queue({ text: TEXT, oneWrite: true })
      const anthropic = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 })
      const stream = anthropic.messages.stream({ model: 'test-model', max_tokens: 5000, messages: [{ role: 'user', content: 'burst' }] })
      let text = ''
      for await (const e of stream) if (e.type === 'content_block_delta' && e.delta.type === 'text_delta') text += e.delta.text
      expect(text).toBe(TEXT)
      const final = await stream.finalMessage()
      expect(final.content).toMatchObject([{ type: 'text', text: TEXT }])
    })
  })
}

describe('an event that cannot be read, in the middle of a chunk', () => {
  let up: FakeUpstream
  let gw: TestGateway
  useGateway({ gateway: { logLevel: 'error' } }, (s) => ({ up, gw } = s))

  test('the events before it still reach the client and the stored response; the turn then fails', async () => {
    // the fake's script for faults: its first events (created, in_progress, the item, the part) and 3 deltas, then
    // a broken data line — all in one write
    up.queue({ fault: 'malformed', afterEvents: 7, oneWrite: true })
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'broken', stream: true }),
    })
    const events = parseSse(await res.text())
    expect(seqs(events)).toEqual(range(events.length))
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta)
    expect(deltas.length).toBe(3)
    const last = events.at(-1)
    expect(last.type).toBe('response.failed')
    expect(last.response.error.code).toBe('upstream_bad_response')
    // what streamed is kept with the failed response
    const stored: any = await (await fetch(`${gw.baseURL}/responses/${last.response.id}`)).json()
    expect(stored.status).toBe('failed')
    expect(stored.output[0].content[0].text).toBe(deltas.join(''))
  })
})
