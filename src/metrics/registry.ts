// Prometheus metrics, hand-written: counter, gauge and histogram families with labels, rendered in the text
// exposition format 0.0.4. A label set is resolved once to a child (cached); observations update the child in
// place, so the hot path allocates nothing. Rendering (a scrape) is the only place strings are built.

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export class CounterChild {
  value = 0
  constructor(readonly labelText: string) {}
  inc(n = 1) {
    if (!(n >= 0)) throw new Error(`a counter only goes up (got ${n})`)
    this.value += n
  }
}

export class GaugeChild {
  value = 0
  constructor(readonly labelText: string) {}
  inc(n = 1) {
    this.value += n
  }
  dec(n = 1) {
    this.value -= n
  }
  set(v: number) {
    this.value = v
  }
}

export class HistogramChild {
  /** per bucket (not cumulative); the last one is +Inf */
  readonly counts: number[]
  sum = 0
  count = 0
  constructor(
    readonly labelText: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array(bounds.length + 1).fill(0)
  }
  observe(v: number) {
    const b = this.bounds
    let i = 0
    while (i < b.length && v > b[i]!) i++
    this.counts[i]!++
    this.sum += v
    this.count++
  }
}

type Child = CounterChild | GaugeChild | HistogramChild
type LabelTree<C> = Map<string, C | LabelTree<C>>

abstract class Family<C extends Child> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram'
  private readonly tree: LabelTree<C> = new Map()
  private unlabelled: C | null = null
  /** in creation order, which is the order of the exposition */
  protected readonly children: C[] = []

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`)
    for (const l of labelNames)
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(l)} on ${name}`)
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name on ${name}`)
  }

  /** The child for these label values (in labelNames order), created on first use. Hold on to it on hot paths. */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length)
      throw new Error(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`)
    if (values.length === 0) return (this.unlabelled ??= this.add(values))
    // One map level per label: a lookup compares the values, never builds a key string.
    let node = this.tree
    const last = values.length - 1
    for (let i = 0; i < last; i++) {
      let next = node.get(values[i]!) as LabelTree<C> | undefined
      if (!next) node.set(values[i]!, (next = new Map()))
      node = next
    }
    let child = node.get(values[last]!) as C | undefined
    if (!child) node.set(values[last]!, (child = this.add(values)))
    return child
  }

  private add(values: string[]): C {
    const child = this.create(this.labelNames.map((n, i) => `${n}="${escapeLabelValue(values[i]!)}"`).join(','))
    this.children.push(child)
    return child
  }

  protected abstract create(labelText: string): C
  protected abstract samples(out: string[]): void

  render(out: string[]) {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`)
    this.samples(out)
  }
}

export class Counter extends Family<CounterChild> {
  readonly type = 'counter'
  protected create(labelText: string) {
    return new CounterChild(labelText)
  }
  protected samples(out: string[]) {
    for (const c of this.children) out.push(`${this.name}${braces(c.labelText)} ${formatValue(c.value)}\n`)
  }
}

export class Gauge extends Family<GaugeChild> {
  readonly type = 'gauge'
  protected create(labelText: string) {
    return new GaugeChild(labelText)
  }
  protected samples(out: string[]) {
    for (const c of this.children) out.push(`${this.name}${braces(c.labelText)} ${formatValue(c.value)}\n`)
  }
}

export class Histogram extends Family<HistogramChild> {
  readonly type = 'histogram'
  private readonly les: string[]

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames)
    if (labelNames.includes('le')) throw new Error(`"le" is reserved on histogram ${name}`)
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!)))
      throw new Error(`histogram ${name} needs finite, strictly increasing buckets`)
    this.les = [...buckets.map(formatValue), '+Inf']
  }

  protected create(labelText: string) {
    return new HistogramChild(labelText, this.buckets)
  }

  protected samples(out: string[]) {
    for (const c of this.children) {
      const sep = c.labelText ? ',' : ''
      let cumulative = 0
      for (let i = 0; i < this.les.length; i++) {
        cumulative += c.counts[i]!
        out.push(`${this.name}_bucket{${c.labelText}${sep}le="${this.les[i]}"} ${cumulative}\n`)
      }
      out.push(`${this.name}_sum${braces(c.labelText)} ${formatValue(c.sum)}\n${this.name}_count${braces(c.labelText)} ${c.count}\n`)
    }
  }
}

/** A set of metric families and their exposition. Names are unique within a registry. */
export class Registry {
  private readonly families: Family<Child>[] = []

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labelNames))
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.register(new Gauge(name, help, labelNames))
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, labelNames, buckets))
  }

  /** The text exposition format 0.0.4 (PROMETHEUS_CONTENT_TYPE). */
  render(): string {
    const out: string[] = []
    for (const f of this.families) f.render(out)
    return out.join('')
  }

  private register<F extends Family<Child>>(f: F): F {
    const taken = new Set(
      this.families.flatMap((x) => (x.type === 'histogram' ? [x.name, `${x.name}_bucket`, `${x.name}_sum`, `${x.name}_count`] : [x.name])),
    )
    const wants = f.type === 'histogram' ? [f.name, `${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`] : [f.name]
    if (wants.some((n) => taken.has(n))) throw new Error(`metric ${f.name} is already registered`)
    this.families.push(f)
    return f
  }
}

const braces = (labelText: string) => (labelText ? `{${labelText}}` : '')

/** A sample value as Prometheus reads it: Go float syntax, with +Inf/-Inf/NaN spelled its way. */
export function formatValue(v: number): string {
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  if (Number.isNaN(v)) return 'NaN'
  return String(v)
}

export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v
}

function escapeHelp(v: string): string {
  return /[\\\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n') : v
}
