// Every error the gateway answers, over real HTTP: exactly {"error":{"message","type","param","code"}},
// the right status, x-request-id on everything, and never a 500 or a stack trace for bad input.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { t } from 'elysia'
import { createApp } from '../../src/app'
import { loadConfig } from '../../src/config'
import { timeOrderedId } from '../../src/ids'
import { createLogger } from '../../src/log'
import { openStore } from '../../src/store'
import { upstreamFromConfig } from '../../src/upstream/client'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const MAX_BODY = 4096

/** Asserts the exact OpenAI error envelope and returns its inner object. */
async function errorBody(res: Response, status: number) {
  const text = await res.text()
  expect({ status: res.status, text }).toMatchObject({ status })
  expect(res.headers.get('content-type')).toContain('application/json')
  const body = JSON.parse(text)
  expect(Object.keys(body)).toEqual(['error'])
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  expect(typeof body.error.message).toBe('string')
  expect(body.error.message.length).toBeGreaterThan(0)
  expect(typeof body.error.type).toBe('string')
  for (const k of ['param', 'code']) expect(body.error[k] === null || typeof body.error[k] === 'string').toBe(true)
  expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/)
  return body.error as { message: string; type: string; param: string | null; code: string | null }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  await s.stop(true)
  return port
}

function chunkedBody(bytes: number, parts = 4): ReadableStream<Uint8Array> {
  const piece = new TextEncoder().encode('x'.repeat(Math.ceil(bytes / parts)))
  let i = 0
  return new ReadableStream({
    async pull(ctl) {
      if (i++ === parts) return ctl.close()
      ctl.enqueue(piece)
      await Bun.sleep(2)
    },
  })
}

const JSON_HEADERS = { 'content-type': 'application/json' }

let upstream: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  gw = await startGateway({ upstream: upstream.url, env: { AGENTGATE_MAX_BODY_BYTES: String(MAX_BODY) }, logLevel: 'silent' })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

describe('routing', () => {
  for (const [method, path] of [
    ['GET', '/nope'],
    ['GET', '/v1'],
    ['POST', '/v1/nope'],
    ['GET', '/v1/chat/completions/extra'],
    ['DELETE', '/v2/responses'],
  ] as const) {
    test(`${method} ${path} → 404 unknown_url`, async () => {
      const e = await errorBody(await fetch(gw.url + path, { method }), 404)
      expect(e).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url' })
      expect(e.message).toContain(path)
    })
  }

  for (const [method, path, allowed] of [
    ['PUT', '/v1/chat/completions', 'POST'],
    ['GET', '/v1/embeddings', 'POST'],
    ['DELETE', '/health', 'GET'],
    ['POST', '/ready', 'GET'],
    ['PATCH', '/v1/responses', 'POST'],
  ] as const) {
    test(`${method} ${path} → 405 with Allow: ${allowed}`, async () => {
      const res = await fetch(gw.url + path, { method, headers: JSON_HEADERS, body: method === 'GET' ? undefined : '{}' })
      expect(res.headers.get('allow')).toBe(allowed)
      const e = await errorBody(res, 405)
      expect(e).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' })
    })
  }

  test('a path parameter route answers 405 for other methods too', async () => {
    const res = await fetch(gw.url + '/v1/responses/resp_123', { method: 'PUT' })
    const e = await errorBody(res, 405)
    expect(e.code).toBe('method_not_allowed')
    expect(res.headers.get('allow')).toContain('GET')
  })
})

describe('bodies', () => {
  test('malformed JSON → 400 invalid_json', async () => {
    const e = await errorBody(
      await fetch(gw.url + '/v1/responses', { method: 'POST', headers: JSON_HEADERS, body: '{"model": "m", "input": ' }),
      400,
    )
    expect(e).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null })
  })

  test('validation failure → 400 with param naming the field', async () => {
    const e = await errorBody(
      await fetch(gw.url + '/v1/responses', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ model: 5, input: 'hi' }) }),
      400,
    )
    expect(e).toMatchObject({ type: 'invalid_request_error', param: 'model' })
  })

  test('a missing required field → 400 naming it', async () => {
    const e = await errorBody(
      await fetch(gw.url + '/v1/responses', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ input: 'hi' }) }),
      400,
    )
    expect(e).toMatchObject({ type: 'invalid_request_error', param: 'model' })
  })

  test('a bad query parameter → 400 naming it', async () => {
    const e = await errorBody(await fetch(gw.url + '/v1/responses/resp_x/input_items?limit=abc'), 400)
    expect(e).toMatchObject({ type: 'invalid_request_error', param: 'limit' })
  })

  for (const path of ['/v1/chat/completions', '/v1/responses']) {
    test(`POST ${path} over --max-body-bytes with Content-Length → 413 in the error shape`, async () => {
      const before = upstream.requests.length
      const res = await fetch(gw.url + path, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify({ model: 'm', input: 'x'.repeat(MAX_BODY) }),
      })
      const e = await errorBody(res, 413)
      expect(e).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' })
      expect(e.message).toContain(String(MAX_BODY))
      expect(upstream.requests.length).toBe(before)
    })

    test(`POST ${path} over --max-body-bytes, chunked without Content-Length → 413 in the error shape`, async () => {
      const res = await fetch(gw.url + path, {
        method: 'POST',
        headers: JSON_HEADERS,
        body: chunkedBody(MAX_BODY * 3),
        duplex: 'half',
      } as RequestInit)
      const e = await errorBody(res, 413)
      expect(e.code).toBe('request_too_large')
    })
  }

  test('a chunked body under the limit is accepted', async () => {
    const json = JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
    const body = new ReadableStream({
      start(ctl) {
        ctl.enqueue(new TextEncoder().encode(json))
        ctl.close()
      },
    })
    const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: JSON_HEADERS, body, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(200)
    expect(upstream.requests.at(-1)!.body).toEqual(JSON.parse(json))
  })

  test('a body exactly at the limit is accepted', async () => {
    const base = JSON.stringify({ model: 'test-model', messages: [], pad: '' })
    const body = JSON.stringify({ model: 'test-model', messages: [], pad: 'p'.repeat(MAX_BODY - base.length) })
    expect(body.length).toBe(MAX_BODY)
    const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: JSON_HEADERS, body })
    expect(res.status).toBe(200)
  })

  test('a large body over the limit is refused without reading it all', async () => {
    const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: JSON_HEADERS, body: 'x'.repeat(20 * 1024 * 1024) })
    await errorBody(res, 413)
  })
})

describe('x-request-id', () => {
  test('the client value is echoed on success and on errors', async () => {
    for (const [path, method] of [
      ['/health', 'GET'],
      ['/nope', 'GET'],
      ['/health', 'DELETE'],
    ] as const) {
      const res = await fetch(gw.url + path, { method, headers: { 'x-request-id': 'client-chosen-id-1' } })
      expect(res.headers.get('x-request-id')).toBe('client-chosen-id-1')
      await res.arrayBuffer()
    }
  })

  test('the 413 answer carries it too', async () => {
    const res = await fetch(gw.url + '/v1/chat/completions', {
      method: 'POST',
      headers: { 'x-request-id': 'big-1' },
      body: 'x'.repeat(MAX_BODY + 1),
    })
    expect(res.headers.get('x-request-id')).toBe('big-1')
    await errorBody(res, 413)
  })

  test('one is generated when absent, different per request', async () => {
    const a = await fetch(gw.url + '/health')
    const b = await fetch(gw.url + '/nope')
    const ida = a.headers.get('x-request-id')
    const idb = b.headers.get('x-request-id')
    expect(ida).toMatch(/^req_[0-9a-f]+$/)
    expect(idb).toMatch(/^req_[0-9a-f]+$/)
    expect(ida).not.toBe(idb)
  })
})

describe('upstream failures on a pass-through route', () => {
  test('upstream down → 502 upstream_error', async () => {
    const down = await startGateway({ upstream: `http://127.0.0.1:${await closedPort()}/v1`, logLevel: 'silent' })
    try {
      const res = await fetch(down.url + '/v1/chat/completions', {
        method: 'POST',
        headers: { ...JSON_HEADERS, 'x-request-id': 'down-1' },
        body: '{"model":"m","messages":[]}',
      })
      expect(res.headers.get('x-request-id')).toBe('down-1')
      const e = await errorBody(res, 502)
      expect(e).toMatchObject({ type: 'upstream_error', code: 'upstream_unreachable' })
    } finally {
      await down.stop()
    }
  })

  test('upstream slower than --first-byte-timeout-ms → 504 upstream_timeout, on time', async () => {
    const slow = startFakeUpstream({ defaultReply: { fault: 'slow', delayMs: 3000 } })
    const g = await startGateway({ upstream: slow.url, env: { AGENTGATE_FIRST_BYTE_TIMEOUT_MS: '200' }, logLevel: 'silent' })
    try {
      const t0 = performance.now()
      const res = await fetch(g.url + '/v1/chat/completions', {
        method: 'POST',
        headers: JSON_HEADERS,
        body: '{"model":"m","messages":[]}',
      })
      const e = await errorBody(res, 504)
      expect(e).toMatchObject({ type: 'upstream_error', code: 'upstream_timeout' })
      expect(performance.now() - t0).toBeLessThan(2000)
    } finally {
      await g.stop()
      await slow.stop()
    }
  })

  test('an upstream error status is passed back as it is, not rewritten', async () => {
    upstream.queue({
      fault: 'status',
      status: 400,
      body: { error: { message: 'bad model', type: 'BadRequestError', param: 'model', code: 400 } },
    })
    const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: JSON_HEADERS, body: '{"model":"x","messages":[]}' })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: { message: 'bad model', type: 'BadRequestError', param: 'model', code: 400 } })
  })
})

describe('no 500 and no stack trace for bad input', () => {
  const bodies: [string, string | undefined, Record<string, string>][] = [
    ['no body', undefined, {}],
    ['empty JSON body', '', JSON_HEADERS],
    ['malformed JSON', '{"a":', JSON_HEADERS],
    ['JSON array', '[1,2]', JSON_HEADERS],
    ['JSON string', '"hi"', JSON_HEADERS],
    ['JSON null', 'null', JSON_HEADERS],
    ['wrong types', '{"model":[],"input":{},"stream":"yes","metadata":5,"tools":"x","previous_response_id":7}', JSON_HEADERS],
    ['deep nesting', '['.repeat(5000) + ']'.repeat(5000), JSON_HEADERS],
    ['form body', 'a=1&b=2', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['text body', 'hello', { 'content-type': 'text/plain' }],
    ['binary', '\u0000\u0001\u00ff', { 'content-type': 'application/octet-stream' }],
  ]
  const targets: [string, string][] = [
    ['POST', '/v1/responses'],
    ['GET', '/v1/responses/resp_does_not_exist'],
    ['GET', '/v1/responses/..%2f..%2fetc%2fpasswd'],
    ['DELETE', '/v1/responses/%ff%fe'],
    ['GET', '/v1/responses/resp_x/input_items?limit=-1&order=sideways&after=%00'],
    ['GET', '/v1/models?client_version=%ff'],
    ['POST', '/v1/chat/completions'],
    ['GET', '/docs/assets/..%2fpackage.json'],
    ['GET', '/%'],
  ]
  for (const [method, path] of targets) {
    test(`${method} ${path}`, async () => {
      for (const [name, body, headers] of method === 'GET' || method === 'DELETE' ? [bodies[0]] : bodies) {
        const res = await fetch(gw.url + path, { method, headers, body })
        const text = await res.text()
        expect({ name, status: res.status, text: text.slice(0, 300) }).toMatchObject({ name, status: expect.any(Number) })
        expect(res.status).toBeLessThan(500)
        expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/)
        if (res.status >= 400) await errorBody(new Response(text, { status: res.status, headers: res.headers }), res.status)
      }
    })
  }
})

describe('the same onError for any route (a tiny app on createApp)', () => {
  // Routes the product does not have yet (a typed JSON body, a typed query), mounted on the real app so
  // the real onError renders their failures.
  function buildTestApp(config: ReturnType<typeof loadConfig>, store: Awaited<ReturnType<typeof openStore>>) {
    return createApp({
      config,
      upstream: upstreamFromConfig(config),
      store,
      clock: Date.now,
      ids: timeOrderedId,
      logger: createLogger('silent'),
      version: 'test',
    })
      .post('/test/typed', ({ body }) => body, {
        body: t.Object({
          name: t.String({ minLength: 1 }),
          count: t.Optional(t.Integer({ minimum: 1 })),
          items: t.Optional(t.Array(t.Object({ role: t.Union([t.Literal('user'), t.Literal('assistant')]) }))),
        }),
      })
      .get('/test/query', ({ query }) => query, { query: t.Object({ limit: t.Optional(t.Numeric({ minimum: 1, maximum: 100 })) }) })
      .get('/test/throws', () => {
        throw new Error('internal detail that must not leak')
      })
  }
  let app: ReturnType<typeof buildTestApp>
  let url: string
  let dir: string
  let store: Awaited<ReturnType<typeof openStore>>
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentgate-errors-'))
    const config = loadConfig({ flags: { '--port': '0', '--upstream': upstream.url }, env: { AGENTGATE_HOME: dir } })
    store = await openStore(config)
    app = buildTestApp(config, store)
    app.listen({ hostname: '127.0.0.1', port: 0 })
    url = `http://127.0.0.1:${app.server!.port}`
  })
  afterAll(async () => {
    await app?.stop(true)
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const post = (body: string) => fetch(url + '/test/typed', { method: 'POST', headers: JSON_HEADERS, body })

  test('malformed JSON → 400 invalid_json', async () => {
    expect(await errorBody(await post('{"name": '), 400)).toMatchObject({ code: 'invalid_json', param: null })
  })

  test('a missing field names it', async () => {
    expect((await errorBody(await post('{}'), 400)).param).toBe('name')
  })

  test('a wrong type names the field', async () => {
    expect((await errorBody(await post('{"name": 5}'), 400)).param).toBe('name')
  })

  test('an out-of-range number names the field', async () => {
    expect((await errorBody(await post('{"name": "n", "count": 0}'), 400)).param).toBe('count')
  })

  test('a nested field is named with its path', async () => {
    expect((await errorBody(await post('{"name": "n", "items": [{"role": "user"}, {"role": "robot"}]}'), 400)).param).toBe('items.1.role')
  })

  test('a bad query parameter is a 400', async () => {
    const e = await errorBody(await fetch(url + '/test/query?limit=abc'), 400)
    expect(e.type).toBe('invalid_request_error')
  })

  test('an unexpected exception → 500 server_error without the internals', async () => {
    const e = await errorBody(await fetch(url + '/test/throws'), 500)
    expect(e).toMatchObject({ type: 'server_error', message: 'Internal server error' })
    expect(JSON.stringify(e)).not.toContain('internal detail')
  })
})
