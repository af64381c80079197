// POST /v1/chat/completions, /v1/completions and /v1/embeddings pass through to the upstream:
// bodies (JSON and SSE) byte-for-byte, upstream statuses and headers kept, only our key goes upstream.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import OpenAI from 'openai'
import { loadConfig } from '../../src/config'
import { createGateway, type Gateway } from '../../src/gateway'
import { createLogger } from '../../src/log'
import { asksForStream } from '../../src/http/passthrough'
import { createUpstreamClient } from '../../src/upstream/client'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const UPSTREAM_KEY = 'sk-upstream-secret'
const JSON_HEADERS = { 'content-type': 'application/json' }

let upstream: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  gw = await startGateway({ upstream: upstream.url, env: { AGENTGATE_UPSTREAM_KEY: UPSTREAM_KEY }, logLevel: 'silent' })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

const bytes = async (r: Response) => new Uint8Array(await r.arrayBuffer())
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(gw.url + path, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

/** Drops the fields the upstream makes up per call, so two answers can be compared. */
const stable = (text: string) => text.replace(/"id":"[^"]+"/g, '"id":"X"').replace(/"created":\d+/g, '"created":0')

describe('bodies pass through byte-for-byte', () => {
  test('a JSON answer, with its odd spacing and key order, arrives unchanged', async () => {
    const raw = '{ "object" : "chat.completion",\n  "z": 1, "a": [1,2 ,3], "text": "caf\u00e9 \ud83d\ude00 \\u00e9" }\n'
    upstream.queue({ fault: 'raw', contentType: 'application/json', body: raw, headers: { 'x-upstream-extra': 'kept' } })
    const res = await post('/v1/chat/completions', { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(res.headers.get('x-upstream-extra')).toBe('kept')
    expect(await bytes(res)).toEqual(new TextEncoder().encode(raw))
  })

  test('an SSE answer arrives unchanged, comments and all', async () => {
    const raw = [
      ': keep-alive comment',
      '',
      'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}',
      '',
      'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}]}',
      '',
      'event: custom\r\ndata: {"x": 1}\r\n\r\ndata: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
      '',
      'data: [DONE]',
      '',
      '',
    ].join('\n')
    upstream.queue({ fault: 'raw', contentType: 'text/event-stream', body: raw })
    const res = await post('/v1/chat/completions', { model: 'test-model', messages: [], stream: true })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(new TextDecoder().decode(await bytes(res))).toBe(raw)
  })

  test('a streamed chat completion equals the upstream answer to the same request, ids aside', async () => {
    const request = {
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    }
    upstream.queue({ text: 'Hello there, streaming world.' }, { text: 'Hello there, streaming world.' })
    const direct = await (
      await fetch(upstream.url + '/chat/completions', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(request) })
    ).text()
    const viaGateway = await (await post('/v1/chat/completions', request)).text()
    expect(viaGateway).toContain('data: [DONE]')
    expect(stable(viaGateway)).toBe(stable(direct))
  })

  test('the request body reaches the upstream unchanged', async () => {
    const raw = '{"model":"test-model",  "messages":[{"role":"user","content":"hi"}], "unknown_field":{"kept":true}}'
    await (await post('/v1/chat/completions', raw)).arrayBuffer()
    const seen = upstream.requestsTo('/v1/chat/completions').at(-1)!
    expect(seen.body).toEqual(JSON.parse(raw))
    expect(seen.headers['content-type']).toBe('application/json')
    // with its length, not as a chunked upload
    expect(seen.headers['content-length']).toBe(String(new TextEncoder().encode(raw).length))
    expect(seen.headers['transfer-encoding']).toBeUndefined()
  })

  test('the query string is passed on', async () => {
    await (await post('/v1/chat/completions?api-version=2024-01-01&x=%20y', { model: 'test-model', messages: [] })).arrayBuffer()
    expect(upstream.requestsTo('/v1/chat/completions').at(-1)!.search).toBe('?api-version=2024-01-01&x=%20y')
  })

  test('SSE is streamed as it comes, not buffered until the end', async () => {
    upstream.queue({ text: 'one two three four five six seven eight', delayMs: 150 })
    const t0 = performance.now()
    const res = await post('/v1/chat/completions', { model: 'test-model', messages: [], stream: true })
    const reader = res.body!.getReader()
    const first = await reader.read()
    const firstAt = performance.now() - t0
    expect(new TextDecoder().decode(first.value)).toStartWith('data: ')
    while (!(await reader.read()).done) {}
    const total = performance.now() - t0
    expect(firstAt).toBeLessThan(total / 2)
  })

  test('a client that leaves mid-stream cancels the upstream stream', async () => {
    let cancelled = false
    const enc = new TextEncoder()
    const slowUp = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      idleTimeout: 0,
      fetch: () =>
        new Response(
          new ReadableStream({
            async start(ctl) {
              try {
                for (let i = 0; i < 500; i++) {
                  ctl.enqueue(enc.encode(`data: {"i":${i}}\n\n`))
                  await Bun.sleep(20)
                }
                ctl.close()
              } catch {}
            },
            cancel: () => void (cancelled = true),
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    })
    const g = await startGateway({ upstream: `http://127.0.0.1:${slowUp.port}/v1`, logLevel: 'silent' })
    try {
      const ac = new AbortController()
      const res = await fetch(g.url + '/v1/chat/completions', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: '{"stream":true}',
        signal: ac.signal,
      })
      const reader = res.body!.getReader()
      await reader.read()
      ac.abort()
      for (let i = 0; i < 100 && !cancelled; i++) await Bun.sleep(20)
      expect(cancelled).toBe(true)
    } finally {
      await g.stop()
      await slowUp.stop(true)
    }
  })
})

describe('statuses and headers', () => {
  for (const [status, headers] of [
    [400, {}],
    [401, { 'www-authenticate': 'Bearer' }],
    [404, {}],
    [429, { 'retry-after': '7', 'x-ratelimit-remaining-requests': '0' }],
    [500, {}],
    [503, { 'retry-after': '30' }],
  ] as const) {
    test(`upstream ${status} is passed back with its body and headers`, async () => {
      const body = { error: { message: `upstream says ${status}`, type: 'x', param: null, code: String(status) } }
      upstream.queue({ fault: 'status', status, body, headers })
      const res = await post('/v1/chat/completions', { model: 'test-model', messages: [] })
      expect(res.status).toBe(status)
      for (const [k, v] of Object.entries(headers)) expect(res.headers.get(k)).toBe(v)
      expect(await res.json()).toEqual(body)
    })
  }

  test('client authorization is not forwarded; the upstream key is', async () => {
    await (
      await post('/v1/chat/completions', { model: 'test-model', messages: [] }, { authorization: 'Bearer client-secret' })
    ).arrayBuffer()
    const seen = upstream.requestsTo('/v1/chat/completions').at(-1)!
    expect(seen.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
    expect(JSON.stringify(seen.headers)).not.toContain('client-secret')
  })

  test('without an upstream key, no authorization goes upstream at all', async () => {
    const g = await startGateway({ upstream: upstream.url, logLevel: 'silent' })
    try {
      await (
        await fetch(g.url + '/v1/chat/completions', {
          method: 'POST',
          headers: { ...JSON_HEADERS, authorization: 'Bearer client-secret' },
          body: '{"model":"m","messages":[]}',
        })
      ).arrayBuffer()
      expect(upstream.requestsTo('/v1/chat/completions').at(-1)!.headers.authorization).toBeUndefined()
    } finally {
      await g.stop()
    }
  })

  test('end-to-end headers go upstream; hop-by-hop ones do not', async () => {
    await (
      await post(
        '/v1/chat/completions',
        { model: 'test-model', messages: [] },
        {
          'x-request-id': 'req-client-1',
          'openai-beta': 'assistants=v2',
          'x-custom': 'yes',
          'keep-alive': 'timeout=5',
          'proxy-authorization': 'Basic eA==',
        },
      )
    ).arrayBuffer()
    const seen = upstream.requestsTo('/v1/chat/completions').at(-1)!.headers
    expect(seen).toMatchObject({ 'x-request-id': 'req-client-1', 'openai-beta': 'assistants=v2', 'x-custom': 'yes' })
    expect(seen['keep-alive']).toBeUndefined()
    expect(seen['proxy-authorization']).toBeUndefined()
    expect(seen.host).toBe(`127.0.0.1:${upstream.port}`)
  })

  test('the client gets its x-request-id back, even when the upstream answers with its own', async () => {
    upstream.queue({ fault: 'raw', contentType: 'application/json', body: '{}', headers: { 'x-request-id': 'upstream-id' } })
    const res = await post('/v1/chat/completions', { model: 'test-model', messages: [] }, { 'x-request-id': 'mine-1' })
    expect(res.headers.get('x-request-id')).toBe('mine-1')
    await res.arrayBuffer()
  })

  test('a generated x-request-id is the one the upstream sees and the client gets', async () => {
    upstream.queue({ fault: 'raw', contentType: 'application/json', body: '{}', headers: { 'x-request-id': 'upstream-id' } })
    const res = await post('/v1/chat/completions', { model: 'test-model', messages: [] })
    const id = res.headers.get('x-request-id')
    expect(id).toMatch(/^req_/)
    expect(upstream.requestsTo('/v1/chat/completions').at(-1)!.headers['x-request-id']).toBe(id!)
    await res.arrayBuffer()
  })

  test('a gzip answer keeps its bytes and content-encoding when the client accepts gzip', async () => {
    const json = JSON.stringify({ object: 'list', data: [{ embedding: Array.from({ length: 200 }, (_, i) => i / 7) }] })
    const gz = gzipSync(json)
    const gzUp = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req) =>
        req.headers.get('accept-encoding')?.includes('gzip')
          ? new Response(gz, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
          : new Response(json, { headers: { 'content-type': 'application/json' } }),
    })
    const g = await startGateway({ upstream: `http://127.0.0.1:${gzUp.port}/v1`, logLevel: 'silent' })
    try {
      const res = await fetch(g.url + '/v1/embeddings', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'accept-encoding': 'gzip' },
        body: '{}',
        decompress: false,
      } as RequestInit)
      expect(res.headers.get('content-encoding')).toBe('gzip')
      expect(Buffer.from(await res.arrayBuffer()).equals(gz)).toBe(true)
      // a client that decodes (curl --compressed, fetch) gets the JSON
      expect(
        await (
          await fetch(g.url + '/v1/embeddings', { method: 'POST', headers: { ...JSON_HEADERS, 'accept-encoding': 'gzip' }, body: '{}' })
        ).json(),
      ).toEqual(JSON.parse(json))
      // a client that does not ask for gzip does not get it
      const plain = await fetch(g.url + '/v1/embeddings', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: '{}',
        decompress: false,
      } as RequestInit)
      expect(plain.headers.get('content-encoding')).toBeNull()
      expect(await plain.text()).toBe(json)
    } finally {
      await g.stop()
      await gzUp.stop(true)
    }
  })
})

describe('the other pass-through routes', () => {
  test('POST /v1/completions', async () => {
    const res = await post('/v1/completions', { model: 'test-model', prompt: 'Once upon a time', max_tokens: 5 })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ object: 'text_completion', model: 'test-model', choices: [{ text: ' there was a gateway.' }] })
    expect(upstream.requestsTo('/v1/completions').at(-1)!.body).toEqual({ model: 'test-model', prompt: 'Once upon a time', max_tokens: 5 })
  })

  test('POST /v1/embeddings', async () => {
    const res = await post('/v1/embeddings', { model: 'test-model', input: 'hello' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ object: 'list', data: [{ object: 'embedding', embedding: [0.1, 0.2, 0.3] }] })
    expect(upstream.requestsTo('/v1/embeddings').at(-1)!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`)
  })
})

describe('the openai SDK through the gateway', () => {
  const sdk = () => new OpenAI({ baseURL: gw.baseURL, apiKey: 'client-key', maxRetries: 0 })

  test('chat.completions.create', async () => {
    upstream.queue({ text: 'Hi from the SDK test.' })
    const c = await sdk().chat.completions.create({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
    expect(c.object).toBe('chat.completion')
    expect(c.choices[0].message.content).toBe('Hi from the SDK test.')
    expect(c.usage?.total_tokens).toBe(19)
  })

  test('chat.completions.create with stream: true', async () => {
    upstream.queue({ text: 'Streaming through the gateway works.' })
    const stream = await sdk().chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    })
    let text = ''
    let finish: string | null = null
    let usage: unknown = null
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? ''
      finish = chunk.choices[0]?.finish_reason ?? finish
      usage = chunk.usage ?? usage
    }
    expect(text).toBe('Streaming through the gateway works.')
    expect(finish).toBe('stop')
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 7 })
  })

  test('tool calls stream through', async () => {
    upstream.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_1' }] })
    const stream = await sdk().chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'weather?' }],
      stream: true,
    })
    let args = ''
    let name = ''
    for await (const chunk of stream) {
      for (const tc of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name ||= tc.function?.name ?? ''
        args += tc.function?.arguments ?? ''
      }
    }
    expect(name).toBe('get_weather')
    expect(JSON.parse(args)).toEqual({ city: 'Paris' })
  })

  test('an upstream 429 becomes the SDK RateLimitError', async () => {
    upstream.queue({
      fault: 'status',
      status: 429,
      body: { error: { message: 'Too many requests', type: 'rate_limit_error', param: null, code: 'rate_limit_exceeded' } },
      headers: { 'retry-after': '1' },
    })
    const err = await sdk()
      .chat.completions.create({ model: 'test-model', messages: [] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.RateLimitError)
    expect(err.status).toBe(429)
    expect(err.code).toBe('rate_limit_exceeded')
  })

  test('embeddings.create', async () => {
    const e = await sdk().embeddings.create({ model: 'test-model', input: 'hello', encoding_format: 'float' })
    expect(e.data[0].embedding).toEqual([0.1, 0.2, 0.3])
  })
})

describe('the answer handed to Bun', () => {
  // Elysia rebuilds a Response a route returns while set.headers holds anything (a copy of its headers, and its body
  // read through a JS stream); a plain upstream answer must reach Bun as the upstream's own Response, so that Bun
  // pipes its body natively.
  const answered: Response[] = []
  const logs: string[] = []
  let dir: string
  let g: Gateway

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentgate-handed-'))
    const config = loadConfig({
      flags: { '--host': '127.0.0.1', '--port': '0', '--upstream': 'http://127.0.0.1:9/v1' },
      env: { AGENTGATE_HOME: dir },
    })
    const upstreamFetch = async () => {
      const res = new Response('{"object":"list","data":[]}', {
        headers: { 'content-type': 'application/json', 'x-request-id': 'upstream-id', server: 'uvicorn' },
      })
      answered.push(res)
      return res
    }
    const upstream = createUpstreamClient({
      baseUrl: config.upstream,
      apiKey: null,
      connectTimeoutMs: 2000,
      firstByteTimeoutMs: 2000,
      idleTimeoutMs: 2000,
      fetch: upstreamFetch as unknown as typeof fetch,
    })
    g = await createGateway(config, { version: 'test', quiet: true, logger: createLogger('debug', (l) => logs.push(l)), upstream })
  })
  afterAll(async () => {
    await g?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test("a plain chat completion is the upstream's own Response, carrying our request id", async () => {
    const res = await g.app.handle(
      new Request('http://gateway.test/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'handed-1' },
        body: '{"model":"m","messages":[]}',
      }),
    )
    expect(res).toBe(answered.at(-1)!)
    expect(res.headers.get('x-request-id')).toBe('handed-1')
    expect(res.headers.get('server')).toBeNull()
  })

  test('so is the plain model list', async () => {
    const res = await g.app.handle(new Request('http://gateway.test/v1/models', { headers: { 'x-request-id': 'handed-2' } }))
    expect(res).toBe(answered.at(-1)!)
    expect(res.headers.get('x-request-id')).toBe('handed-2')
  })

  test('the access log line still carries the request id', async () => {
    await (
      await g.app.handle(
        new Request('http://gateway.test/v1/embeddings', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'handed-3' },
          body: '{"model":"m","input":"x"}',
        }),
      )
    ).arrayBuffer()
    await Bun.sleep(20) // the access line is written after the answer
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'request' && l.request_id === 'handed-3')
    expect(line).toMatchObject({ route: '/v1/embeddings', status: 200 })
  })
})

describe('asksForStream: which pass-through answers are read as event streams', () => {
  const bytes = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer
  test.each([
    ['{"model":"m","stream":true}', true],
    ['{"model":"m", "stream" :\n\ttrue }', true],
    ['{"stream":false,"model":"m"}', false],
    ['{"model":"m"}', false],
    // a value, not a key, and a key inside a string (its quotes escaped)
    ['{"model":"stream","messages":[{"content":"say \\"stream\\": true"}]}', false],
    ['{"stream_options":{"include_usage":true},"stream":true}', true],
    ['not json "stream": true', true],
    ['', false],
  ])('%s → %p', (body, expected) => {
    expect(asksForStream(bytes(body))).toBe(expected)
  })
})
