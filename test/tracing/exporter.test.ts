// The OTLP exporter's bounds and the W3C traceparent parser, as functions: a full queue drops and counts, an export
// that does not answer is given up after its timeout, batches leave at most maxBatch spans at a time.
import { describe, expect, test } from 'bun:test'
import { silentLogger } from '../../src/log'
import { createOtlpExporter, tracesUrl } from '../../src/tracing/otlp'
import { parseTraceparent, Tracer } from '../../src/tracing/span'

function exporterWith(
  fetchImpl: (body: any, signal: AbortSignal) => Promise<Response>,
  opts: { maxQueue?: number; maxBatch?: number; timeoutMs?: number } = {},
) {
  const drops: { count: number; reason: string }[] = []
  const exporter = createOtlpExporter({
    endpoint: 'http://127.0.0.1:1',
    resource: { 'service.name': 't' },
    scope: { name: 'agentgate', version: 'test' },
    logger: silentLogger,
    delayMs: 3_600_000,
    onDrop: (count, reason) => drops.push({ count, reason }),
    fetch: ((_url: string, init: RequestInit) => fetchImpl(JSON.parse(String(init.body)), init.signal!)) as unknown as typeof fetch,
    ...opts,
  })
  return { exporter, drops, tracer: new Tracer(exporter, 'sqlite') }
}

describe('the OTLP exporter', () => {
  test('a full queue drops new spans and counts them, without waiting for the collector', async () => {
    const pending: (() => void)[] = []
    const { exporter, drops, tracer } = exporterWith(() => new Promise((resolve) => pending.push(() => resolve(new Response('{}')))), {
      maxQueue: 3,
      maxBatch: 100,
    })
    for (let i = 0; i < 10; i++) tracer.start(`s${i}`, 'internal').end()
    expect(exporter.dropped).toBe(7)
    expect(drops.every((d) => d.reason === 'queue_full')).toBe(true)
    const flushed = exporter.flush()
    while (pending.length === 0) await Bun.sleep(1)
    pending.shift()!()
    await flushed
    await exporter.shutdown()
  })

  test('an export with no answer is given up after the timeout and its spans counted as failed', async () => {
    const { exporter, drops, tracer } = exporterWith(
      (_, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { timeoutMs: 50 },
    )
    tracer.start('a', 'internal').end()
    tracer.start('b', 'internal').end()
    await exporter.flush()
    expect(drops).toEqual([{ count: 2, reason: 'export_failed' }])
    await exporter.shutdown()
  })

  test('batches hold at most maxBatch spans, and only one export runs at a time', async () => {
    const batches: number[] = []
    let running = 0
    let most = 0
    const { exporter, tracer } = exporterWith(
      async (body) => {
        most = Math.max(most, ++running)
        await Bun.sleep(5)
        batches.push(body.resourceSpans[0].scopeSpans[0].spans.length)
        running--
        return new Response('{}')
      },
      { maxBatch: 4 },
    )
    for (let i = 0; i < 10; i++) tracer.start(`s${i}`, 'internal').end()
    await exporter.flush()
    expect(batches.reduce((a, b) => a + b, 0)).toBe(10)
    expect(Math.max(...batches)).toBeLessThanOrEqual(4)
    expect(most).toBe(1)
    await exporter.shutdown()
  })

  test('spans are OTLP JSON: hex ids, nanosecond strings, typed attribute values', async () => {
    let sent: any
    const { exporter, tracer } = exporterWith(async (body) => {
      sent = body
      return new Response('{}')
    })
    const parent = tracer.start('parent', 'server')
    tracer
      .start('child', 'client', parent)
      .set('s', 'x')
      .set('i', 3)
      .set('d', 0.5)
      .set('b', true)
      .set('a', ['p', 'q'])
      .set('skipped', undefined)
      .fail('boom', 'upstream_error')
      .end()
    await exporter.flush()
    const span = sent.resourceSpans[0].scopeSpans[0].spans[0]
    expect(sent.resourceSpans[0].resource.attributes).toEqual([{ key: 'service.name', value: { stringValue: 't' } }])
    expect(span).toMatchObject({
      name: 'child',
      kind: 3,
      traceId: parent.traceId,
      parentSpanId: parent.spanId,
      status: { code: 2, message: 'boom' },
    })
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(span.startTimeUnixNano).toMatch(/^\d{19}$/)
    expect(BigInt(span.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(span.startTimeUnixNano))
    expect(span.attributes).toEqual([
      { key: 's', value: { stringValue: 'x' } },
      { key: 'i', value: { intValue: '3' } },
      { key: 'd', value: { doubleValue: 0.5 } },
      { key: 'b', value: { boolValue: true } },
      { key: 'a', value: { arrayValue: { values: [{ stringValue: 'p' }, { stringValue: 'q' }] } } },
      { key: 'error.type', value: { stringValue: 'upstream_error' } },
    ])
    await exporter.shutdown()
  })

  test('the endpoint is a base URL; one already ending in /v1/traces is kept', () => {
    expect(tracesUrl('http://c:4318')).toBe('http://c:4318/v1/traces')
    expect(tracesUrl('http://c:4318/')).toBe('http://c:4318/v1/traces')
    expect(tracesUrl('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces')
  })
})

describe('traceparent', () => {
  test.each([
    [
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true },
    ],
    [
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: false },
    ],
    // a later version may add fields
    [
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', sampled: true },
    ],
  ])('%s is a parent', (header, expected) => expect(parseTraceparent(header)).toEqual(expected))

  test.each([
    null,
    '',
    'garbage',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
  ])('%p is not', (header) => expect(parseTraceparent(header)).toBeNull())
})
