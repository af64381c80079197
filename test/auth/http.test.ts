// With API keys configured: every /v1 route and the WebSocket upgrade answer 401 in OpenAI's shape without a valid
// `Authorization: Bearer KEY` (before the body is read or validated), the open routes stay open, the right key works
// from the openai SDK and a WebSocket, and no key ever shows in a log line, an error body or the upstream's headers.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect } from 'node:net'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { readAnswer } from '../support/answer'
import { socketTurn, upgradeOutcome } from '../support/ws-client'

const KEY_A = 'sk-agentgate-team-a-7f3c1e9b'
const KEY_B = 'sk-agentgate-team-b-04d2aa61'
const WRONG = 'sk-agentgate-wrong-key-5e8d'

let up: FakeUpstream
let gw: TestGateway
/** every body the gateway answered in this file, to look for keys in */
const bodies: string[] = []

beforeAll(async () => {
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: `team-a:${KEY_A},team-b:${KEY_B}` } })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

async function call(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const r = await fetch(gw.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body })
  const answer = await readAnswer(r)
  bodies.push(answer.text)
  return answer
}

/** Sends a WebSocket upgrade by hand and returns the raw HTTP answer (status line, headers, body). */
async function rawUpgrade(headers: Record<string, string> = {}): Promise<string> {
  const sock = connect(gw.app.server!.port!, '127.0.0.1')
  await new Promise((r) => sock.once('connect', r))
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')
  sock.write(
    `GET /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
  )
  let text = ''
  const until = Date.now() + 3000
  while (Date.now() < until) {
    const chunk = await Promise.race([new Promise<Buffer>((r) => sock.once('data', r)), Bun.sleep(300).then(() => null)])
    if (chunk === null) {
      if (text) break
      continue
    }
    text += chunk.toString('latin1')
    if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) break
  }
  sock.destroy()
  bodies.push(text)
  return text
}

const UNAUTHORIZED = { error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }
const ANTHROPIC_UNAUTHORIZED = { type: 'error', error: { type: 'authentication_error', message: expect.any(String) } }

/** Every /v1 route the app serves, with made-up ids (auth comes before routing to an id). */
function v1Routes(): { method: string; path: string }[] {
  return gw.app.routes
    .filter((r: any) => r.path.startsWith('/v1') && r.method !== 'WS')
    .map((r: any) => ({
      method: r.method,
      path: r.path.replace(/:([^/]+)/g, (_: string, name: string) =>
        name.includes('conversation') ? 'conv_x' : name.includes('item') ? 'msg_x' : 'resp_x',
      ),
    }))
}

describe('without a valid key', () => {
  test('the app has the /v1 routes this test is about', () => {
    const listed = v1Routes().map((r) => `${r.method} ${r.path}`)
    for (const r of [
      'POST /v1/responses',
      'GET /v1/responses/resp_x',
      'DELETE /v1/responses/resp_x',
      'POST /v1/responses/resp_x/cancel',
      'GET /v1/responses/resp_x/input_items',
      'GET /v1/models',
      'POST /v1/conversations',
      'GET /v1/conversations/conv_x/items/msg_x',
      'POST /v1/chat/completions',
      'POST /v1/embeddings',
    ])
      expect(listed).toContain(r)
  })

  test.each([
    ['missing', {}],
    ['wrong', { authorization: `Bearer ${WRONG}` }],
    ['malformed (no scheme)', { authorization: KEY_A }],
    ['malformed (Basic)', { authorization: `Basic ${btoa(`user:${KEY_A}`)}` }],
    ['sent as x-api-key', { 'x-api-key': KEY_A }],
  ])('every /v1 route answers 401 invalid_api_key (%s key), and nothing reaches the upstream', async (_, headers) => {
    const before = up.requests.length
    for (const r of v1Routes()) {
      // The Anthropic Messages routes take x-api-key (Anthropic's header), and answer in Anthropic's envelope.
      const messages = r.path.startsWith('/v1/messages')
      if (messages && 'x-api-key' in headers) continue
      const res = await call(
        r.method,
        r.path,
        headers,
        r.method === 'GET' || r.method === 'DELETE' ? undefined : JSON.stringify({ model: 'test-model', input: 'hi' }),
      )
      expect({ route: `${r.method} ${r.path}`, status: res.status, body: res.json }).toEqual({
        route: `${r.method} ${r.path}`,
        status: 401,
        body: messages ? ANTHROPIC_UNAUTHORIZED : UNAUTHORIZED,
      })
      expect(res.headers.get('www-authenticate')).toStartWith('Bearer')
      expect(res.headers.get('x-request-id')).toBeTruthy()
    }
    expect(up.requests.length).toBe(before)
    expect(await gw.store.getResponse('team-a', 'resp_x')).toBeNull()
  })

  test('an unknown /v1 path, a trailing slash, and the bare /v1 are 401 too (nothing is open by accident)', async () => {
    for (const p of ['/v1/nope', '/v1/responses/', '/v1', '/v1/models/']) expect((await call('GET', p)).status).toBe(401)
  })

  test('the messages say what is wrong', async () => {
    expect((await call('GET', '/v1/models')).json.error.message).toContain('Missing API key')
    expect((await call('GET', '/v1/models', { authorization: 'Token abc' })).json.error.message).toContain('Malformed')
    expect((await call('GET', '/v1/models', { authorization: `Bearer ${WRONG}` })).json.error.message).toContain('Incorrect API key')
  })

  test('401 comes before the body is read: an oversized or invalid body is still a 401, not 413/400', async () => {
    const big = await call('POST', '/v1/responses', {}, 'x'.repeat(gw.config.maxBodyBytes + 1))
    expect(big.status).toBe(401)
    expect((await call('POST', '/v1/responses', { authorization: `Bearer ${KEY_A}` }, 'x'.repeat(gw.config.maxBodyBytes + 1))).status).toBe(
      413,
    )
    const invalid = await call('POST', '/v1/responses', {}, '{not json')
    expect(invalid.status).toBe(401)
  })

  test('the WebSocket upgrade is refused with a 401 before it happens', async () => {
    for (const headers of [{}, { authorization: `Bearer ${WRONG}` }, { authorization: 'Bearer' }] as Record<string, string>[]) {
      const answer = await rawUpgrade(headers)
      expect(answer).toStartWith('HTTP/1.1 401')
      expect(answer.toLowerCase()).not.toContain('upgrade: websocket')
      expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual(UNAUTHORIZED)
    }
    // and the same for a WebSocket client
    expect(await upgradeOutcome(gw.url, { authorization: `Bearer ${WRONG}` })).not.toBe('open')
  })

  test('the openai SDK sees an AuthenticationError', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: WRONG, maxRetries: 0 })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'hi' }))
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(err.status).toBe(401)
    expect(err.code).toBe('invalid_api_key')
    expect(err.message).not.toContain(WRONG)
  })
})

describe('open routes', () => {
  test.each(['/health', '/ready', '/docs', '/docs/', '/docs/json', '/docs/assets/swagger-ui.css'])('%s needs no key', async (path) => {
    const r = await call('GET', path)
    expect(r.status).toBe(200)
  })

  test('the OpenAPI document has a bearer scheme for Swagger UI, required on /v1 and not on /health', async () => {
    const doc = (await call('GET', '/docs/json')).json
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/health'].get.security).toEqual([])
    expect(doc.paths['/ready'].get.security).toEqual([])
    expect(doc.paths['/v1/responses'].post.security).toBeUndefined() // inherits the document's
  })
})

describe('with a valid key', () => {
  test('the SDK works: create, retrieve, input items, delete', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_A, maxRetries: 0 })
    const r = await client.responses.create({ model: 'test-model', input: 'hello' })
    expect(r.status).toBe('completed')
    expect((await client.responses.retrieve(r.id)).id).toBe(r.id)
    expect((await client.responses.inputItems.list(r.id)).data).toHaveLength(1)
    await client.responses.delete(r.id)
    const models = await client.models.list()
    expect(models.data.length).toBeGreaterThan(0)
  })

  test('the scheme name is case-insensitive', async () => {
    expect((await call('GET', '/v1/models', { authorization: `bearer ${KEY_B}` })).status).toBe(200)
  })

  test('a WebSocket with the key in the upgrade request runs turns', async () => {
    const done = await socketTurn(gw.url, { input: 'over ws' }, { headers: { authorization: `Bearer ${KEY_B}` } })
    expect(done.type).toBe('response.completed')
    expect((await gw.store.getResponse('team-b', done.response.id))?.status).toBe('completed')
  })

  test('the client key is never passed to the upstream', () => {
    const seen = JSON.stringify(up.requests.map((r) => r.headers))
    for (const k of [KEY_A, KEY_B, WRONG]) expect(seen).not.toContain(k)
  })
})

test('no key appears in any log line or any answer', async () => {
  expect(gw.logs.length).toBeGreaterThan(0)
  // the rejections were logged (at debug), without the key
  expect(gw.logs.some((l) => l.includes('invalid_api_key'))).toBe(true)
  const all = gw.logs.join('\n') + '\n' + bodies.join('\n')
  for (const k of [KEY_A, KEY_B, WRONG, btoa(`user:${KEY_A}`)]) expect(all).not.toContain(k)
})
