// How the last events of a streamed turn's log point at what the turn's end stores anyway, instead of repeating it.
// output_item.done carries the finished item, content_part.done and output_text.done (and their reasoning, refusal,
// tool-call kin) its part and text, the terminal event the final Response — one more copy of the answer each: four of
// the seven a 1,000-token turn used to store. The first events (response.created, .in_progress) carry the Response as it
// began, whose instructions and tools the final one repeats: a coding agent's tools, several KB sent with every turn,
// were stored three times a turn. Stored in the same transaction as the response's output items and Response object
// (Store.finishResponse, or the whole log of a turn stored at its end: ./repository.ts), such an event keeps its field
// as null plus a path to the stored value under SOURCE_KEY, and a replay (resume) fills it back in.
//
// A pointer is taken only where the event's value and the stored one serialise to the same JSON (same keys in the same
// order, same values), so a replay sends the bytes the live stream sent; anything else — an item the size limit cut
// from the stored output, a value that differs — is stored as it is. Nothing stored later changes a finished
// response's output items or Response object, and they go only with the response (and its log) itself.

/** The field of a stored event that maps each pointed-at field to its path; no event the gateway sends has it. */
export const SOURCE_KEY = '_agentgate_from'

/** What a finished turn's stored events may point at: its Response object and output items (by position). */
export interface EventSources {
  response: unknown
  output: readonly unknown[]
}

/** A path into the sources: `['response']`, or an output item's position then keys (`[0, 'content', 1, 'text']`). */
type Path = (string | number)[]

type Loose = Record<string, unknown>

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed'])

/**
 * The fields of the Response the turn's first events carry (response.created, .in_progress, .queued) that its final
 * Response repeats: what the request gave, such as a coding agent's tools, sent again with every turn. Pointed at as
 * `response.<field>` (a field of the event's `response`).
 */
const ECHOED = ['instructions', 'tools']

/** A string shorter than this is kept in the event: its pointer would not be shorter. */
const MIN_TEXT = 64

/** Whether `a` and `b` serialise to the same JSON (JSON.stringify): same keys in the same order, same values. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  // a value with its own serialisation (Date, …) is not compared field by field
  if (typeof (a as Loose).toJSON === 'function' || typeof (b as Loose).toJSON === 'function') return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!
    if (k !== kb[i] || !sameJson((a as Loose)[k], (b as Loose)[k])) return false
  }
  return true
}

function resolve(sources: EventSources, path: Path): unknown {
  let at: unknown = path[0] === 'response' ? sources.response : sources.output[path[0] as number]
  for (let i = 1; i < path.length && at !== undefined && at !== null; i++) at = (at as Loose)[path[i] as string]
  return at
}

/** The fields of `e` that may repeat a stored value, each with the path to that value. */
function candidates(e: Loose): [string, Path][] | null {
  if (TERMINAL.has(e.type as string)) return 'response' in e ? [['response', ['response']]] : null
  const r = e.response
  if (typeof r === 'object' && r !== null) return ECHOED.filter((k) => k in r).map((k) => [`response.${k}`, ['response', k]])
  if (typeof e.output_index !== 'number' || !(e.type as string).endsWith('.done')) return null
  const i = e.output_index
  // a part lives in the item's content, or (reasoning summaries) in its summary
  const part: Path | null =
    typeof e.content_index === 'number'
      ? [i, 'content', e.content_index]
      : typeof e.summary_index === 'number'
        ? [i, 'summary', e.summary_index]
        : null
  const out: [string, Path][] = []
  if ('item' in e) out.push(['item', [i]])
  if ('arguments' in e) out.push(['arguments', [i, 'arguments']])
  if ('input' in e) out.push(['input', [i, 'input']])
  if (part) {
    if ('part' in e) out.push(['part', part])
    if ('text' in e) out.push(['text', [...part, 'text']])
    if ('refusal' in e) out.push(['refusal', [...part, 'refusal']])
  }
  return out
}

/**
 * The rows to store for a finished turn's last `events`, written together with `sources`: an event whose fields
 * repeat a stored value keeps a pointer to it instead. Events without such a field are given back as they are.
 */
export function pointAtSources<E extends { type: string }>(events: E[], sources: EventSources): E[] {
  let out: E[] | null = null
  for (let n = 0; n < events.length; n++) {
    const e = events[n] as unknown as Loose
    // most of a log is deltas: one look at the type's end passes them
    const fields = (e.type as string).endsWith('.delta') ? null : candidates(e)
    let from: Record<string, Path> | null = null
    if (fields)
      for (const [field, path] of fields) {
        const value = fieldOf(e, field)
        if (value === null || (typeof value === 'string' && value.length < MIN_TEXT) || (Array.isArray(value) && !value.length)) continue
        if (!sameJson(value, resolve(sources, path))) continue
        ;(from ??= {})[field] = path
      }
    if (!from) {
      out?.push(events[n]!)
      continue
    }
    out ??= events.slice(0, n)
    // the event's own key order (a replay fills the fields in place), the pointed-at fields null
    const row: Loose = { ...e }
    for (const field in from) setField(row, field, null)
    row[SOURCE_KEY] = from
    out.push(row as unknown as E)
  }
  return out ?? events
}

/** A field of an event, or (`response.tools`) of an object in it. */
function fieldOf(e: Loose, field: string): unknown {
  const dot = field.indexOf('.')
  return dot < 0 ? e[field] : (e[field.slice(0, dot)] as Loose)[field.slice(dot + 1)]
}

/** Sets a field as fieldOf names it; an object in the event is copied first (a spread: its key order stays). */
function setField(e: Loose, field: string, value: unknown): void {
  const dot = field.indexOf('.')
  if (dot < 0) {
    e[field] = value
    return
  }
  const outer = field.slice(0, dot)
  e[outer] = { ...(e[outer] as Loose), [field.slice(dot + 1)]: value }
}

/** Whether any of these stored events points at its response's sources (a replay must read them). */
export function pointsAtSources(events: readonly object[]): boolean {
  for (const e of events) if (SOURCE_KEY in e) return true
  return false
}

/**
 * The stored `events` with every pointer filled in from `sources` — null when the response is gone (deleted after its
 * log was read): then only the events before the first pointer, the rest went with it.
 */
export function fillFromSources<E extends object>(events: E[], sources: EventSources | null): E[] {
  const out: E[] = []
  for (const e of events) {
    const from = (e as Loose)[SOURCE_KEY] as Record<string, Path> | undefined
    if (from === undefined) {
      out.push(e)
      continue
    }
    if (sources === null) break
    const { [SOURCE_KEY]: _, ...event } = e as Loose
    for (const field in from) {
      const value = resolve(sources, from[field]!)
      // written in one transaction with what it points at, and nothing changes that afterwards
      if (value === undefined)
        throw new Error(`a stored ${String(event.type)} event points at ${JSON.stringify(from[field])}, which is not stored`)
      setField(event, field, value)
    }
    out.push(event as E)
  }
  return out
}
