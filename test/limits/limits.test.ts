// Every limit, hit on purpose through the real HTTP/WebSocket surface: the client gets a clear error (or a clearly
// marked result), and the store is consistent afterwards (test/limits/store-sanity.ts) — nothing half-written, no
// turn left running, no conversation left locked.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { readAnswer } from '../support/answer'
import { parseSse } from '../support/sse'
import { openSocket } from '../support/ws-client'
import { expectStoreSane, storedResponses } from './store-sanity'

let up: FakeUpstream
const gateways: TestGateway[] = []

beforeAll(() => {
  up = startFakeUpstream()
})
afterAll(async () => {
  for (const g of gateways) await g.stop()
  await up.stop()
})

async function gateway(env: Record<string, string>): Promise<{ gw: TestGateway; client: OpenAI }> {
  const gw = await startGateway({ upstream: up.url, env, logLevel: 'warn' })
  gateways.push(gw)
  return { gw, client: new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }) }
}

async function post(gw: TestGateway, path: string, body: unknown, init: RequestInit = {}) {
  const r = await fetch(gw.baseURL + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  })
  return readAnswer(r)
}

describe('request body (--max-body-bytes) → 413', () => {
  test('with a content-length or chunked: 413 request_too_large, no model call, nothing stored', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_BODY_BYTES: '2048' })
    const calls = up.requests.length
    const big = JSON.stringify({ model: 'test-model', input: 'x'.repeat(4096) })
    const r = await post(gw, '/responses', big)
    expect(r.status).toBe(413)
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' })
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode(i === 0 ? big.slice(0, 1024) : 'x'.repeat(1024)))
        c.close()
      },
    })
    const r2 = await post(gw, '/responses', '', { body: chunked, duplex: 'half' } as RequestInit)
    expect(r2.status).toBe(413)
    expect(r2.json.error.code).toBe('request_too_large')
    expect(up.requests.length).toBe(calls)
    expect(await expectStoreSane(gw.config)).toEqual([])
  })
})

describe('WebSocket frame (--max-ws-frame-bytes)', () => {
  test('an oversized frame closes the socket with 1009 and stores nothing', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_WS_FRAME_BYTES: '2048' })
    const s = await openSocket(gw.url)
    s.create({ input: 'x'.repeat(4096) })
    expect((await s.closed).code).toBe(1009)
    expect(await expectStoreSane(gw.config)).toEqual([])
  })
})

describe('queued WebSocket requests (--max-ws-queue)', () => {
  test('past the queue a 429 error frame; the queued ones still run; exactly those are stored', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_WS_QUEUE: '1' })
    const s = await openSocket(gw.url)
    up.queue({ text: 'first answer, slowly streamed', delayMs: 40 }, { text: 'second answer' })
    s.create({ input: 'one' })
    await s.next((f) => f.type === 'response.created')
    s.create({ input: 'two' }) // queued
    s.create({ input: 'three' }) // over the limit
    await s.until(() => s.frames.filter((f) => f.type === 'response.completed').length === 2, 'two completed turns')
    const errors = s.frames.filter((f) => f.type === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ status: 429, error: { type: 'rate_limit_error', code: 'too_many_queued_requests' } })
    s.ws.close()
    const rows = await expectStoreSane(gw.config)
    expect(rows.map((r) => r.status)).toEqual(['completed', 'completed'])
    expect(rows.map((r) => r.response.output_text)).toEqual(['first answer, slowly streamed', 'second answer'])
  })
})

describe('upstream SSE line (--max-sse-line-bytes)', () => {
  test('a longer line fails the turn with 502 upstream_line_too_long; the failed response is stored whole', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_SSE_LINE_BYTES: '1024' })
    up.queue({
      fault: 'raw',
      contentType: 'text/event-stream',
      body: `data: {"type":"response.output_text.delta","delta":"${'y'.repeat(4096)}`,
    })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'hi' }))
    expect(err.status).toBe(502)
    expect(err.code).toBe('upstream_line_too_long')
    const [row] = await expectStoreSane(gw.config)
    expect(row.status).toBe('failed')
    expect(row.response.error).toMatchObject({ code: 'upstream_line_too_long', message: expect.stringContaining('1024 bytes') })
  })
})

describe('upstream stream size (--max-stream-bytes)', () => {
  const LONG = 'word '.repeat(3000) // 15 KB of text, about 60 KB as vLLM streams it

  test('past the limit the turn fails with 502 upstream_stream_too_large (JSON); the failed response is consistent', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_STREAM_BYTES: '8192' })
    up.queue({ text: LONG, chunks: 100 })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'write a lot' }))
    expect(err.status).toBe(502)
    expect(err.code).toBe('upstream_stream_too_large')
    expect(err.message).toContain('8192 bytes')
    const [row] = await expectStoreSane(gw.config)
    expect(row.status).toBe('failed')
    expect(row.response.error.code).toBe('upstream_stream_too_large')
    expect(row.response.output_text.length).toBeLessThan(8192)
    // a short answer under the same limit is fine
    up.queue({ text: 'short' })
    expect((await client.responses.create({ model: 'test-model', input: 'briefly' })).status).toBe('completed')
  })

  test('a whole answer (a JSON turn) past the limit fails the same, whether its length is declared or not', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_STREAM_BYTES: '8192' })
    const answer = (text: string) =>
      JSON.stringify({
        object: 'response',
        status: 'completed',
        output: [{ id: 'm', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text }] }],
      })
    for (const chunked of [false, true]) {
      up.queue({ fault: 'raw', contentType: 'application/json', body: answer(LONG), chunked })
      const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'write a lot' }))
      expect({ chunked, status: err.status, code: err.code }).toEqual({ chunked, status: 502, code: 'upstream_stream_too_large' })
      up.queue({ fault: 'raw', contentType: 'application/json', body: answer('short'), chunked })
      expect((await client.responses.create({ model: 'test-model', input: 'briefly' })).output_text).toBe('short')
    }
    const rows = await expectStoreSane(gw.config)
    expect(rows.map((r) => r.status).sort()).toEqual(['completed', 'completed', 'failed', 'failed'])
  })

  test('streamed: the SSE stream ends with response.failed carrying the error, as stored', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_STREAM_BYTES: '8192' })
    up.queue({ text: LONG, chunks: 100 })
    const r = await post(gw, '/responses', { model: 'test-model', input: 'stream a lot', stream: true })
    expect(r.status).toBe(200)
    const events = parseSse(r.text)
    const last = events.at(-1)
    expect(last.type).toBe('response.failed')
    expect(last.response.error.code).toBe('upstream_stream_too_large')
    const [row] = await expectStoreSane(gw.config)
    expect(row.response).toEqual(last.response)
  })
})

describe('stored response size (--max-stored-response-bytes)', () => {
  const MAX = 4096
  const args = (n: number) => JSON.stringify({ path: `file-${n}.txt`, content: String(n).repeat(1200) })
  const script = { text: 'I will write three files.', functionCalls: [1, 2, 3].map((n) => ({ name: 'write_file', arguments: args(n) })) }

  test('a response over the limit is stored incomplete (max_stored_response_bytes) with the whole items that fit', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(MAX) })
    up.queue(script)
    const r = await client.responses.create({ model: 'test-model', input: 'write files' })
    expect(r.status).toBe('incomplete')
    // (our own reason: the SDK's type lists only OpenAI's)
    expect(r.incomplete_details as unknown).toEqual({ reason: 'max_stored_response_bytes' })
    expect(r.output.length).toBeGreaterThanOrEqual(1)
    expect(r.output.length).toBeLessThan(4)
    // a prefix of what the model produced, every item whole
    expect(r.output[0]).toMatchObject({ type: 'message', content: [{ text: 'I will write three files.' }] })
    for (const [i, item] of r.output.slice(1).entries())
      expect(item).toMatchObject({ type: 'function_call', name: 'write_file', arguments: args(i + 1) })
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(MAX)
    const [row] = await expectStoreSane(gw.config)
    expect(row.response).toEqual(JSON.parse(JSON.stringify(r)))
    expect(Buffer.byteLength(JSON.stringify(row.response))).toBeLessThanOrEqual(MAX)
    expect(gw.logs.some((l) => l.includes('max-stored-response-bytes'))).toBe(true)

    // chaining on it sends what was kept, nothing more
    up.queue({ text: 'next' })
    await client.responses.create({ model: 'test-model', input: 'go on', previous_response_id: r.id })
    const sent = up.requestsTo('/v1/responses').at(-1)!.body.input as any[]
    expect(sent.filter((i) => i.type === 'function_call')).toHaveLength(r.output.length - 1)
  })

  test('streamed: the terminal event is response.incomplete with exactly the stored object', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(MAX) })
    up.queue(script)
    const res = await post(gw, '/responses', { model: 'test-model', input: 'write files', stream: true })
    const last = parseSse(res.text).at(-1)
    expect(last.type).toBe('response.incomplete')
    expect(last.response.incomplete_details).toEqual({ reason: 'max_stored_response_bytes' })
    const [row] = await expectStoreSane(gw.config)
    expect(row.response).toEqual(last.response)
  })

  test('in a conversation the kept items, and only those, are appended', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(MAX) })
    const conv = await client.conversations.create({})
    up.queue(script)
    const r = await client.responses.create({ model: 'test-model', input: 'write files', conversation: conv.id })
    expect(r.status).toBe('incomplete')
    const items = (await client.conversations.items.list(conv.id, { order: 'asc', limit: 100 })).data
    expect(items).toHaveLength(1 + r.output.length)
    await expectStoreSane(gw.config)
  })

  test('a response under the limit is untouched', async () => {
    const { client } = await gateway({ AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(MAX) })
    up.queue({ text: 'small' })
    const r = await client.responses.create({ model: 'test-model', input: 'hi' })
    expect(r.status).toBe('completed')
    expect(r.incomplete_details).toBeNull()
  })

  test('store:false responses are not cut (nothing is stored)', async () => {
    const { client } = await gateway({ AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(MAX) })
    up.queue(script)
    const r = await client.responses.create({ model: 'test-model', input: 'write files', store: false })
    expect(r.status).toBe('completed')
    expect(r.output).toHaveLength(4)
  })
})

describe('history length (--max-history-items)', () => {
  const MAX = 4

  test('a previous_response_id chain over the limit is a 400 naming it, before any model call; nothing is stored', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_HISTORY_ITEMS: String(MAX) })
    // each turn adds 2 items (input + answer): histories of 0, 2, 4 items are fine, 6 is not
    let prev: string | undefined
    for (let i = 0; i < 3; i++)
      prev = (await client.responses.create({ model: 'test-model', input: `turn ${i}`, previous_response_id: prev })).id
    const calls = up.requestsTo('/v1/responses').length
    const before = (await storedResponses(gw.config)).length
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'one more', previous_response_id: prev }))
    expect(err.status).toBe(400)
    expect(err.error).toEqual({
      type: 'invalid_request_error',
      code: 'context_length_exceeded',
      param: 'previous_response_id',
      message: expect.stringContaining(`has 6 items, more than this gateway's limit of ${MAX} (--max-history-items)`),
    })
    expect(up.requestsTo('/v1/responses').length).toBe(calls)
    expect(await expectStoreSane(gw.config)).toHaveLength(before)
  })

  test('a conversation over the limit is a 400 naming it; nothing is stored and the conversation is not left locked', async () => {
    const { gw, client } = await gateway({ AGENTGATE_MAX_HISTORY_ITEMS: String(MAX) })
    const conv = await client.conversations.create({
      items: Array.from({ length: MAX + 1 }, (_, i) => ({ type: 'message' as const, role: 'user' as const, content: `note ${i}` })),
    })
    const calls = up.requestsTo('/v1/responses').length
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'continue', conversation: conv.id }))
    expect(err.status).toBe(400)
    expect(err.error).toMatchObject({
      code: 'context_length_exceeded',
      param: 'conversation',
      message: expect.stringContaining(`Conversation '${conv.id}' has ${MAX + 1} items`),
    })
    expect(up.requestsTo('/v1/responses').length).toBe(calls)
    expect(await expectStoreSane(gw.config)).toEqual([])
    // not locked: items can be added (and removed) at once, and the count is what it was plus that
    await client.conversations.items.create(conv.id, { items: [{ type: 'message', role: 'user', content: 'added after' }] })
    expect((await client.conversations.items.list(conv.id, { limit: 100 })).data).toHaveLength(MAX + 2)
  })

  test('over a WebSocket: an error frame, and the socket goes on', async () => {
    const { gw } = await gateway({ AGENTGATE_MAX_HISTORY_ITEMS: '1' })
    const s = await openSocket(gw.url)
    s.create({ input: 'first' })
    await s.next((f) => f.type === 'response.completed')
    const first = s.frames.find((f) => f.type === 'response.completed').response.id
    s.create({ input: 'second', previous_response_id: first })
    await s.next((f) => f.type === 'error')
    expect(s.frames.find((f) => f.type === 'error')).toMatchObject({
      status: 400,
      error: { code: 'context_length_exceeded', param: 'previous_response_id' },
    })
    s.create({ input: 'fresh start' })
    await s.until(() => s.frames.filter((f) => f.type === 'response.completed').length === 2, 'two completed turns')
    s.ws.close()
    expect(await expectStoreSane(gw.config)).toHaveLength(2)
  })
})
