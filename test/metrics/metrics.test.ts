// GET /metrics scraped after real traffic through a real gateway (HTTP JSON, SSE, WebSocket, upstream failures,
// 404s), read by a strict Prometheus text parser; and the request/response ids on the log lines of that traffic.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { parseSse } from '../support/sse'
import { openSocket, socketTurn } from '../support/ws-client'
import { waitFor } from '../support/wait'
import { parsePrometheusText, sampleValue, samplesOf, type MetricFamily } from './prometheus'

let up: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  up = startFakeUpstream()
  // Short upstream timeouts so a slow and a stalled upstream fail quickly.
  gw = await startGateway({
    upstream: up.url,
    env: { AGENTGATE_FIRST_BYTE_TIMEOUT_MS: '400', AGENTGATE_IDLE_TIMEOUT_MS: '400', AGENTGATE_MAX_BODY_BYTES: '65536' },
  })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

async function scrape(url = gw.url): Promise<Map<string, MetricFamily>> {
  const r = await fetch(`${url}/metrics`)
  expect(r.status).toBe(200)
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
  return parsePrometheusText(await r.text())
}

/** Scrapes until `pred` holds (gauges settle a moment after a socket or stream closes). */
async function scrapeUntil(
  pred: (m: Map<string, MetricFamily>) => boolean,
  what: string,
  url = gw.url,
): Promise<Map<string, MetricFamily>> {
  return waitFor(`metrics to show ${what}`, async () => {
    const m = await scrape(url)
    return pred(m) ? m : null
  })
}

const post = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  fetch(`${gw.baseURL}/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'test-model', ...body }),
  })

const gauge = (m: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}) => sampleValue(m, name, labels)

describe('GET /metrics', () => {
  test('after real traffic it is valid Prometheus text with every series, counted by route pattern', async () => {
    // Three turns that complete, one per edge, with known usage.
    up.queue({ text: 'a JSON answer', usage: { input_tokens: 11, output_tokens: 5 } })
    const json = await post({ input: 'json please' }, { 'x-request-id': 'req-metrics-json' })
    expect(json.status).toBe(200)
    const jsonResponse = (await json.json()) as any

    up.queue({ text: 'an answer streamed as events', usage: { input_tokens: 13, output_tokens: 8 } })
    const sse = await post({ input: 'stream please', stream: true })
    const sseDone = parseSse(await sse.text()).find((e) => e.type === 'response.completed')

    up.queue({ text: 'a socket answer', usage: { input_tokens: 17, output_tokens: 9 } })
    const wsDone = await socketTurn(gw.url, { input: 'socket please' })
    expect(wsDone.type).toBe('response.completed')
    const usages = [jsonResponse.usage, sseDone.response.usage, wsDone.response.usage]

    // Four that fail: an error status, no headers in time, a dropped stream, a stream gone idle (no delta yet).
    up.queue({ fault: 'status', status: 500 })
    expect((await post({ input: 'fail: status' })).status).toBe(502)
    up.queue({ fault: 'slow', delayMs: 1500 })
    expect((await post({ input: 'fail: slow' })).status).toBe(504)
    up.queue({ fault: 'drop', afterEvents: 3 })
    expect((await post({ input: 'fail: drop' })).status).toBe(502)
    up.queue({ fault: 'stall', afterEvents: 3, stallMs: 1500 })
    expect((await post({ input: 'fail: stall' })).status).toBe(504)

    // Retrieves: one found, one unknown id, and a route that does not exist.
    expect((await fetch(`${gw.baseURL}/responses/${jsonResponse.id}`)).status).toBe(200)
    expect((await fetch(`${gw.baseURL}/responses/resp_doesnotexist`)).status).toBe(404)
    expect((await fetch(`${gw.url}/no/such/route`)).status).toBe(404)

    const m = await scrapeUntil(
      (x) => gauge(x, 'agentgate_active_websockets') === 0 && gauge(x, 'agentgate_active_turns') === 0,
      'no socket or turn open',
    )

    // Requests by route pattern, method and status; ids never become labels.
    const requests = (labels: Record<string, string>) => sampleValue(m, 'agentgate_http_requests_total', labels)
    expect(requests({ route: '/v1/responses', method: 'POST', status: '200' })).toBe(2)
    expect(requests({ route: '/v1/responses', method: 'POST', status: '502' })).toBe(2)
    expect(requests({ route: '/v1/responses', method: 'POST', status: '504' })).toBe(2)
    expect(requests({ route: '/v1/responses', method: 'GET', status: '101' })).toBe(1) // the WebSocket upgrade
    expect(requests({ route: '/v1/responses/:id', method: 'GET', status: '200' })).toBe(1)
    expect(requests({ route: '/v1/responses/:id', method: 'GET', status: '404' })).toBe(1)
    expect(requests({ route: 'unmatched', method: 'GET', status: '404' })).toBe(1)
    const routes = samplesOf(m, 'agentgate_http_requests_total').map((s) => s.labels.route)
    expect(routes.filter((r) => r!.includes('resp_') || r!.includes('/no/such'))).toEqual([])
    expect(sampleValue(m, 'agentgate_http_request_duration_seconds_count', { route: '/v1/responses', method: 'POST' })).toBe(6)
    expect(sampleValue(m, 'agentgate_http_request_duration_seconds_sum', { route: '/v1/responses', method: 'POST' })).toBeGreaterThan(0)

    // Tokens are the sum of the final usage of the turns made; turns by status.
    expect(sampleValue(m, 'agentgate_output_tokens_total', { model: 'test-model' })).toBe(usages.reduce((n, u) => n + u.output_tokens, 0))
    expect(sampleValue(m, 'agentgate_input_tokens_total', { model: 'test-model' })).toBe(usages.reduce((n, u) => n + u.input_tokens, 0))
    expect(sampleValue(m, 'agentgate_output_tokens_total', { model: 'test-model' })).toBe(22)
    expect(sampleValue(m, 'agentgate_turns_total', { status: 'completed' })).toBe(3)
    expect(sampleValue(m, 'agentgate_turns_total', { status: 'failed' })).toBe(4)
    expect(sampleValue(m, 'agentgate_turns_total', { status: 'incomplete' })).toBe(0)
    expect(sampleValue(m, 'agentgate_turns_total', { status: 'cancelled' })).toBe(0)

    // Time to first token: the two streamed turns that produced a delta (SSE, socket). The JSON turn asked the upstream
    // for its whole answer: no first token to time.
    expect(sampleValue(m, 'agentgate_time_to_first_token_seconds_count', { model: 'test-model' })).toBe(2)
    expect(sampleValue(m, 'agentgate_time_to_first_token_seconds_sum', { model: 'test-model' })).toBeGreaterThan(0)

    // Upstream: every call that got headers is timed; each failure is counted once, by kind.
    expect(sampleValue(m, 'agentgate_upstream_request_duration_seconds_count', { path: '/responses' })).toBe(6)
    expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind: 'status' })).toBe(1)
    expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind: 'timeout' })).toBe(2)
    expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind: 'stream' })).toBe(1)
    expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind: 'unreachable' })).toBe(0)

    // Store operations are timed by Store method: every turn is created once; the streamed ones (SSE, WebSocket) are
    // finished in a second write, the JSON ones are created whole at their end (one write).
    const ops = samplesOf(m, 'agentgate_store_query_duration_seconds_count').map((s) => s.labels.operation)
    expect(ops).toEqual(expect.arrayContaining(['createResponse', 'finishResponse', 'getResponse']))
    expect(sampleValue(m, 'agentgate_store_query_duration_seconds_count', { operation: 'createResponse' })).toBe(7)
    expect(sampleValue(m, 'agentgate_store_query_duration_seconds_count', { operation: 'finishResponse' })).toBe(2)

    // Nothing is open any more.
    for (const name of [
      'agentgate_active_sse_streams',
      'agentgate_active_websockets',
      'agentgate_websocket_queued_requests',
      'agentgate_active_turns',
    ])
      expect({ name, value: gauge(m, name) }).toEqual({ name, value: 0 })
    expect(gauge(m, 'agentgate_background_turns', { state: 'queued' })).toBe(0)
    expect(gauge(m, 'agentgate_background_turns', { state: 'running' })).toBe(0)
    expect(gauge(m, 'agentgate_build_info', { version: 'test' })).toBe(1)
  })

  test('a request refused before routing (body over the limit) counts once, under the route it was for', async () => {
    const before = await scrape()
    const r = await post({ input: 'x'.repeat(100_000) })
    expect(r.status).toBe(413)
    const m = await scrape()
    const count = (x: Map<string, MetricFamily>, labels: Record<string, string>) =>
      sampleValue(x, 'agentgate_http_requests_total', labels) ?? 0
    expect(
      count(m, { route: '/v1/responses', method: 'POST', status: '413' }) -
        count(before, { route: '/v1/responses', method: 'POST', status: '413' }),
    ).toBe(1)
    expect(count(m, { route: 'unmatched', method: 'POST', status: '413' })).toBe(0)
  })

  test('gauges show live SSE streams, sockets, queued requests and background turns, and fall back to zero', async () => {
    // An SSE stream still being written.
    up.queue({ text: 'one two three four five six', delayMs: 60 })
    const sse = await post({ input: 'slow stream', stream: true })
    const reader = sse.body!.getReader()
    await reader.read()
    let m = await scrape()
    expect(gauge(m, 'agentgate_active_sse_streams')).toBe(1)
    expect(gauge(m, 'agentgate_active_turns')).toBe(1)
    while (!(await reader.read()).done);
    await scrapeUntil((x) => gauge(x, 'agentgate_active_sse_streams') === 0, 'the SSE stream closed')

    // A socket with one turn running and one queued behind it.
    up.queue({ text: 'first of two on a socket', delayMs: 60 }, { text: 'second' })
    const ws = await openSocket(gw.url)
    ws.create({ input: 'one' })
    ws.create({ input: 'two' })
    m = await scrapeUntil((x) => gauge(x, 'agentgate_websocket_queued_requests') === 1, 'one request queued')
    expect(gauge(m, 'agentgate_active_websockets')).toBe(1)
    await ws.until(() => ws.frames.filter((f) => f.type === 'response.completed').length === 2, 'two completed turns')
    m = await scrape()
    expect(gauge(m, 'agentgate_websocket_queued_requests')).toBe(0)
    ws.close()
    await scrapeUntil((x) => gauge(x, 'agentgate_active_websockets') === 0, 'the socket closed')

    // A background turn.
    up.queue({ text: 'working in the background for a while', delayMs: 60 })
    const bg = await post({ input: 'background', background: true })
    const id = ((await bg.json()) as any).id
    await scrapeUntil((x) => gauge(x, 'agentgate_background_turns', { state: 'running' }) === 1, 'a background turn running')
    await waitFor(
      'the background turn to complete',
      async () => ((await (await fetch(`${gw.baseURL}/responses/${id}`)).json()) as any).status === 'completed',
    )
    m = await scrapeUntil((x) => gauge(x, 'agentgate_background_turns', { state: 'running' }) === 0, 'the background turn done')
    expect(gauge(m, 'agentgate_background_turns', { state: 'queued' })).toBe(0)
  })

  test('is not in the OpenAPI document (an operator endpoint, like the scrape config that reads it)', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as any
    expect(doc.paths['/metrics']).toBeUndefined()
  })
})

describe('logs', () => {
  const lines = () => gw.logs.map((l) => JSON.parse(l))

  test('turn lines carry response_id and request_id; the access line carries the request id, route and status', async () => {
    up.queue({ text: 'logged answer' })
    const r = await post({ input: 'log me' }, { 'x-request-id': 'req-log-correlation' })
    const body = (await r.json()) as any
    expect(r.headers.get('x-request-id')).toBe('req-log-correlation')
    // the stored row keeps the same id: logs ↔ response row
    expect((await gw.store.getResponse('default', body.id))?.requestId).toBe('req-log-correlation')
    await Bun.sleep(20)
    const mine = lines().filter((l) => l.request_id === 'req-log-correlation')
    expect(mine.find((l) => l.msg === 'turn finished')).toMatchObject({ response_id: body.id, status: 'completed' })
    expect(mine.find((l) => l.msg === 'request')).toMatchObject({
      level: 'debug',
      method: 'POST',
      route: '/v1/responses',
      path: '/v1/responses',
      status: 200,
      duration_ms: expect.any(Number),
    })
    // every line about a response says which request it belongs to
    for (const l of lines().filter((x) => x.response_id))
      expect({ msg: l.msg, request_id: typeof l.request_id }).toEqual({ msg: l.msg, request_id: 'string' })
  })
})

describe('an upstream that cannot be reached', () => {
  test('counts as unreachable once (not again as a stream failure); quiet access log at info, warnings with ids', async () => {
    // A port nothing listens on.
    const closed = Bun.serve({ port: 0, fetch: () => new Response() })
    const port = closed.port
    await closed.stop(true)
    const down = await startGateway({ upstream: `http://127.0.0.1:${port}/v1`, logLevel: 'info' })
    try {
      const r = await fetch(`${down.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-unreachable' },
        body: JSON.stringify({ model: 'test-model', input: 'anyone there?' }),
      })
      expect(r.status).toBe(502)
      const m = await scrape(down.url)
      expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind: 'unreachable' })).toBe(1)
      for (const kind of ['timeout', 'status', 'stream']) expect(sampleValue(m, 'agentgate_upstream_errors_total', { kind })).toBe(0)
      expect(sampleValue(m, 'agentgate_turns_total', { status: 'failed' })).toBe(1)
      expect(sampleValue(m, 'agentgate_upstream_request_duration_seconds_count', { path: '/responses' })).toBeUndefined()
      const logs = down.logs.map((l) => JSON.parse(l))
      expect(logs.filter((l) => l.msg === 'request')).toEqual([])
      expect(logs.find((l) => l.msg === 'turn failed')).toMatchObject({
        level: 'warn',
        request_id: 'req-unreachable',
        response_id: expect.stringMatching(/^resp_/),
      })
      expect(logs.find((l) => l.msg === 'upstream failure')).toMatchObject({ level: 'warn', request_id: 'req-unreachable', status: 502 })
    } finally {
      await down.stop()
    }
  })
})

describe('store writes of a turn', () => {
  const storeOps = async () =>
    Object.fromEntries(
      samplesOf(await scrape(), 'agentgate_store_query_duration_seconds_count').map((s) => [s.labels.operation, s.value]),
    ) as Record<string, number>

  test('a JSON turn is written to the store once, whole, when it has ended', async () => {
    const before = await storeOps()
    up.queue({ text: 'one write', chunks: 4, delayMs: 20 })
    const res = await post({ input: 'store me once' })
    expect(res.status).toBe(200)
    const r = (await res.json()) as any
    const after = await storeOps()
    const changed = Object.fromEntries(
      Object.entries(after)
        .filter(([op, n]) => n !== (before[op] ?? 0))
        .map(([op, n]) => [op, n - (before[op] ?? 0)]),
    )
    expect(changed).toEqual({ createResponse: 1 })
    // …and that one write holds all of it: the ended response, its input and its output
    const stored = (await (await fetch(`${gw.baseURL}/responses/${r.id}`)).json()) as any
    expect(stored).toEqual(r)
    expect(stored.status).toBe('completed')
    expect(stored.output_text).toBe('one write')
    const items = (await (await fetch(`${gw.baseURL}/responses/${r.id}/input_items`)).json()) as any
    expect(items.data.map((i: any) => i.content[0].text)).toEqual(['store me once'])
  })
})
