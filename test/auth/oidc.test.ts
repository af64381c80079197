// OIDC bearer tokens beside API keys: a token from the configured issuer (discovery + JWKS on a loopback provider)
// works from the openai SDK over HTTP and WebSocket and lands in the tenant its claim names; every bad token is a 401
// with `WWW-Authenticate: Bearer error="invalid_token"` in OpenAI's error shape; keys the gateway cannot fetch are a
// 503; the JWKS is refetched for a rotated key (rate-limited); no token reaches the upstream or a log line.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { ResponsesWS } from 'openai/resources/responses/ws'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { run } from '../support/binary'
import { MAIN } from '../support/cli'
import { waitFor } from '../support/wait'
import { loadedModules } from '../support/loaded-modules'
import { readAnswer } from '../support/answer'
import { openSocket, upgradeOutcome } from '../support/ws-client'
import { startIdentityProvider, TEST_AUDIENCE, type IdentityProvider } from '../support/identity-provider'

const KEY = 'sk-agentgate-oidc-side-key-91c2'

let idp: IdentityProvider
let up: FakeUpstream
let gw: TestGateway
/** every token this file made, to look for in logs, answers and upstream requests */
const tokens: string[] = []
const bodies: string[] = []

const oidcEnv = (issuer: string, extra: Record<string, string> = {}) => ({
  AGENTGATE_OIDC_ISSUER: issuer,
  AGENTGATE_OIDC_AUDIENCE: `other-api,${TEST_AUDIENCE}`,
  ...extra,
})

beforeAll(async () => {
  idp = await startIdentityProvider({ algs: ['RS256', 'ES256', 'EdDSA'] })
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url, env: oidcEnv(idp.issuer, { AGENTGATE_API_KEYS: `key-team:${KEY}` }) })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
  await idp.stop()
})

async function token(claims: Record<string, unknown> = {}, opts: Parameters<IdentityProvider['sign']>[1] = {}) {
  const t = await idp.sign(claims, opts)
  tokens.push(t)
  return t
}

async function call(path: string, bearer: string, init: RequestInit = {}) {
  const r = await fetch(gw.url + path, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}`, ...(init.headers as Record<string, string>) },
  })
  const answer = await readAnswer(r)
  bodies.push(answer.text)
  return answer
}

const sdk = (bearer: string) => new OpenAI({ baseURL: gw.baseURL, apiKey: bearer, maxRetries: 0 })

describe('a valid token', () => {
  test('works from the openai SDK and lands in the tenant its sub names; another tenant sees 404', async () => {
    const alice = sdk(await token({ sub: 'alice' }))
    const r = await alice.responses.create({ model: 'test-model', input: 'hello from alice' })
    expect(r.status).toBe('completed')
    expect((await alice.responses.retrieve(r.id)).id).toBe(r.id)
    expect((await gw.store.getResponse('alice', r.id))?.status).toBe('completed')
    const bob = sdk(await token({ sub: 'bob' }))
    const err = await rejectionOf(bob.responses.retrieve(r.id))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    // an API key's tenant does not see it either
    expect((await call(`/v1/responses/${r.id}`, KEY)).status).toBe(404)
  })

  test("conversations belong to the token's tenant too", async () => {
    const alice = sdk(await token({ sub: 'alice' }))
    const conv = await alice.conversations.create({ metadata: { topic: 'oidc' } })
    expect((await alice.conversations.retrieve(conv.id)).id).toBe(conv.id)
    expect(await rejectionOf(sdk(await token({ sub: 'bob' })).conversations.retrieve(conv.id))).toBeInstanceOf(OpenAI.NotFoundError)
  })

  test('RS256, ES256 and EdDSA signatures are accepted', async () => {
    for (const key of idp.published) {
      const r = await call('/v1/models', await token({ sub: `alg-${key.alg}` }, { key }))
      expect([key.alg, r.status]).toEqual([key.alg, 200])
    }
  })

  test('a token whose aud lists several audiences is accepted when one is ours', async () => {
    expect((await call('/v1/models', await token({ aud: ['someone-else', TEST_AUDIENCE] }))).status).toBe(200)
  })

  test('an azp that is an accepted audience is accepted', async () => {
    expect((await call('/v1/models', await token({ azp: TEST_AUDIENCE }))).status).toBe(200)
  })

  test('--oidc-tenant-claim picks another claim for the tenant', async () => {
    const g = await startGateway({ upstream: up.url, env: oidcEnv(idp.issuer, { AGENTGATE_OIDC_TENANT_CLAIM: 'org_id' }) })
    try {
      const client = new OpenAI({ baseURL: g.baseURL, apiKey: await token({ sub: 'carol', org_id: 'org-42' }), maxRetries: 0 })
      const r = await client.responses.create({ model: 'test-model', input: 'hi' })
      expect((await g.store.getResponse('org-42', r.id))?.id).toBe(r.id)
      const none = await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${await token({ sub: 'carol' })}` } })
      expect(none.status).toBe(401)
      expect(((await none.json()) as any).error.message).toContain('org_id')
    } finally {
      await g.stop()
    }
  })

  test('API keys keep working beside tokens', async () => {
    const client = sdk(KEY)
    const r = await client.responses.create({ model: 'test-model', input: 'by key' })
    expect((await gw.store.getResponse('key-team', r.id))?.status).toBe('completed')
  })

  test('the openai SDK WebSocket client runs turns with a token, in its tenant', async () => {
    const rws = new ResponsesWS(sdk(await token({ sub: 'dave' })))
    const completed: any[] = []
    rws.on('event', (e: any) => e.type === 'response.completed' && completed.push(e.response))
    up.queue({ text: 'over the socket' })
    rws.send({ type: 'response.create', model: 'test-model', input: 'ws turn' } as any)
    await waitFor('a completed turn', () => completed.length > 0, 10_000).finally(() => rws.close())
    expect(completed[0]?.output_text).toBe('over the socket')
    expect((await gw.store.getResponse('dave', completed[0].id))?.status).toBe('completed')
  })
})

describe('a WebSocket whose token expires', () => {
  test('gets an invalid_token error frame for the next response.create, and closes after the running turn', async () => {
    // Valid for about 3 more seconds: exp is in the past, but within the 30 s clock skew.
    const nowS = Math.floor(Date.now() / 1000)
    const expiresAtMs = (nowS - 27 + 30) * 1000
    const s = await openSocket(gw.url, { headers: { authorization: `Bearer ${await token({ sub: 'frank', exp: nowS - 27 })}` } })
    const { frames } = s
    // A turn while the token is valid; then a long one that is still running when it expires.
    up.queue({ text: 'before expiry' }, { text: 'one two three four five six seven eight nine ten eleven twelve', delayMs: 500 })
    s.create({ input: 'first' })
    expect((await s.next((f) => f.type === 'response.completed', 15_000)).response.output_text).toBe('before expiry')
    s.create({ input: 'long' })
    await s.next((f) => f.type === 'response.output_text.delta', 15_000)
    while (Date.now() <= expiresAtMs + 50) await Bun.sleep(20)
    s.create({ input: 'after expiry' })
    const error = await s.next((f) => f.type === 'error', 15_000)
    expect(error).toMatchObject({
      type: 'error',
      status: 401,
      code: 'invalid_token',
      error: { type: 'invalid_request_error', code: 'invalid_token' },
    })
    // The running turn is not cut: it completes, then the socket closes (1008), and the third request never ran.
    const end = await s.closed
    const completed = frames.filter((f) => f.type === 'response.completed')
    expect(completed.map((f) => f.response.output_text)).toEqual([
      'before expiry',
      'one two three four five six seven eight nine ten eleven twelve',
    ])
    expect(frames.indexOf(error)).toBeLessThan(frames.indexOf(completed[1]))
    expect(end).toEqual({ code: 1008, reason: 'invalid_token' })
    expect(up.requestsTo('/v1/responses').some((r) => JSON.stringify(r.body).includes('after expiry'))).toBe(false)
  }, 30_000)
})

/** What a 401 for a bad token looks like. */
async function expectInvalidToken(bearer: string, description: RegExp) {
  const r = await call('/v1/models', bearer)
  expect(r.status).toBe(401)
  expect(r.json).toEqual({
    error: { message: expect.stringMatching(description), type: 'invalid_request_error', param: null, code: 'invalid_token' },
  })
  expect(r.headers.get('www-authenticate')).toMatch(/^Bearer realm="agentgate", error="invalid_token", error_description="[^"]+"$/)
}

describe('a bad token is a 401 invalid_token', () => {
  test('expired (beyond the clock skew)', async () =>
    expectInvalidToken(await token({ exp: Math.floor(Date.now() / 1000) - 120 }), /expired/))
  test('no exp (it would never expire)', async () => expectInvalidToken(await token({ exp: undefined }), /no exp claim/))
  test('wrong audience', async () => expectInvalidToken(await token({ aud: 'someone-else' }), /audience/))
  test('wrong issuer', async () => expectInvalidToken(await token({ iss: 'http://127.0.0.1:1/evil' }), /issuer/))
  test('not valid yet (nbf in the future)', async () =>
    expectInvalidToken(await token({ nbf: Math.floor(Date.now() / 1000) + 600 }), /not valid yet/))
  test('azp that is not an accepted audience', async () => expectInvalidToken(await token({ azp: 'another-client' }), /azp/))
  test('no sub claim', async () => expectInvalidToken(await token({ sub: undefined }), /sub claim/))
  test('alg: none', async () => {
    const t = idp.unsigned({ sub: 'mallory' })
    tokens.push(t)
    await expectInvalidToken(t, /algorithm "none"/)
  })
  test('HS256 (a shared secret the IdP never publishes)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: idp.published[0].kid })).toString('base64url')
    const payload = Buffer.from(
      JSON.stringify({ iss: idp.issuer, aud: TEST_AUDIENCE, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 }),
    ).toString('base64url')
    const t = `${header}.${payload}.${Buffer.from('forged').toString('base64url')}`
    tokens.push(t)
    await expectInvalidToken(t, /algorithm "HS256"/)
  })
  test('wrong signature: the payload changed after signing', async () => {
    const [h, , sig] = (await token({ sub: 'alice' })).split('.')
    const forged = `${h}.${Buffer.from(JSON.stringify({ iss: idp.issuer, aud: TEST_AUDIENCE, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url')}.${sig}`
    tokens.push(forged)
    await expectInvalidToken(forged, /signature/)
  })
  test('signed by a key the IdP does not publish, under a published kid', async () => {
    const stranger = await idp.newKey('RS256', false)
    await expectInvalidToken(await token({}, { key: stranger, kid: idp.published[0].kid }), /signature/)
  })
  test('not a JWT and not a key', async () => {
    const r = await call('/v1/models', 'sk-not-a-key-and-not-a-jwt')
    expect(r.status).toBe(401)
    expect(r.json.error.code).toBe('invalid_api_key')
  })
  test('the SDK sees an AuthenticationError with code invalid_token', async () => {
    const err = await rejectionOf(sdk(await token({ aud: 'nope' })).responses.create({ model: 'test-model', input: 'hi' }))
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(err.code).toBe('invalid_token')
  })
  test('the WebSocket upgrade is refused with 401', async () => {
    expect(await upgradeOutcome(gw.url, { authorization: `Bearer ${await token({ aud: 'nope' })}` })).not.toBe('open')
  })
})

describe('key rotation', () => {
  test('a token with a new kid makes the gateway fetch the JWKS again; made-up kids right after do not', async () => {
    const before = idp.jwksFetches
    const fresh = await idp.newKey('ES256')
    expect((await call('/v1/models', await token({}, { key: fresh }))).status).toBe(200)
    expect(idp.jwksFetches).toBe(before + 1)
    // A second unknown kid within the rate limit: refused without asking the IdP again.
    const unpublished = await idp.newKey('RS256', false)
    await expectInvalidToken(await token({}, { key: unpublished }), /no signing key/)
    await expectInvalidToken(await token({}, { key: unpublished, kid: 'made-up' }), /no signing key/)
    expect(idp.jwksFetches).toBe(before + 1)
  })
})

describe('keys that cannot be fetched', () => {
  test('503 when the JWKS is down and no cached key fits; cached keys keep working', async () => {
    const idp2 = await startIdentityProvider()
    const g = await startGateway({ upstream: up.url, env: oidcEnv(idp2.issuer) })
    try {
      const old = await idp2.sign({ sub: 'erin' })
      tokens.push(old)
      expect((await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${old}` } })).status).toBe(200)
      idp2.jwksDown = true
      const rotated = await idp2.rotate()
      const t = await idp2.sign({ sub: 'erin' }, { key: rotated })
      tokens.push(t)
      const r = await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${t}` } })
      expect(r.status).toBe(503)
      const body = (await r.json()) as any
      expect(body.error).toMatchObject({ type: 'server_error', code: 'identity_provider_unavailable' })
      // the key fetched before still verifies its tokens
      expect((await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${old}` } })).status).toBe(200)
      expect(g.logs.join('\n')).not.toContain(t)
    } finally {
      await g.stop()
      await idp2.stop()
    }
  })

  test('503 when the IdP was never reachable', async () => {
    const idp3 = await startIdentityProvider()
    idp3.jwksDown = true
    const g = await startGateway({ upstream: up.url, env: oidcEnv(idp3.issuer) })
    try {
      const t = await idp3.sign()
      tokens.push(t)
      expect((await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${t}` } })).status).toBe(503)
    } finally {
      await g.stop()
      await idp3.stop()
    }
  })
})

describe('discovery', () => {
  test('a discovery document naming another issuer is not used: 503, and its keys are never fetched', async () => {
    const idp4 = await startIdentityProvider()
    idp4.discoveryIssuer = 'https://someone-else.example'
    const g = await startGateway({ upstream: up.url, env: oidcEnv(idp4.issuer) })
    try {
      const t = await idp4.sign()
      tokens.push(t)
      const r = await fetch(g.url + '/v1/models', { headers: { authorization: `Bearer ${t}` } })
      expect(r.status).toBe(503)
      expect(((await r.json()) as any).error.message).toContain('names issuer')
      expect(idp4.discoveryFetches).toBeGreaterThan(0)
      expect(idp4.jwksFetches).toBe(0)
    } finally {
      await g.stop()
      await idp4.stop()
    }
  })
})

describe('start-up', () => {
  test('an issuer without an audience (or the reverse) stops with one line', async () => {
    const { loadConfig, ConfigError } = await import('../../src/config')
    const load = (env: Record<string, string>) => () =>
      loadConfig({ flags: {}, env: { AGENTGATE_HOME: '/nonexistent', ...env }, readFile: () => null })
    expect(load({ AGENTGATE_OIDC_ISSUER: 'https://idp.example' })).toThrow(ConfigError)
    expect(load({ AGENTGATE_OIDC_ISSUER: 'https://idp.example' })).toThrow(/needs --oidc-audience/)
    expect(load({ AGENTGATE_OIDC_AUDIENCE: 'api' })).toThrow(/needs --oidc-issuer/)
  })

  test('the CLI exits 2 with that line', async () => {
    const p = await run([process.execPath, 'run', MAIN, 'serve', '--oidc-issuer', 'https://idp.example', '--port', '0'], {
      cwd: `${import.meta.dir}/../..`,
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', AGENTGATE_HOME: '/nonexistent' },
    })
    expect(p.code).toBe(2)
    const err = p.stderr
    expect(err.trim().split('\n')).toEqual(['agentgate: --oidc-issuer needs --oidc-audience too (OIDC takes both or neither)'])
  })
})

test('no token reaches the upstream, a log line or an answer', () => {
  expect(tokens.length).toBeGreaterThan(10)
  const upstreamHeaders = JSON.stringify(up.requests.map((r) => r.headers))
  const all = gw.logs.join('\n') + '\n' + bodies.join('\n')
  // the rejections were logged (at debug), by code
  expect(gw.logs.some((l) => l.includes('invalid_token'))).toBe(true)
  for (const t of tokens) {
    expect(upstreamHeaders).not.toContain(t)
    expect(all).not.toContain(t)
    // nor its signature alone
    expect(all).not.toContain(t.split('.')[2] || 'no-signature-part')
  }
})

test('a gateway without an OIDC issuer never loads jose; one with an issuer verifies tokens with it', async () => {
  expect(await loadedModules(['jose'], { upstream: up.url, requests: ['/health', '/v1/models'] })).toEqual({
    atStart: { jose: false },
    statuses: [200, 200],
    afterRequests: { jose: false },
  })
  // the gateway of this file (an issuer configured) still verifies a token
  expect((await call('/v1/models', await token())).status).toBe(200)
})
