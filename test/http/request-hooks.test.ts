// What every request pays for before its route runs. Elysia compiles each route's handler from what the route and the
// app-wide hooks (app.ts: request id, auth, body limit, metrics, tracing) say they read; a hook that took the whole
// context made every request parse its cookies and query and copy all its headers, which no route of ours reads.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

let upstream: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  upstream = startFakeUpstream()
  gw = await startGateway({ upstream: upstream.url, logLevel: 'warn', env: { AGENTGATE_MAX_BODY_BYTES: '65536' } })
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** The source of the handler Elysia compiled for a route. */
function compiledHandler(method: string, path: string): string {
  const route = (gw.app.routes as { method: string; path: string; compile?: () => unknown }[]).find(
    (r) => r.method === method && r.path === path,
  )
  if (!route?.compile) throw new Error(`no compiled route ${method} ${path}`)
  return String(route.compile())
}

for (const [method, path] of [
  ['POST', '/v1/responses'],
  ['POST', '/v1/chat/completions'],
  ['POST', '/v1/messages'],
  ['GET', '/v1/responses/:id'],
] as const)
  test(`${method} ${path} parses no cookies and copies no headers on each request`, () => {
    const source = compiledHandler(method, path)
    expect(source).not.toContain('parseCookie(')
    expect(source).not.toContain('headers.toJSON()')
    expect(source).not.toContain("Object.defineProperty(c,'server'")
  })

test('POST /v1/chat/completions does not parse the query it passes on untouched', () => {
  expect(compiledHandler('POST', '/v1/chat/completions')).not.toContain('parseQueryFromURL(')
})

test('the request hooks still count, time and label each request, and keep the body limit', async () => {
  const big = JSON.stringify({ model: 'm', input: 'x'.repeat(100_000) })
  const tooLarge = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big })
  expect(tooLarge.status).toBe(413)
  expect(tooLarge.headers.get('x-request-id')).toBeTruthy()
  const ok = await fetch(`${gw.url}/v1/chat/completions?a=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: 'session=abc', 'x-request-id': 'req-hooks-1' },
    body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(ok.status).toBe(200)
  expect(ok.headers.get('x-request-id')).toBe('req-hooks-1')
  await ok.arrayBuffer()
  const metrics = await (await fetch(`${gw.url}/metrics`)).text()
  expect(metrics).toMatch(/agentgate_http_requests_total\{[^}]*route="\/v1\/chat\/completions"[^}]*status="200"[^}]*\} 1/)
  expect(metrics).toMatch(/agentgate_http_requests_total\{[^}]*route="\/v1\/responses"[^}]*status="413"[^}]*\} 1/)
})
