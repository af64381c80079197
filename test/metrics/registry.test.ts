// The hand-written Prometheus registry on its own: the exposition it renders is what a strict reader accepts,
// with escaped label values, cumulative histogram buckets and cached label sets.
import { describe, expect, test } from 'bun:test'
import { Registry, escapeLabelValue, formatValue } from '../../src/metrics/registry'
import { parsePrometheusText, sampleValue } from './prometheus'

describe('Registry', () => {
  test('renders counters, gauges and histograms with HELP and TYPE, in registration order', () => {
    const r = new Registry()
    r.counter('demo_requests_total', 'Requests.', ['route']).labels('/a').inc(2)
    r.gauge('demo_open', 'Open things.').labels().set(3)
    const h = r.histogram('demo_seconds', 'Durations.', ['op'], [0.1, 1])
    h.labels('read').observe(0.05)
    h.labels('read').observe(0.5)
    h.labels('read').observe(7)
    expect(r.render()).toBe(
      [
        '# HELP demo_requests_total Requests.',
        '# TYPE demo_requests_total counter',
        'demo_requests_total{route="/a"} 2',
        '# HELP demo_open Open things.',
        '# TYPE demo_open gauge',
        'demo_open 3',
        '# HELP demo_seconds Durations.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{op="read",le="0.1"} 1',
        'demo_seconds_bucket{op="read",le="1"} 2',
        'demo_seconds_bucket{op="read",le="+Inf"} 3',
        'demo_seconds_sum{op="read"} 7.55',
        'demo_seconds_count{op="read"} 3',
        '',
      ].join('\n'),
    )
  })

  test('a label set resolves to the same child every time, so hot paths can hold it', () => {
    const c = new Registry().counter('demo_total', 'x', ['a', 'b'])
    expect(c.labels('1', '2')).toBe(c.labels('1', '2'))
    expect(c.labels('1', '2')).not.toBe(c.labels('1', '3'))
    expect(c.labels('1', '2')).not.toBe(c.labels('2', '1'))
  })

  test('label values and help text are escaped, and a strict reader gets them back', () => {
    const r = new Registry()
    const nasty = 'a "quoted" back\\slash\nnew line'
    r.counter('demo_total', 'Help with a back\\slash\nand a new line.', ['model']).labels(nasty).inc()
    const text = r.render()
    expect(text).toContain(`demo_total{model="${escapeLabelValue(nasty)}"} 1`)
    expect(escapeLabelValue(nasty)).toBe('a \\"quoted\\" back\\\\slash\\nnew line')
    const parsed = parsePrometheusText(text)
    expect(parsed.get('demo_total')!.help).toBe('Help with a back\\slash\nand a new line.')
    expect(sampleValue(parsed, 'demo_total', { model: nasty })).toBe(1)
  })

  test('an unlabelled histogram renders buckets with le only, and values on a bucket bound fall in it', () => {
    const r = new Registry()
    const h = r.histogram('demo_seconds', 'x', [], [1, 2]).labels()
    h.observe(1)
    h.observe(2)
    h.observe(2.5)
    const parsed = parsePrometheusText(r.render())
    expect(sampleValue(parsed, 'demo_seconds_bucket', { le: '1' })).toBe(1)
    expect(sampleValue(parsed, 'demo_seconds_bucket', { le: '2' })).toBe(2)
    expect(sampleValue(parsed, 'demo_seconds_bucket', { le: '+Inf' })).toBe(3)
    expect(sampleValue(parsed, 'demo_seconds_count')).toBe(3)
    expect(sampleValue(parsed, 'demo_seconds_sum')).toBe(5.5)
  })

  test('refuses what would make the exposition invalid', () => {
    const r = new Registry()
    r.counter('demo_total', 'x', ['a'])
    expect(() => r.counter('demo_total', 'again')).toThrow(/already registered/)
    r.histogram('demo_seconds', 'x', [], [1])
    expect(() => r.gauge('demo_seconds_count', 'clashes with the histogram')).toThrow(/already registered/)
    expect(() => r.counter('bad-name', 'x')).toThrow(/invalid metric name/)
    expect(() => r.counter('demo2_total', 'x', ['__reserved'])).toThrow(/invalid label name/)
    expect(() => r.histogram('demo3_seconds', 'x', ['le'], [1])).toThrow(/reserved/)
    expect(() => r.histogram('demo4_seconds', 'x', [], [2, 1])).toThrow(/increasing/)
    const c = r.counter('demo5_total', 'x', ['a', 'b'])
    expect(() => c.labels('only one')).toThrow(/2 label values/)
    expect(() => c.labels('1', '2').inc(-1)).toThrow(/only goes up/)
  })

  test('values are written as Prometheus reads them', () => {
    expect([1, 0.25, 1e21, Infinity, -Infinity, NaN].map(formatValue)).toEqual(['1', '0.25', '1e+21', '+Inf', '-Inf', 'NaN'])
  })
})

describe('the test reader', () => {
  test('rejects what Prometheus would reject', () => {
    const ok = '# HELP a_total x\n# TYPE a_total counter\na_total 1\n'
    expect(() => parsePrometheusText(ok)).not.toThrow()
    expect(() => parsePrometheusText('a_total 1\n')).toThrow(/undeclared/)
    expect(() => parsePrometheusText(ok + 'a_total 2\n')).toThrow(/duplicate/)
    expect(() => parsePrometheusText(ok.slice(0, -1))).toThrow(/newline/)
    expect(() => parsePrometheusText('# HELP a_total x\n# TYPE a_total counter\na_total{l="\\x"} 1\n')).toThrow(/escape/)
    const hist = (inf: number) => `# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} ${inf}\nh_sum 3\nh_count 3\n`
    expect(() => parsePrometheusText(hist(3))).not.toThrow()
    expect(() => parsePrometheusText(hist(1))).toThrow(/cumulative/)
    expect(() => parsePrometheusText(hist(4))).toThrow(/_count/)
    const split = '# HELP a x\n# TYPE a gauge\na{x="1"} 1\n# HELP b x\n# TYPE b gauge\nb 1\na{x="2"} 1\n'
    expect(() => parsePrometheusText(split)).toThrow(/not together/)
  })
})
