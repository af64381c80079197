// How a streamed response's event log keeps its deltas: a run of consecutive delta events that differ only in their
// sequence number and text is stored as one row, and read back as the events it stood for. A 1,000-token answer is
// then a handful of rows instead of a thousand, while a replay (resume) still gets every event exactly as it was
// sent. Both dialects store and read through here (./repository.ts); the rows stay ordinary event rows otherwise.
// A running turn builds its log as runs from the start (EventRuns below): each delta is folded into its run as it
// comes, so a long answer is not held as a thousand event objects until it is written (holding them, and looking at
// them all again when they were long out of the cache, was most of what storing a streamed turn cost per event).
//
// A run's row is keyed by its LAST sequence number (so `sequence_number > afterSeq` still finds every row holding
// an event after `afterSeq`, and the log's largest key is still its last event) and holds the run's first event
// with `sequence_number` set to that key and RUN_KEY listing every delta's text in order.

import { withLastField } from '../json-text'

/** The field of a stored run that holds its deltas; no event the gateway sends has it. (Also in ./sql.ts.) */
export const RUN_KEY = '_agentgate_deltas'

type Loose = Record<string, unknown>

/**
 * The deltas of a run being built (EventRuns) that came as the JSON they are stored as: each text as JSON.stringify
 * writes it, a comma between two — the stored array without its brackets. A run of text deltas kept as the upstream's
 * bytes arrives as that JSON already (upstream/delta-run.ts runJson): no string per delta is made, and none serialised
 * again when the row is written (eventJson). As a value it is the array of texts (toJSON, texts()). (Deltas pushed one
 * at a time are kept as an array of texts, as ever: serialised with their row in one go.)
 */
export class DeltaList {
  constructor(
    public json: string,
    public count: number,
  ) {}

  add(text: string): void {
    this.addJson(JSON.stringify(text), 1)
  }

  /** `n` deltas as their JSON (comma-separated). */
  addJson(json: string, n: number): void {
    this.json = this.count ? `${this.json},${json}` : json
    this.count += n
  }

  texts(): string[] {
    return JSON.parse(`[${this.json}]`) as string[]
  }

  toJSON(): string[] {
    return this.texts()
  }
}

/** The deltas a run row holds: an array of texts, or (a run being built) a DeltaList. */
function deltasOf(value: unknown): string[] {
  return value instanceof DeltaList ? value.texts() : (value as string[])
}

/**
 * The JSON a row of the log is stored as: JSON.stringify of it — for a run row being built, with its deltas' JSON put in
 * as it is (the deltas are its last field, where the row was made with them).
 */
export function eventJson(row: object): string {
  const list = (row as Loose)[RUN_KEY]
  return list instanceof DeltaList ? withLastField(row, RUN_KEY, `[${list.json}]`) : JSON.stringify(row)
}

/** A delta event a run can hold: a `*.delta` type with a string `delta`. */
function isDelta(e: Loose): boolean {
  return typeof e.delta === 'string' && typeof e.type === 'string' && e.type.endsWith('.delta') && !(RUN_KEY in e)
}

/**
 * Whether `e` repeats `first` but for its sequence number and text: the same keys in the same order (a replay rebuilds
 * every event of the run in the first one's key order), the same values (empty arrays, e.g. logprobs, count as
 * equal). Runs once per delta of every stored stream: one pass over the keys, no allocation.
 */
function continues(first: Loose, firstKeys: string[], e: Loose): boolean {
  if (e.type !== first.type) return false
  let n = 0
  for (const k in e) {
    if (k !== firstKeys[n++]) return false
    if (k === 'sequence_number' || k === 'delta') continue
    const a = first[k]
    const b = e[k]
    if (a === b) continue
    if (Array.isArray(a) && Array.isArray(b) && a.length === 0 && b.length === 0) continue
    return false
  }
  return n === firstKeys.length
}

/** The rows to store for `events` (in order): runs of two or more alike deltas with consecutive numbers become one. */
export function toStoredRuns<E extends { type: string; sequence_number: number }>(events: E[]): E[] {
  let out: E[] | null = null
  for (let i = 0; i < events.length; ) {
    const first = events[i] as unknown as Loose
    let j = i + 1
    if (isDelta(first)) {
      const keys = Object.keys(first)
      while (
        j < events.length &&
        events[j].sequence_number === events[j - 1].sequence_number + 1 &&
        continues(first, keys, events[j] as unknown as Loose)
      )
        j++
    }
    if (j - i === 1) {
      out?.push(events[i])
    } else {
      out ??= events.slice(0, i)
      const deltas: string[] = new Array(j - i)
      for (let k = i; k < j; k++) deltas[k - i] = (events[k] as unknown as Loose).delta as string
      out.push({ ...first, sequence_number: events[j - 1].sequence_number, [RUN_KEY]: deltas } as unknown as E)
    }
    i = j
  }
  return out ?? events
}

/** The events stored `rows` stand for, those numbered above `afterSeq` only. */
export function fromStoredRuns<E extends { sequence_number: number }>(rows: E[], afterSeq: number): E[] {
  let out: E[] | null = null
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as unknown as Loose
    if (row[RUN_KEY] === undefined) {
      out?.push(rows[i])
      continue
    }
    const deltas = deltasOf(row[RUN_KEY])
    out ??= rows.slice(0, i)
    const { [RUN_KEY]: _, ...base } = row
    const first = (row.sequence_number as number) - deltas.length + 1
    for (let k = 0; k < deltas.length; k++)
      if (first + k > afterSeq) out.push({ ...base, sequence_number: first + k, delta: deltas[k] } as unknown as E)
  }
  return out ?? rows
}

/**
 * A log being built, event by event, as the rows toStoredRuns would make of it: a delta that continues the run before
 * it (or the delta before it) is folded in at once. What take() gives back is ready to store, and reads back
 * (fromStoredRuns) as the events pushed.
 */
export class EventRuns<E extends { type: string; sequence_number: number }> {
  private rows: E[] = []
  /** events pushed since the last take() (a run counts as its deltas) */
  private count = 0
  /** the first delta of the run that ends the rows (the row itself, or the run row made from it), its keys */
  private first: Loose | null = null
  private firstKeys: string[] = []
  /** the run row that ends the rows, once the run has two deltas */
  private run: Loose | null = null
  /** the caller's template the delta ending the rows was made from (appendText), null: none */
  private shape: object | null = null

  /** How many events the rows stand for. */
  get length(): number {
    return this.count
  }

  push(event: E): void {
    this.shape = null
    this.count++
    const e = event as unknown as Loose
    if (this.continuesRun(e)) {
      const list = this.runList(e.sequence_number as number)
      if (Array.isArray(list)) list.push(e.delta as string)
      else list.add(e.delta as string)
      return
    }
    this.rows.push(event)
    this.run = null
    if (isDelta(e)) {
      this.first = e
      this.firstKeys = Object.keys(e)
    } else {
      this.first = null
    }
  }

  /**
   * `n` deltas numbered from `first`'s on that differ from it only in their number and text, given as their JSON
   * (`first`'s first, as DeltaList holds them; unread for n = 1), kept as push() of each would keep them; without an
   * object or a string per delta. (A run of text deltas kept as bytes, upstream/delta-run.ts.)
   */
  pushRun(first: E, json: string, n: number, shape: object | null = null): void {
    // a run of one (a token-by-token stream's) is its event: its text goes with the texts pushed one by one
    if (n === 1) {
      this.push(first)
      this.shape = shape
      return
    }
    const e = first as unknown as Loose
    const last = first.sequence_number + n - 1
    this.count += n
    this.shape = shape
    if (this.continuesRun(e)) {
      let list = this.runList(last)
      if (Array.isArray(list)) {
        // texts so far (deltas pushed one by one): serialised now, the run goes on as JSON
        list = new DeltaList(JSON.stringify(list).slice(1, -1), list.length)
        this.run![RUN_KEY] = list
      }
      list.addJson(json, n)
      return
    }
    this.first = e
    this.firstKeys = Object.keys(e)
    // a row of its own for the run: `first`'s keys in its order, numbered by the run's last event
    this.run = { ...e, sequence_number: last, [RUN_KEY]: new DeltaList(json, n) }
    this.rows.push(this.run as unknown as E)
  }

  /**
   * One delta numbered `seq` with text `text`, kept as push() of its event would keep it — when it continues the run
   * that ends the rows and that run's last delta was given with the same `shape` (pushRun): the caller's template for
   * the deltas of one item and part, whose events differ only in their number and text (upstream/delta-run.ts
   * runEvent). Nothing is kept otherwise (false): the caller then gives it as its event. No event is made and none
   * compared key by key: a token-by-token stream's every token comes here, and its events, looked at among the log's
   * other kinds, cost more than anything else in keeping the log.
   */
  appendText(shape: object, seq: number, text: string): boolean {
    if (shape !== this.shape || seq !== (this.rows[this.rows.length - 1]!.sequence_number as number) + 1) return false
    this.count++
    const list = this.runList(seq)
    if (Array.isArray(list)) list.push(text)
    else list.add(text)
    return true
  }

  /** Whether `e` continues the run that ends the rows (or the delta that does). */
  private continuesRun(e: Loose): boolean {
    const first = this.first
    return (
      first !== null &&
      e.sequence_number === (this.rows[this.rows.length - 1]!.sequence_number as number) + 1 &&
      continues(first, this.firstKeys, e)
    )
  }

  /** The deltas of the run that ends the rows, now ending at `last` (its first delta's row made the run's, if alone). */
  private runList(last: number): string[] | DeltaList {
    if (this.run === null) {
      // the run's row replaces its first delta: that delta's keys in its order, numbered by the run's last event
      const list = [this.first!.delta as string]
      this.run = { ...this.first, sequence_number: last, [RUN_KEY]: list }
      this.rows[this.rows.length - 1] = this.run as unknown as E
      return list
    }
    this.run.sequence_number = last
    return this.run[RUN_KEY] as string[] | DeltaList
  }

  /** The rows so far, handed over (the builder starts afresh). */
  take(): E[] {
    const rows = this.rows
    this.rows = []
    this.count = 0
    this.first = null
    this.run = null
    this.shape = null
    return rows
  }

  /** Rows taken but not stored (the storage failed) go back in front of the newer ones, to be written first. */
  putBack(rows: E[], events: number): void {
    this.rows = rows.concat(this.rows)
    this.count += events
  }
}
