// OpenTelemetry traces over OTLP/HTTP JSON to a loopback collector: a span per request (continuing an incoming
// traceparent), the turn under it, the upstream call, store transactions and tool calls under the turn, with the
// GenAI attributes; the upstream gets a traceparent naming our span. A collector that is down or hangs never
// touches a request; without --otel-endpoint nothing is sent and no traceparent is made up.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { loadConfig } from '../../src/config'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { waitFor } from '../support/wait'
import { socketTurn } from '../support/ws-client'
import { rawRequest } from '../support/raw-http'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver'

const SERVER = 2
const CLIENT = 3

let up: FakeUpstream
let rx: OtlpReceiver
let gw: TestGateway
let client: OpenAI

beforeAll(async () => {
  up = startFakeUpstream()
  rx = startOtlpReceiver()
  gw = await startGateway({
    upstream: up.url,
    env: {
      AGENTGATE_OTEL_ENDPOINT: rx.url,
      AGENTGATE_OTEL_SERVICE_NAME: 'gateway-under-test',
      AGENTGATE_OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,team=ml%20platform',
    },
  })
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
  await rx.stop()
})

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

const inTrace = (traceId: string) => (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId)
const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId)

describe('a streamed turn', () => {
  let trace: ReceivedSpan[]
  let responseId: string
  let upstreamTraceparent: string | undefined

  beforeAll(async () => {
    up.queue({ text: 'traced answer', usage: { input_tokens: 21, output_tokens: 9 } })
    const stream = await client.responses.create(
      { model: 'test-model', input: 'trace me', stream: true, max_output_tokens: 64, temperature: 0.5 },
      { headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` } },
    )
    for await (const ev of stream) if (ev.type === 'response.completed') responseId = ev.response.id as string
    upstreamTraceparent = up.requestsTo('/v1/responses').at(-1)?.headers.traceparent
    // request, turn, upstream call, two store transactions
    trace = inTrace(CLIENT_TRACE)(
      await rx.waitFor((s) => inTrace(CLIENT_TRACE)(s).length >= 5 && inTrace(CLIENT_TRACE)(s).some((x) => x.name.startsWith('turn'))),
    )
  })

  test('the request span continues the incoming traceparent and carries the HTTP attributes', () => {
    const server = trace.find((s) => s.kind === SERVER)!
    expect(server).toBeDefined()
    expect(server.parentSpanId).toBe(CLIENT_SPAN)
    expect(server.name).toBe('POST /v1/responses')
    expect(server.attrs).toMatchObject({
      'http.request.method': 'POST',
      'url.path': '/v1/responses',
      'http.route': '/v1/responses',
      'http.response.status_code': 200,
    })
    expect(server.resource).toMatchObject({ 'service.name': 'gateway-under-test', 'deployment.environment': 'test', team: 'ml platform' })
    expect(server.scope.name).toBe('agentgate')
  })

  test('request → turn → upstream call, with the GenAI attributes', () => {
    const server = trace.find((s) => s.kind === SERVER)!
    const turn = childrenOf(trace, server).find((s) => s.name === 'turn test-model')!
    expect(turn).toBeDefined()
    expect(turn.attrs).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'test-model',
      'gen_ai.response.id': responseId,
      'gen_ai.response.model': 'test-model',
      'gen_ai.usage.input_tokens': 21,
      'gen_ai.usage.output_tokens': 9,
      'gen_ai.response.finish_reasons': ['completed'],
      'agentgate.stream': true,
    })
    const call = childrenOf(trace, turn).find((s) => s.kind === CLIENT && s.name === 'chat test-model')!
    expect(call).toBeDefined()
    expect(call.attrs).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'test-model',
      'gen_ai.request.max_tokens': 64,
      'gen_ai.request.temperature': 0.5,
      'gen_ai.usage.input_tokens': 21,
      'gen_ai.usage.output_tokens': 9,
    })
    // the upstream's own response id, not ours
    expect(call.attrs['gen_ai.response.id']).toMatch(/^resp_vllm/)
    expect(BigInt(call.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(turn.startTimeUnixNano))
    expect(BigInt(call.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(turn.endTimeUnixNano))
  })

  test('the upstream receives a traceparent naming the upstream call span', () => {
    const call = trace.find((s) => s.name === 'chat test-model')!
    expect(upstreamTraceparent).toBe(`00-${CLIENT_TRACE}-${call.spanId}-01`)
  })

  test('store transactions are spans under the turn', () => {
    const turn = trace.find((s) => s.name === 'turn test-model')!
    const store = childrenOf(trace, turn).filter((s) => s.name.startsWith('store '))
    expect(store.map((s) => s.name).sort()).toEqual(['store createResponse', 'store finishResponse'])
    for (const s of store) expect(s.attrs['db.system.name']).toBe('sqlite')
  })
})

test('tool calls the model makes get a span each under the turn', async () => {
  up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}', call_id: 'call_w1' }] })
  const r = await client.responses.create({
    model: 'test-model',
    input: 'weather?',
    tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} }, strict: false }],
  })
  const spans = await rx.waitFor((s) => s.some((x) => x.name === 'execute_tool get_weather'))
  const tool = spans.find((x) => x.name === 'execute_tool get_weather')!
  const turn = spans.find((x) => x.spanId === tool.parentSpanId)!
  expect(turn.attrs['gen_ai.response.id']).toBe(r.id)
  expect(tool.attrs).toMatchObject({
    'gen_ai.operation.name': 'execute_tool',
    'gen_ai.tool.name': 'get_weather',
    'gen_ai.tool.call.id': 'call_w1',
    'gen_ai.tool.type': 'function',
  })
})

test('a WebSocket turn is a child of the upgrade request span', async () => {
  const done = await socketTurn(gw.url, { input: 'over ws' })
  expect(done.type).toBe('response.completed')
  const resp = done.response
  const spans = await rx.waitFor((s) => s.some((x) => x.attrs['gen_ai.response.id'] === resp.id))
  const turn = spans.find((x) => x.attrs['gen_ai.response.id'] === resp.id)!
  const upgrade = spans.find((x) => x.spanId === turn.parentSpanId)!
  expect(upgrade.kind).toBe(SERVER)
  expect(upgrade.attrs['url.path']).toBe('/v1/responses')
  expect(upgrade.attrs['http.request.method']).toBe('GET')
})

test("a pass-through call is a client span, and the upstream gets our traceparent instead of the client's", async () => {
  const traceId = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
  const r = await fetch(gw.url + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-bbbbbbbbbbbbbbbb-01` },
    body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
  })
  expect(r.status).toBe(200)
  await r.text()
  const spans = await rx.waitFor((s) => inTrace(traceId)(s).length >= 2)
  const call = inTrace(traceId)(spans).find((s) => s.kind === CLIENT)!
  const server = inTrace(traceId)(spans).find((s) => s.kind === SERVER)!
  expect(call.parentSpanId).toBe(server.spanId)
  expect(call.attrs).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 })
  expect(up.requestsTo('/v1/chat/completions').at(-1)?.headers.traceparent).toBe(`00-${traceId}-${call.spanId}-01`)
})

test('an incoming traceparent that is not sampled: nothing exported, the flag passed on', async () => {
  const traceId = 'cccccccccccccccccccccccccccccccc'
  await client.responses.create({ model: 'test-model', input: 'quiet' }, { headers: { traceparent: `00-${traceId}-dddddddddddddddd-00` } })
  expect(up.requestsTo('/v1/responses').at(-1)?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`))
  // a later sampled request's spans arrive; none of the unsampled trace did
  await client.responses.create(
    { model: 'test-model', input: 'marker' },
    { headers: { traceparent: `00-${'e'.repeat(32)}-${'f'.repeat(16)}-01` } },
  )
  await rx.waitFor((s) => inTrace('e'.repeat(32))(s).some((x) => x.name.startsWith('turn')))
  expect(inTrace(traceId)(rx.spans)).toEqual([])
})

test('an invalid traceparent starts a new trace', async () => {
  await client.responses.create(
    { model: 'test-model', input: 'bad parent' },
    { headers: { traceparent: `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01` } },
  )
  const sent = up.requestsTo('/v1/responses').at(-1)?.headers.traceparent
  expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  expect(sent!.slice(3, 35)).not.toBe('0'.repeat(32))
})

test('a request without a Host (or with an invalid one) is traced like any other', async () => {
  for (const lines of [['GET /v1/models HTTP/1.0'], ['GET /v1/models HTTP/1.1', 'Host: a b']]) {
    const traceId = crypto.randomUUID().replace(/-/g, '')
    const r = await rawRequest(gw.app.server!.port!, [...lines, `traceparent: 00-${traceId}-${'1'.repeat(16)}-01`].join('\r\n'))
    expect(r.status).toBe(200)
    const spans = await rx.waitFor((s) => inTrace(traceId)(s).some((x) => x.kind === SERVER))
    expect(inTrace(traceId)(spans).find((x) => x.kind === SERVER)!.attrs).toMatchObject({
      'url.path': '/v1/models',
      'http.route': '/v1/models',
      'http.response.status_code': 200,
    })
  }
})

test('spans are exported as OTLP JSON', () => {
  expect(rx.requests.length).toBeGreaterThan(0)
  for (const r of rx.requests) expect(r.contentType).toBe('application/json')
})

describe('a broken collector', () => {
  test('down: requests are unaffected, and the dropped spans are counted', async () => {
    const dead = startOtlpReceiver()
    const deadUrl = dead.url
    await dead.stop()
    const g = await startGateway({ upstream: up.url, env: { AGENTGATE_OTEL_ENDPOINT: deadUrl } })
    try {
      const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
      for (let i = 0; i < 5; i++) expect((await c.responses.create({ model: 'test-model', input: `n${i}` })).status).toBe('completed')
      const metrics = await waitFor(
        'dropped spans in /metrics',
        async () => {
          const text = await (await fetch(g.url + '/metrics')).text()
          return /agentgate_trace_spans_dropped_total\{reason="export_failed"\} [1-9]/.test(text) && text
        },
        10_000,
        100,
      )
      expect(metrics).toMatch(/agentgate_trace_spans_dropped_total\{reason="export_failed"\} [1-9]/)
      expect(g.logs.some((l) => l.includes('trace spans dropped'))).toBe(true)
    } finally {
      await g.stop()
    }
  })

  test('answering 503 or never answering: requests still complete', async () => {
    for (const mode of ['fail', 'hang'] as const) {
      const bad = startOtlpReceiver()
      bad.mode = mode
      const g = await startGateway({ upstream: up.url, env: { AGENTGATE_OTEL_ENDPOINT: bad.url } })
      try {
        const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
        for (let i = 0; i < 3; i++) {
          const stream = await c.responses.create({ model: 'test-model', input: `m${i}`, stream: true })
          let status = ''
          for await (const ev of stream) if (ev.type === 'response.completed') status = ev.response.status ?? ''
          expect([mode, status]).toEqual([mode, 'completed'])
        }
        await bad.waitFor(() => bad.requests.length > 0)
        expect(bad.requests.length).toBeGreaterThan(0)
      } finally {
        await bad.stop()
        await g.stop()
      }
    }
  })
})

test('without --otel-endpoint nothing is exported and no traceparent is made up', async () => {
  const quiet = startOtlpReceiver()
  const g = await startGateway({ upstream: up.url })
  try {
    const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
    await c.responses.create({ model: 'test-model', input: 'untraced' })
    expect(up.requestsTo('/v1/responses').at(-1)?.headers.traceparent).toBeUndefined()
    expect(quiet.requests).toEqual([])
  } finally {
    await g.stop()
    await quiet.stop()
  }
})

describe('settings', () => {
  const load = (env: Record<string, string>, flags: Record<string, string> = {}) =>
    loadConfig({ flags, env: { AGENTGATE_HOME: '/nonexistent', ...env }, readFile: () => null })

  test('the OpenTelemetry environment conventions are honoured', () => {
    const c = load({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'gw',
      OTEL_RESOURCE_ATTRIBUTES: 'a=1,b=two%2Cthree',
    })
    expect([c.otelEndpoint, c.otelServiceName, c.otelResourceAttributes]).toEqual([
      'http://collector:4318',
      'gw',
      { a: '1', b: 'two,three' },
    ])
  })

  test('our own settings win over OTEL_*; service.name from the attributes when no name is set', () => {
    const c = load({ OTEL_SERVICE_NAME: 'gw', AGENTGATE_OTEL_SERVICE_NAME: 'mine' }, { '--otel-endpoint': 'http://127.0.0.1:4318' })
    expect(c.otelServiceName).toBe('mine')
    expect(load({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs,x=y' }).otelServiceName).toBe('from-attrs')
    expect(load({}).otelServiceName).toBe('agentgate')
    expect(load({}).otelEndpoint).toBeNull()
  })

  test('a resource attribute without = stops start-up', () => {
    expect(() => load({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' })).toThrow(/OTEL_RESOURCE_ATTRIBUTES/)
  })
})

test('a turn with gateway-run tools: one model-call span per round, and a span for the search the gateway ran', async () => {
  const search = { kind: 'searxng' as const, search: async () => [{ url: 'https://bun.sh/', title: 'Bun', snippet: 'runtime' }] }
  const traced = await startGateway({ upstream: up.url, env: { AGENTGATE_OTEL_ENDPOINT: rx.url }, webSearch: search })
  try {
    const c = new OpenAI({ baseURL: traced.baseURL, apiKey: 'unused', maxRetries: 0 })
    up.queue({ functionCalls: [{ name: 'web_search', arguments: '{"query":"bun"}' }] })
    up.queue({ text: 'found it' })
    const r = await c.responses.create({ model: 'test-model', input: 'search', tools: [{ type: 'web_search' }] })
    const spans = await rx.waitFor((s) => s.some((x) => x.attrs['gen_ai.response.id'] === r.id && x.name.startsWith('turn')))
    const turn = spans.find((x) => x.attrs['gen_ai.response.id'] === r.id && x.name.startsWith('turn'))!
    const children = await rx.waitFor((s) => s.filter((x) => x.parentSpanId === turn.spanId).length >= 3)
    const under = children.filter((x) => x.parentSpanId === turn.spanId).map((x) => x.name)
    expect(under.filter((n) => n === 'chat test-model')).toHaveLength(2)
    expect(under).toContain('execute_tool web_search_call')
  } finally {
    await traced.stop()
  }
})
