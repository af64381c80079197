// A small, strict reader of the Prometheus text exposition format 0.0.4, for the tests: it throws on anything a
// Prometheus server would reject or that breaks the format's rules — a sample of an undeclared family, a family's
// samples split up, a duplicate series, bad escaping, histogram buckets that are not cumulative or do not end in
// +Inf == _count.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface MetricFamily {
  name: string
  type: MetricType
  help: string
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a newline')
  const families = new Map<string, MetricFamily>()
  const series = new Set<string>()
  /** family names in the order their samples appeared; a family may not come back once another one started */
  const closed = new Set<string>()
  let current: string | null = null
  const lines = text.split('\n').slice(0, -1)
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!m) return // a plain comment
      const [, kind, name, rest] = m as unknown as [string, 'HELP' | 'TYPE', string, string]
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`)
      const fam = families.get(name) ?? { name, type: 'untyped' as MetricType, help: '', samples: [] }
      if (fam.samples.length) throw new Error(`${kind} after samples of ${name}, ${where}`)
      if (kind === 'HELP') {
        if ((fam as any).hasHelp) throw new Error(`second HELP for ${name}, ${where}`)
        ;(fam as any).hasHelp = true
        fam.help = unescapeText(rest, false, where)
      } else {
        if ((fam as any).hasType) throw new Error(`second TYPE for ${name}, ${where}`)
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`unknown type, ${where}`)
        ;(fam as any).hasType = true
        fam.type = rest as MetricType
      }
      families.set(name, fam)
      return
    }
    if (line.trim() === '') throw new Error(`empty line, ${where}`)
    const sample = parseSample(line, where)
    const fam = familyOf(sample.name, families)
    if (!fam) throw new Error(`sample of an undeclared family, ${where}`)
    if (current !== fam.name) {
      if (closed.has(fam.name)) throw new Error(`samples of ${fam.name} are not together, ${where}`)
      if (current) closed.add(current)
      current = fam.name
    }
    const key = sample.name + JSON.stringify(Object.entries(sample.labels).sort())
    if (series.has(key)) throw new Error(`duplicate series, ${where}`)
    series.add(key)
    if (fam.type === 'counter' && !(sample.value >= 0)) throw new Error(`negative counter, ${where}`)
    if (fam.type === 'histogram' && 'le' in sample.labels !== sample.name.endsWith('_bucket'))
      throw new Error(`le only on _bucket samples, ${where}`)
    fam.samples.push(sample)
  })
  for (const fam of families.values()) {
    if (!(fam as any).hasType || !(fam as any).hasHelp) throw new Error(`${fam.name} lacks HELP or TYPE`)
    if (fam.type === 'histogram') checkHistogram(fam)
  }
  return families
}

/** The family a sample name belongs to: itself, or a histogram/summary's _bucket/_sum/_count. */
function familyOf(name: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const own = families.get(name)
  if (own && own.type !== 'histogram') return own
  const m = /^(.*)_(bucket|sum|count)$/.exec(name)
  if (!m) return undefined
  const base = families.get(m[1]!)
  if (!base || (base.type !== 'histogram' && base.type !== 'summary') || (base.type === 'summary' && m[2] === 'bucket')) return undefined
  return base
}

function checkHistogram(fam: MetricFamily) {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>()
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels
    const key = JSON.stringify(Object.entries(rest).sort())
    const g = groups.get(key) ?? { buckets: [] }
    groups.set(key, g)
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(le!, `le of ${fam.name}`), s.value])
    else if (s.name.endsWith('_sum')) g.sum = s.value
    else g.count = s.value
  }
  for (const [key, g] of groups) {
    const where = `${fam.name}${key}`
    if (g.sum === undefined || g.count === undefined) throw new Error(`${where} lacks _sum or _count`)
    if (g.buckets.length === 0) throw new Error(`${where} has no buckets`)
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: le not increasing`)
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`)
    }
    const last = g.buckets.at(-1)!
    if (last[0] !== Infinity) throw new Error(`${where}: the last bucket is not +Inf`)
    if (last[1] !== g.count) throw new Error(`${where}: +Inf bucket ${last[1]} != _count ${g.count}`)
  }
}

function parseSample(line: string, where: string): Sample {
  let i = 0
  while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++
  const name = line.slice(0, i)
  if (!NAME.test(name)) throw new Error(`bad sample name, ${where}`)
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (line[i] !== '}') {
      let j = i
      while (j < line.length && line[j] !== '=') j++
      const label = line.slice(i, j)
      if (!LABEL.test(label)) throw new Error(`bad label name ${JSON.stringify(label)}, ${where}`)
      if (label in labels) throw new Error(`label ${label} twice, ${where}`)
      if (line[j + 1] !== '"') throw new Error(`label value not quoted, ${where}`)
      let k = j + 2
      let raw = ''
      for (;;) {
        if (k >= line.length) throw new Error(`unterminated label value, ${where}`)
        if (line[k] === '\\') {
          raw += line.slice(k, k + 2)
          k += 2
        } else if (line[k] === '"') break
        else raw += line[k++]
      }
      labels[label] = unescapeText(raw, true, where)
      i = k + 1
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new Error(`expected , or } after a label, ${where}`)
    }
    i++
  }
  if (line[i] !== ' ') throw new Error(`expected one space before the value, ${where}`)
  const parts = line.slice(i + 1).split(' ')
  if (parts.length > 2 || parts[0] === '') throw new Error(`expected a value and an optional timestamp, ${where}`)
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp, ${where}`)
  return { name, labels, value: parseValue(parts[0]!, where) }
}

function parseValue(v: string, where: string): number {
  if (v === '+Inf' || v === 'Inf') return Infinity
  if (v === '-Inf') return -Infinity
  if (v === 'NaN') return NaN
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) throw new Error(`bad value ${JSON.stringify(v)}, ${where}`)
  return Number(v)
}

/** Label values escape \\, \" and \n; HELP text only \\ and \n. Any other escape is an error. */
function unescapeText(raw: string, quoted: boolean, where: string): string {
  return raw.replace(/\\(.)?/g, (_, c: string | undefined) => {
    if (c === '\\') return '\\'
    if (c === 'n') return '\n'
    if (c === '"' && quoted) return '"'
    throw new Error(`bad escape \\${c ?? ''}, ${where}`)
  })
}

/** The value of the one sample of `name` whose labels include `labels`; undefined when none, an error when several. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = familyOf(name, families)
  const hits = (fam?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} series`)
  return hits[0]?.value
}

/** Every sample of `name` (labels filter as in sampleValue). */
export function samplesOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): Sample[] {
  const fam = familyOf(name, families)
  return (fam?.samples ?? []).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
}
