// The /v1/messages edge beyond the model's answer: auth with x-api-key or Bearer and tenants, the error envelope
// for every status the gateway itself answers, storage of turns (and --store-messages false), pings during
// silence, count_tokens, model names and the Anthropic model list.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const MODEL = 'claude-sonnet-4-6'
const KEYS = 'alice:key-alice,bob:key-bob'

describe('with API keys', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let alice: Anthropic
  beforeAll(async () => {
    up = startFakeUpstream({ models: [{ id: 'served-a', max_model_len: 8192 }, { id: 'served-b' }] })
    gw = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: KEYS, AGENTGATE_MAX_BODY_BYTES: '4096' } })
    alice = new Anthropic({ baseURL: gw.url, apiKey: 'key-alice', maxRetries: 0 })
  })
  afterAll(async () => {
    await gw.stop()
    await up.stop()
  })
  const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': 'key-alice' }) =>
    fetch(gw.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })

  test('x-api-key and Authorization: Bearer both carry the key; the turn is stored under its tenant', async () => {
    up.queue({ text: 'hi' })
    const res = await alice.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'hello' }] }).withResponse()
    const id = res.response.headers.get('x-agentgate-response-id')!
    expect(id).toMatch(/^resp_/)
    expect(res.data.id).toBe('msg_' + id.slice(5))
    const mine = await fetch(`${gw.url}/v1/responses/${id}`, { headers: { authorization: 'Bearer key-alice' } })
    expect(mine.status).toBe(200)
    expect(await mine.json()).toMatchObject({ status: 'completed', usage: { input_tokens: 12, output_tokens: 7 } })
    const rec = await gw.store.getResponse('alice', id)
    expect(rec?.requestId).toBe(res.response.headers.get('request-id'))
    expect((await fetch(`${gw.url}/v1/responses/${id}`, { headers: { authorization: 'Bearer key-bob' } })).status).toBe(404)
    up.queue({ text: 'hi' })
    const bearer = new Anthropic({ baseURL: gw.url, authToken: 'key-bob', apiKey: null, maxRetries: 0 })
    expect((await bearer.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] })).content).toEqual([
      { type: 'text', text: 'hi' },
    ] as any)
  })

  test('a missing or wrong key is 401 authentication_error in the Anthropic envelope with a request-id', async () => {
    for (const headers of [{}, { 'x-api-key': 'nope' }] as Record<string, string>[]) {
      const res = await post('/v1/messages', { model: MODEL, max_tokens: 1, messages: [] }, headers)
      expect(res.status).toBe(401)
      expect(res.headers.get('request-id')).toMatch(/./)
      const body = (await res.json()) as any
      expect(body).toMatchObject({ type: 'error', error: { type: 'authentication_error' } })
    }
    const e = await new Anthropic({ baseURL: gw.url, apiKey: 'nope', maxRetries: 0 }).messages
      .create({ model: MODEL, max_tokens: 1, messages: [] })
      .catch((e) => e)
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError)
  })

  test('bad requests are 400 invalid_request_error: not JSON, a missing field, an unknown block type', async () => {
    const cases: unknown[] = [
      '{not json',
      { model: MODEL, messages: [{ role: 'user', content: 'x' }] },
      { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'hologram' }] }] },
      { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] },
    ]
    for (const body of cases) {
      const res = await post('/v1/messages', body)
      expect(res.status).toBe(400)
      const j = (await res.json()) as any
      expect(j.type).toBe('error')
      expect(j.error.type).toBe('invalid_request_error')
      expect(j.error.message).toMatch(/./)
    }
    const e = await alice.messages.create({ model: MODEL, max_tokens: 0, messages: [] }).catch((e) => e)
    expect(e).toBeInstanceOf(Anthropic.BadRequestError)
  })

  test('an unknown route under /v1/messages is 404 not_found_error; an oversized body 413 request_too_large', async () => {
    const nf = await post('/v1/messages/batches/nope', {})
    expect(nf.status).toBe(404)
    expect(((await nf.json()) as any).error.type).toBe('not_found_error')
    const big = await post('/v1/messages', { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(8000) }] })
    expect(big.status).toBe(413)
    expect(((await big.json()) as any).error.type).toBe('request_too_large')
  })

  test('?beta=true works, unknown fields are accepted, deferred tools are left out and tool_choice is mapped', async () => {
    up.queue({ text: 'ok' })
    const res = await post('/v1/messages?beta=true', {
      model: MODEL,
      max_tokens: 50,
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      output_config: { effort: 'high' },
      thinking: { type: 'adaptive', display: 'omitted' },
      metadata: { user_id: '{"device":"x"}' },
      system: [
        { type: 'text', text: 'A' },
        { type: 'text', text: 'B', cache_control: { type: 'ephemeral' } },
      ],
      tools: [
        { name: 'Bash', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
        { name: 'Later', input_schema: {}, defer_loading: true },
      ],
      tool_choice: { type: 'any' },
      top_k: 5,
      messages: [{ role: 'user', content: 'go' }],
    })
    expect(res.status).toBe(200)
    const sent = up.requestsTo('/v1/responses').at(-1)!.body
    expect(sent.tools.map((t: any) => t.name)).toEqual(['Bash'])
    expect(sent.tool_choice).toBe('required')
    expect(sent.instructions).toBe('A\n\nB')
    expect(sent.reasoning).toEqual({ effort: 'high' })
    expect(sent.top_k).toBe(5)
    expect(sent.model).toBe('served-a')
  })

  test('a model id the upstream serves passes as it is', async () => {
    up.queue({ text: 'ok' })
    await alice.messages.create({ model: 'served-b', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
    expect(up.requestsTo('/v1/responses').at(-1)!.body.model).toBe('served-b')
  })

  test("GET /v1/models with anthropic-version answers in Anthropic's list shape", async () => {
    const list = await alice.models.list()
    expect(list.data.map((m) => [m.type, m.id])).toEqual([
      ['model', 'served-a'],
      ['model', 'served-b'],
    ])
    const plain = (await (await fetch(gw.url + '/v1/models', { headers: { authorization: 'Bearer key-alice' } })).json()) as any
    expect(plain.object).toBe('list')
  })

  test('count_tokens uses the upstream tokenizer and says so', async () => {
    const res = await alice.messages
      .countTokens({ model: MODEL, system: 'one two', messages: [{ role: 'user', content: 'three four five' }] })
      .withResponse()
    // The fake tokenizer (fakeTokenCount): 3 a message plus one a word, for the system and the user message.
    expect(res.data.input_tokens).toBe(3 + 2 + 3 + 3)
    expect(res.response.headers.get('x-agentgate-token-count')).toBe('tokenizer')
    expect(up.requestsTo('/tokenize').at(-1)!.body).toMatchObject({ model: 'served-a', add_generation_prompt: true })
  })
})

describe('without a tokenizer, with --anthropic-model, --store-messages false and a short ping interval', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: Anthropic
  beforeAll(async () => {
    up = startFakeUpstream({ models: [{ id: 'first' }, { id: 'chosen' }], tokenize: null })
    gw = await startGateway({
      upstream: up.url,
      env: { AGENTGATE_ANTHROPIC_MODEL: 'chosen', AGENTGATE_STORE_MESSAGES: 'false', AGENTGATE_MESSAGES_PING_MS: '40' },
    })
    client = new Anthropic({ baseURL: gw.url, apiKey: 'x', maxRetries: 0 })
  })
  afterAll(async () => {
    await gw.stop()
    await up.stop()
  })

  test('unknown model ids are served by --anthropic-model, and nothing is stored', async () => {
    up.queue({ text: 'ok' })
    const res = await client.messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).withResponse()
    expect(up.requestsTo('/v1/responses').at(-1)!.body.model).toBe('chosen')
    expect(res.response.headers.get('x-agentgate-response-id')).toBeNull()
    expect(await gw.store.getResponse('default', 'resp_' + res.data.id.slice(4))).toBeNull()
  })

  test('count_tokens estimates when the upstream has no tokenizer, and says so', async () => {
    const res = await client.messages.countTokens({ model: MODEL, messages: [{ role: 'user', content: 'x'.repeat(400) }] }).withResponse()
    // About four characters a token, and a few for the message (upstream/tokenize.ts estimateInputTokens).
    expect(res.data.input_tokens).toBeGreaterThanOrEqual(100)
    expect(res.data.input_tokens).toBeLessThan(120)
    expect(res.response.headers.get('x-agentgate-token-count')).toBe('estimate')
  })

  test('a stream sends ping events while the model is silent', async () => {
    up.queue({ fault: 'slow', delayMs: 300 })
    const res = await fetch(gw.url + '/v1/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    })
    const text = await res.text()
    expect(text).toContain('event: ping')
    expect(text).toContain('event: message_stop')
    expect(text.indexOf('event: ping')).toBeLessThan(text.indexOf('event: content_block_start'))
  })
})

test('/docs lists the Messages routes with their request and response schemas', async () => {
  const up = startFakeUpstream()
  const gw = await startGateway({ upstream: up.url, logLevel: 'warn' })
  try {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    const create = doc.paths['/v1/messages'].post
    expect(JSON.stringify(create.requestBody)).toContain('max_tokens')
    expect(JSON.stringify(create.responses['200'])).toContain('stop_reason')
    expect(JSON.stringify(create.responses['529'])).toContain('error')
    expect(JSON.stringify(doc.paths['/v1/messages/count_tokens'].post.responses['200'])).toContain('input_tokens')
  } finally {
    await gw.stop()
    await up.stop()
  }
})
