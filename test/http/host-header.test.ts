// Whatever the Host header says — one to three characters (a service called `api` on port 80), none at all,
// an empty or invalid one, an IPv6 literal with a port — and whatever form the request target takes, routing,
// auth and the metrics see the request's real path. Sent as raw bytes over TCP, since fetch() and WebSocket
// clients always send a well-formed Host of their own.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { rawRequest, upgradeHead } from '../support/raw-http'

const KEY = 'sk-host-header-test-3b9f'

/** Host header lines that must not change what is routed (the empty list sends none, over HTTP/1.0). */
const HOSTS: { name: string; lines: string[]; version?: '1.0' }[] = [
  { name: 'Host: x', lines: ['Host: x'] },
  { name: 'Host: api', lines: ['Host: api'] },
  { name: 'Host: ab:80', lines: ['Host: ab:80'] },
  { name: 'Host: [::1]:9000', lines: ['Host: [::1]:9000'] },
  { name: 'Host: localhost:8080', lines: ['Host: localhost:8080'] },
  { name: 'no Host (HTTP/1.0)', lines: [], version: '1.0' },
  { name: 'an empty Host', lines: ['Host: '] },
  { name: 'an invalid Host (a b)', lines: ['Host: a b'] },
]

let up: FakeUpstream
let open: TestGateway
let keyed: TestGateway

beforeAll(async () => {
  up = startFakeUpstream()
  open = await startGateway({ upstream: up.url })
  keyed = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: KEY } })
})
afterAll(async () => {
  await open?.stop()
  await keyed?.stop()
  await up?.stop()
})

const portOf = (gw: TestGateway) => gw.app.server!.port!
const get = (gw: TestGateway, target: string, host: (typeof HOSTS)[number], extra: string[] = []) =>
  rawRequest(portOf(gw), [`GET ${target} HTTP/${host.version ?? '1.1'}`, ...host.lines, ...extra].join('\r\n'))
const json = (body: string) => JSON.parse(body)

test('the installed Elysia carries patches/elysia@1.4.30.patch (run `bun install` when this fails)', async () => {
  const composed = await Bun.file(join(import.meta.dir, '../../node_modules/elysia/dist/adapter/bun/compose.mjs')).text()
  expect(composed).not.toContain("indexOf('/',${app.config.handler?.standardHostname")
})

describe.each(HOSTS)('with $name', (host) => {
  test('GET /v1/models lists the models and /health answers', async () => {
    const models = await get(open, '/v1/models', host)
    expect(models.status).toBe(200)
    expect(json(models.body).data.map((m: { id: string }) => m.id)).toEqual(['test-model'])
    expect((await get(open, '/health', host)).status).toBe(200)
  })

  test('a stored response is found by its id at /v1/responses/{id}, and its input items too', async () => {
    const created = await fetch(`${open.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'hi' }),
    })
    const id = ((await created.json()) as { id: string }).id
    const one = await get(open, `/v1/responses/${id}`, host)
    expect(one.status).toBe(200)
    expect(json(one.body).id).toBe(id)
    const items = await get(open, `/v1/responses/${id}/input_items?limit=1`, host)
    expect(items.status).toBe(200)
    expect(json(items.body).data).toHaveLength(1)
  })

  test('doubled or foreign prefixes are unknown routes: /v1/v1/models, /zz/docs/json, /zzzzzz/v1/models', async () => {
    for (const target of ['/v1/v1/models', '/zz/docs/json', '/zzzzzz/v1/models', '/v1/responses/v1/models']) {
      const r = await get(open, target, host)
      expect({ target, status: r.status }).toEqual({ target, status: 404 })
      expect(json(r.body).error).toMatchObject({ code: 'unknown_url', message: `Unknown route: GET ${target}` })
    }
  })

  test('with API keys, /v1/health and /v1/responses/health need a key; /health and /docs/json stay open', async () => {
    for (const target of ['/v1/health', '/v1/models', '/v1/responses/health', '/zz/v1/health']) {
      const r = await get(keyed, target, host)
      expect({ target, status: r.status }).toEqual({ target, status: 401 })
      expect(json(r.body).error.code).toBe('invalid_api_key')
    }
    expect((await get(keyed, '/v1/models', host, [`Authorization: Bearer ${KEY}`])).status).toBe(200)
    expect((await get(keyed, '/health', host)).status).toBe(200)
    expect((await get(keyed, '/docs/json', host)).status).toBe(200)
  })

  if (host.version !== '1.0')
    test('the WebSocket upgrade of /v1/responses switches protocols (and needs the key when keys are on)', async () => {
      const up1 = await rawRequest(portOf(open), upgradeHead('/v1/responses', host.lines))
      expect(up1.status).toBe(101)
      expect((await rawRequest(portOf(keyed), upgradeHead('/v1/responses', host.lines))).status).toBe(401)
      expect((await rawRequest(portOf(keyed), upgradeHead('/v1/responses', [...host.lines, `Authorization: Bearer ${KEY}`]))).status).toBe(
        101,
      )
      expect((await rawRequest(portOf(open), upgradeHead('/v1/v1/responses', host.lines))).status).toBe(404)
    })
})

describe('request targets', () => {
  const host = HOSTS[0]

  test('an absolute-form target routes by its path: GET http://other/v1/models', async () => {
    const r = await get(open, 'http://other.example/v1/models?x=1', host)
    expect(r.status).toBe(200)
    expect(json(r.body).object).toBe('list')
  })

  test('an absolute-form target without a Host (HTTP/1.0) routes by its path, doubled prefixes included', async () => {
    const noHost = HOSTS.find((h) => h.version === '1.0')!
    expect((await get(open, 'http://other.example/v1/models', noHost)).status).toBe(200)
    expect((await get(open, 'http://other.example/v1/v1/models', noHost)).status).toBe(404)
    expect((await get(keyed, 'http://x/v1/health', noHost)).status).toBe(401)
  })

  test('a query string with slashes does not move the path: /v1/responses/{id}?include=a/b', async () => {
    const r = await get(open, '/v1/responses/resp_missing?include=a/b/c', host)
    expect(r.status).toBe(404)
    expect(json(r.body).error.code).not.toBe('unknown_url')
  })

  test('the request metrics count short-Host requests under their real route', async () => {
    await get(open, '/v1/models', host)
    await get(open, '/v1/v1/models', host)
    const text = await (await fetch(`${open.url}/metrics`)).text()
    expect(text).toMatch(/agentgate_http_requests_total\{route="\/v1\/models",method="GET",status="200"\} \d+/)
    expect(text).not.toMatch(/route="\/models"/)
  })
})
