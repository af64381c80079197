// GET /metrics beyond the gateway's own series: the process series in Prometheus' standard names (memory, CPU,
// file descriptors, heap, event-loop lag), pass-through SSE streams in agentgate_active_sse_streams, and
// --metrics-public (scraping without a key while every other route still needs one). Parsed strictly.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { openSocket } from '../support/ws-client'
import { waitFor } from '../support/wait'
import { parsePrometheusText, sampleValue, type MetricFamily } from './prometheus'

let up: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

async function scrape(url = gw.url, headers: Record<string, string> = {}): Promise<Map<string, MetricFamily>> {
  const r = await fetch(`${url}/metrics`, { headers })
  expect(r.status).toBe(200)
  return parsePrometheusText(await r.text())
}

async function scrapeUntil(pred: (m: Map<string, MetricFamily>) => boolean, what: string): Promise<Map<string, MetricFamily>> {
  return waitFor(`metrics to show ${what}`, async () => {
    const m = await scrape()
    return pred(m) ? m : null
  })
}

const value = (m: Map<string, MetricFamily>, name: string) => {
  const v = sampleValue(m, name, {})
  if (v === undefined) throw new Error(`no sample ${name}`)
  return v
}

describe('process series', () => {
  test('memory, CPU, file descriptors, heap and event-loop lag, with their Prometheus names and types', async () => {
    // A little work, so CPU time and the loop have something to show.
    for (let i = 0; i < 20; i++) await fetch(`${gw.url}/health`)
    await Bun.sleep(600) // at least two samples of the event-loop lag timer
    const m = await scrape()
    const types: Record<string, string> = {
      process_resident_memory_bytes: 'gauge',
      process_cpu_seconds_total: 'counter',
      process_cpu_user_seconds_total: 'counter',
      process_cpu_system_seconds_total: 'counter',
      process_start_time_seconds: 'gauge',
      process_open_fds: 'gauge',
      process_max_fds: 'gauge',
      nodejs_heap_size_used_bytes: 'gauge',
      nodejs_heap_size_total_bytes: 'gauge',
      nodejs_external_memory_bytes: 'gauge',
      nodejs_eventloop_lag_seconds: 'gauge',
      nodejs_eventloop_lag_max_seconds: 'gauge',
    }
    for (const [name, type] of Object.entries(types))
      expect({ name, type: m.get(name)?.type as string | undefined }).toEqual({ name, type })

    expect(value(m, 'process_resident_memory_bytes')).toBeGreaterThan(1024 * 1024)
    expect(value(m, 'process_resident_memory_bytes')).toBe(Math.round(value(m, 'process_resident_memory_bytes')))
    const cpu = value(m, 'process_cpu_seconds_total')
    expect(cpu).toBeGreaterThan(0)
    expect(cpu).toBeCloseTo(value(m, 'process_cpu_user_seconds_total') + value(m, 'process_cpu_system_seconds_total'), 5)
    const start = value(m, 'process_start_time_seconds')
    expect(start).toBeLessThanOrEqual(Date.now() / 1000)
    expect(start).toBeGreaterThan(Date.now() / 1000 - 24 * 3600)
    // stdin/out/err, the listening socket, the database: at least a handful, below the limit
    const fds = value(m, 'process_open_fds')
    expect(fds).toBeGreaterThanOrEqual(4)
    expect(fds).toBeLessThan(value(m, 'process_max_fds'))
    expect(value(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0)
    expect(value(m, 'nodejs_heap_size_used_bytes')).toBeLessThanOrEqual(value(m, 'nodejs_heap_size_total_bytes'))
    expect(value(m, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0)
    expect(value(m, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(value(m, 'nodejs_eventloop_lag_seconds'))

    // CPU time only grows; open descriptors follow what is open.
    const sockets = await Promise.all(Array.from({ length: 5 }, () => openSocket(gw.url)))
    const later = await scrape()
    expect(value(later, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(cpu)
    // the test and the gateway share this process: each socket is two descriptors here (client and server end)
    expect(value(later, 'process_open_fds')).toBeGreaterThanOrEqual(fds + 5)
    for (const ws of sockets) ws.close()
  })

  test('the event-loop lag shows a loop that was blocked', async () => {
    await scrape() // starts a fresh window for the max
    const t0 = performance.now()
    while (performance.now() - t0 < 400); // the loop is blocked for 400 ms
    await Bun.sleep(300) // the sampler fires, late
    expect(value(await scrape(), 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.1)
  })
})

describe('pass-through streams', () => {
  test('a chat/completions stream counts as an active SSE stream until it ends', async () => {
    up.queue({ text: 'one two three four five six seven', delayMs: 60 })
    const r = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(r.headers.get('content-type')).toContain('text/event-stream')
    const reader = r.body!.getReader()
    await reader.read()
    expect(sampleValue(await scrape(), 'agentgate_active_sse_streams', {})).toBe(1)
    let text = ''
    for (let c = await reader.read(); !c.done; c = await reader.read()) text += new TextDecoder().decode(c.value)
    expect(text).toContain('[DONE]')
    await scrapeUntil((m) => sampleValue(m, 'agentgate_active_sse_streams', {}) === 0, 'the pass-through stream ended')
  })

  test('a client that leaves a pass-through stream early is no longer counted', async () => {
    up.queue({ text: 'a b c d e f g h i j k l m n o p', delayMs: 80 })
    const ctl = new AbortController()
    const r = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      signal: ctl.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    })
    const reader = r.body!.getReader()
    await reader.read()
    expect(sampleValue(await scrape(), 'agentgate_active_sse_streams', {})).toBe(1)
    ctl.abort()
    await scrapeUntil((m) => sampleValue(m, 'agentgate_active_sse_streams', {}) === 0, 'the abandoned stream is not counted')
  })

  test('a JSON pass-through answer is not a stream', async () => {
    const r = await fetch(`${gw.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(r.status).toBe(200)
    await r.json()
    expect(sampleValue(await scrape(), 'agentgate_active_sse_streams', {})).toBe(0)
  })
})

describe('--metrics-public', () => {
  const KEY = 'sk-metrics-public-test'

  test('with auth on, /metrics needs a key unless --metrics-public is set; /v1 needs one either way', async () => {
    const closed = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: KEY } })
    const open = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: KEY, AGENTGATE_METRICS_PUBLIC: 'true' } })
    try {
      const denied = await fetch(`${closed.url}/metrics`)
      expect(denied.status).toBe(401)
      expect(((await denied.json()) as any).error.code).toBeString()
      expect((await scrape(closed.url, { authorization: `Bearer ${KEY}` })).has('process_resident_memory_bytes')).toBe(true)

      const m = await scrape(open.url)
      expect(m.has('agentgate_http_requests_total')).toBe(true)
      expect((await fetch(`${open.url}/metrics/`)).status).toBe(200)
      expect((await fetch(`${open.baseURL}/models`)).status).toBe(401)
      expect((await fetch(`${open.url}/metricsx`)).status).toBe(401)
    } finally {
      await closed.stop()
      await open.stop()
    }
  })
})
