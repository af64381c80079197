// WebSocket mode of /v1/responses: frames in, the same events as SSE out, FIFO pipelining,
// forced storage, error frames that keep the socket usable, disconnects and backpressure.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import OpenAI from 'openai'
import { ResponsesWS } from 'openai/resources/responses/ws'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { waitFor } from '../support/wait'
import { openSocket } from '../support/ws-client'

let up: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  up = startFakeUpstream()
  // The backpressure test's answer is 12 MiB of text (24 MiB as a Response with output_text): over the default
  // --max-stored-response-bytes, which would end it incomplete (test/limits covers that).
  gw = await startGateway({
    upstream: up.url,
    env: { AGENTGATE_MAX_WS_QUEUE: '3', AGENTGATE_MAX_STORED_RESPONSE_BYTES: String(64 * 1024 * 1024) },
  })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

const create = (extra: Record<string, unknown>) => ({ type: 'response.create', model: 'test-model', ...extra })
const userMsg = (text: string) => [{ type: 'message', role: 'user', content: [{ type: 'input_text', text }] }]
const terminal = (f: any) => ['response.completed', 'response.failed', 'response.incomplete'].includes(f.type)

describe('WebSocket /v1/responses', () => {
  test('Codex flow: prewarm (generate:false) then turns chained by previous_response_id, all stored', async () => {
    const s = await openSocket(gw.url)
    const base = [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are a coding agent.' }] }]
    s.send(create({ generate: false, store: false, stream: true, input: base }))
    const prewarm = await s.next((f) => f.type === 'response.completed')
    expect(s.frames.map((f) => f.type)).toEqual(['response.created', 'response.completed'])
    expect(prewarm.response.output).toEqual([])
    const upstreamCalls = up.requestsTo('/v1/responses').length

    s.send(create({ store: false, stream: true, previous_response_id: prewarm.response.id, input: userMsg('run echo') }))
    const t1 = await s.next((f) => f.type === 'response.completed' && f.response.id !== prewarm.response.id)
    expect(up.requestsTo('/v1/responses').length).toBe(upstreamCalls + 1)
    const sent = up.requestsTo('/v1/responses').at(-1)!.body.input
    expect(sent.map((i: any) => i.content[0].text)).toEqual(['You are a coding agent.', 'run echo'])

    // store:false from the client, stored anyway on this path: both responses retrievable over HTTP.
    for (const id of [prewarm.response.id, t1.response.id]) {
      const r = await fetch(`${gw.baseURL}/responses/${id}`)
      expect(r.status).toBe(200)
    }
    expect(t1.response.store).toBe(true)
    s.ws.close()
  })

  test("a chain of turns on one socket takes each turn's history from the socket, not from the store; the model still sees all of it", async () => {
    const loadChains = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text()
      return Number(/^agentgate_store_query_duration_seconds_count\{operation="loadChain"\} (\d+)$/m.exec(text)?.[1] ?? 0)
    }
    const s = await openSocket(gw.url)
    up.queue({ text: 'a1' }, { text: 'a2' }, { text: 'a3' })
    s.send(create({ input: userMsg('one') }))
    let last = await s.terminal(1)
    const before = await loadChains()
    for (const [i, text] of ['two', 'three'].entries()) {
      s.send(create({ previous_response_id: last.response.id, input: userMsg(text) }))
      last = await s.terminal(i + 2)
      expect(last.type).toBe('response.completed')
    }
    expect(await loadChains()).toBe(before)
    const sent = up.requestsTo('/v1/responses').at(-1)!.body.input
    expect(sent.map((i: any) => i.content[0].text)).toEqual(['one', 'a1', 'two', 'a2', 'three'])
    // stored as always: the chain reads back over HTTP too
    expect(((await (await fetch(`${gw.baseURL}/responses/${last.response.id}`)).json()) as any).output_text).toBe('a3')
    s.ws.close()
  })

  test('a response.create sent while a turn streams is queued and run after it, in order', async () => {
    const s = await openSocket(gw.url)
    up.queue({ text: 'first answer with several words', delayMs: 15 }, { text: 'second answer' }, { text: 'third answer' })
    s.send(create({ input: userMsg('one') }))
    s.send(create({ input: userMsg('two') }))
    s.send(create({ input: userMsg('three') }))
    await s.next((f) => f.type === 'response.completed' && f.response.output_text === 'third answer')
    const lifecycle = s.frames
      .filter((f) => f.type === 'response.created' || terminal(f))
      .map((f) => `${f.type}:${f.response.output_text || ''}`)
    expect(lifecycle).toEqual([
      'response.created:',
      'response.completed:first answer with several words',
      'response.created:',
      'response.completed:second answer',
      'response.created:',
      'response.completed:third answer',
    ])
    // Events of one turn never interleave with another's; sequence numbers restart per response.
    const ids = s.frames.filter((f) => f.response).map((f) => f.response.id)
    expect(new Set(ids).size).toBe(3)
    expect(s.frames.filter((f) => f.type === 'error')).toEqual([])
    // Each sequence is complete and numbered from 0 without gaps, and each response is stored.
    for (const id of new Set(ids)) {
      const start = s.frames.findIndex((f) => f.type === 'response.created' && f.response.id === id)
      const end = s.frames.findIndex((f) => terminal(f) && f.response.id === id)
      expect(s.frames.slice(start, end + 1).map((f) => f.sequence_number)).toEqual(Array.from({ length: end - start + 1 }, (_, i) => i))
      expect((await gw.store.getResponse('default', id))?.status).toBe('completed')
    }
    s.ws.close()
  })

  test('a response.create chained onto the turn still streaming on the same socket waits for it and sees its answer', async () => {
    const s = await openSocket(gw.url)
    const seen: any[] = []
    up.queue({ text: 'first answer with several words', delayMs: 15 }, (req) => {
      seen.push(req.body.input)
      return { text: 'second answer' }
    })
    s.send(create({ input: userMsg('one') }))
    const first = await s.next((f) => f.type === 'response.created')
    // Pipelined: sent while the first turn streams, chained onto it, as Codex may do.
    s.send(create({ previous_response_id: first.response.id, input: userMsg('two') }))
    const second = await s.next((f) => f.type === 'response.completed' && f.response.output_text === 'second answer')
    expect(second.response.previous_response_id).toBe(first.response.id)
    expect(s.frames.filter((f) => f.type === 'error')).toEqual([])
    expect(seen[0].map((i: any) => `${i.role}: ${i.content[0].text}`)).toEqual([
      'user: one',
      'assistant: first answer with several words',
      'user: two',
    ])
    s.ws.close()
  })

  test('a response.create chained onto a background response that is still running gets a 400 error frame naming previous_response_id', async () => {
    up.queue({ fault: 'slow', delayMs: 800 })
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'slowly', background: true }),
    })
    const bg = (await res.json()) as any
    const s = await openSocket(gw.url)
    s.send(create({ previous_response_id: bg.id, input: userMsg('next') }))
    const err = await s.next((f) => f.type === 'error')
    expect(err).toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_in_progress' },
    })
    expect(err.error.message).toContain('still running')
    // Nothing was started for the refused frame: the socket goes on with the next one.
    s.send(create({ input: userMsg('still there?') }))
    expect((await s.next((f) => f.type === 'response.completed')).response.status).toBe('completed')
    s.ws.close()
    await fetch(`${gw.baseURL}/responses/${bg.id}/cancel`, { method: 'POST' })
  })

  test.each([
    ['not JSON', 'hello there', 'invalid_json', 400],
    ['unknown type', { type: 'response.cancel' }, 'unknown_frame_type', 400],
    ['a JSON array', [1, 2], 'invalid_frame', 400],
    ['missing model', { type: 'response.create', input: 'x' }, 'invalid_value', 400],
    ['bad temperature', { type: 'response.create', model: 'm', input: 'x', temperature: 9 }, 'invalid_value', 400],
    [
      'unknown previous_response_id',
      { type: 'response.create', model: 'm', input: 'x', previous_response_id: 'resp_nope' },
      'previous_response_not_found',
      404,
    ],
  ])('%s → error frame with status and code, and the socket stays usable', async (_name, frame, code, status) => {
    const s = await openSocket(gw.url)
    s.send(frame)
    const err = await s.next((f) => f.type === 'error')
    expect(err).toMatchObject({ type: 'error', status, error: { code, type: expect.any(String), message: expect.any(String) } })
    expect(err.error).toHaveProperty('param')
    s.send(create({ input: userMsg('still there?') }))
    expect((await s.next((f) => f.type === 'response.completed')).response.status).toBe('completed')
    s.ws.close()
  })

  test.each([
    ['an unknown reasoning effort', { reasoning: { effort: 'ultra' } }, 'reasoning.effort'],
    ['an input item of an unknown type', { input: [{ type: 'bogus' }] }, 'input.0.type'],
    ['a function_call_output without call_id', { input: [{ type: 'function_call_output', output: 'x' }] }, 'input.0.call_id'],
    ['an unknown include', { input: 'x', include: ['bogus'] }, 'include.0'],
    ['a tool of an unknown type', { input: 'x', tools: [{ type: 'unknown_type' }] }, 'tools.0.type'],
  ])('%s in response.create → 400 error frame naming the field, no model call', async (_name, extra, param) => {
    const s = await openSocket(gw.url)
    const before = up.requestsTo('/v1/responses').length
    s.send(create(extra))
    const err = await s.next((f) => f.type === 'error')
    expect(err).toMatchObject({ status: 400, error: { type: 'invalid_request_error', param } })
    expect(up.requestsTo('/v1/responses').length).toBe(before)
    s.ws.close()
  })

  test('a binary frame gets an error frame', async () => {
    const s = await openSocket(gw.url)
    s.ws.send(new Uint8Array([1, 2, 3]))
    expect((await s.next((f) => f.type === 'error')).error.code).toBe('invalid_frame')
    s.ws.close()
  })

  test('past the queue limit a request gets a 429 error frame; queued ones still run', async () => {
    const s = await openSocket(gw.url)
    up.queue({ text: 'slow one two three four five six', delayMs: 20 })
    for (let i = 0; i < 5; i++) s.send(create({ input: userMsg(`q${i}`) }))
    const err = await s.next((f) => f.type === 'error')
    expect(err).toMatchObject({ status: 429, error: { code: 'too_many_queued_requests' } })
    // 1 running + 3 queued (limit 3) complete; the 5th was refused.
    await s.next((f) => f.type === 'response.completed' && s.frames.filter((x) => x.type === 'response.completed').length === 4)
    await Bun.sleep(100)
    expect(s.frames.filter((f) => f.type === 'response.completed')).toHaveLength(4)
    s.ws.close()
  })

  /** A turn sent with `store`, streaming slowly enough to look at the store meanwhile: at its first delta. */
  const streamingTurn = async (store: boolean) => {
    const s = await openSocket(gw.url)
    up.queue({ text: 'an answer streamed slowly enough to look at the store meanwhile', delayMs: 20 })
    s.send(create({ store, input: userMsg('one') }))
    const created = await s.next((f) => f.type === 'response.created')
    await s.next((f) => f.type === 'response.output_text.delta')
    return { s, created }
  }

  test('a store:false turn, kept only because the socket keeps every turn, is stored in one write at its end: unknown while it streams, then whole, its log replaying what the socket sent', async () => {
    const { s, created } = await streamingTurn(false)
    const id = created.response.id
    // nobody was promised a view of it: no row, no log yet
    expect((await fetch(`${gw.baseURL}/responses/${id}`)).status).toBe(404)
    expect(await gw.store.getResponse('default', id)).toBeNull()
    expect(await gw.store.hasEvents(id)).toBe(false)
    const done = await s.next((f) => f.type === 'response.completed')
    // stored before the client saw response.completed: a chained request right after it resolves
    const stored = (await (await fetch(`${gw.baseURL}/responses/${id}`)).json()) as any
    expect(stored).toEqual(done.response)
    const sent = s.texts.slice(s.frames.indexOf(created), s.frames.indexOf(done) + 1)
    const replay = await (await fetch(`${gw.baseURL}/responses/${id}?stream=true`)).text()
    const data = replay
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
    expect(data).toEqual(sent)
    s.ws.close()
  })

  test('a turn that asks to be stored is there from its start, as over HTTP', async () => {
    const { s, created } = await streamingTurn(true)
    const running = (await (await fetch(`${gw.baseURL}/responses/${created.response.id}`)).json()) as any
    expect(running.status).toBe('in_progress')
    await s.next((f) => f.type === 'response.completed')
    s.ws.close()
  })

  test('a socket that vanishes mid-turn cancels the upstream and stores the turn as incomplete', async () => {
    const s = await openSocket(gw.url)
    up.queue({ text: 'a long and slow answer that will be cut off before it ends', delayMs: 40 })
    s.send(create({ input: userMsg('slow please') }))
    const created = await s.next((f) => f.type === 'response.created')
    await s.next((f) => f.type === 'response.output_text.delta')
    s.ws.close()
    const status = await waitFor('the response to leave in_progress', async () => {
      const r = (await (await fetch(`${gw.baseURL}/responses/${created.response.id}`)).json()) as any
      return r.status !== 'in_progress' && r.status
    })
    expect(status).toBe('incomplete')
  })

  test('an oversized frame closes the socket with 1009', async () => {
    const g = await startGateway({ upstream: up.url, env: { AGENTGATE_MAX_WS_FRAME_BYTES: '2048' } })
    try {
      const s = await openSocket(g.url)
      s.send(create({ input: 'x'.repeat(4096) }))
      expect((await s.closed).code).toBe(1009)
    } finally {
      await g.stop()
    }
  })

  test('the openai SDK WebSocket client runs a turn and a chained turn', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
    const rws = new ResponsesWS(client)
    const seen: any[] = []
    const done = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (seen.filter((e) => e.type === 'response.completed').length >= n ? resolve() : setTimeout(check, 10))
        check()
      })
    rws.on('event', (e: any) => seen.push(e))
    up.queue({ text: 'sdk one' }, { text: 'sdk two' })
    rws.send({ type: 'response.create', model: 'test-model', input: 'first' } as any)
    await done(1)
    const first = seen.find((e) => e.type === 'response.completed').response
    rws.send({ type: 'response.create', model: 'test-model', input: 'second', previous_response_id: first.id } as any)
    await done(2)
    const second = seen.filter((e) => e.type === 'response.completed')[1].response
    expect([first.output_text, second.output_text]).toEqual(['sdk one', 'sdk two'])
    expect(second.previous_response_id).toBe(first.id)
    rws.close()
  })
})

describe('backpressure', () => {
  test('a reader that stops reading pauses the turn instead of growing a buffer; it finishes once read', async () => {
    // 12 MiB of deltas (and the full text again in the done events): far more than the 4 MiB
    // backpressure limit plus socket buffers, yet each upstream line stays under the 16 MiB SSE line limit.
    const chunk = 'y'.repeat(16 * 1024)
    up.queue({ text: chunk.repeat(768), chunks: 768 })
    const sock = connect(gw.app.server!.port!, '127.0.0.1')
    await new Promise((r) => sock.once('connect', r))
    sock.write(
      `GET /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    )
    await new Promise((r) => sock.once('data', r))
    // One masked text frame.
    const payload = Buffer.from(JSON.stringify(create({ input: userMsg('flood me') })))
    const mask = Buffer.from([1, 2, 3, 4])
    const header =
      payload.length < 126
        ? Buffer.from([0x81, 0x80 | payload.length])
        : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255])
    sock.write(Buffer.concat([header, mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))]))
    // Read just until the response id shows, then stop reading.
    let head = ''
    while (!/resp_[0-9a-f]{32}/.test(head)) head += ((await new Promise((r) => sock.once('data', r))) as Buffer).toString('latin1')
    sock.pause()
    const id = head.match(/resp_[0-9a-f]{32}/)![0]
    const status = async () => (await gw.store.getResponse('default', id))?.status
    // While nobody reads, the turn stays in progress: the gateway waits for drain instead of buffering.
    await Bun.sleep(1500)
    expect(await status()).toBe('in_progress')
    let received = head.length
    sock.on('data', (d: Buffer) => (received += d.length))
    sock.resume()
    const until = Date.now() + 20_000
    while ((await status()) === 'in_progress' && Date.now() < until) await Bun.sleep(50)
    expect(await status()).toBe('completed')
    while (received < 48 * 1024 * 1024 && Date.now() < until) await Bun.sleep(50)
    expect(received).toBeGreaterThan(48 * 1024 * 1024)
    sock.destroy()
  }, 30_000)
})
