// A run of streamed text deltas kept as the upstream's bytes. A fast upstream sends hundreds of
// `response.output_text.delta` events in one chunk, and each one parsed, renumbered and serialised again cost more than
// everything else the gateway does per event. A delta of one plain shape (matchDelta below) is not parsed: the run of
// such deltas of one chunk travels through the engine as ONE element holding the chunk and where each delta's JSON string
// body is in it; the SSE writer copies those bytes into the frames (http/sse.ts), and the texts are decoded once per
// run, for the event log and the item (runTexts). Any other message takes the ordinary path (JSON.parse).
//
// The frames a run makes are byte for byte what JSON.stringify writes for the event the normaliser would have built
// (engine/normalise.ts itemEvent): `type`, `sequence_number`, `item_id`, `output_index` (the gateway's), then
// `content_index`, `delta`, `logprobs` — which is why only that shape is taken, with a delta whose bytes JSON.stringify
// would write the same way (no escapes but its own, valid UTF-8).

import { byteText, utf8Text } from './bytes-text'

/** The `type` of a run: no event anyone sends has it. */
export const DELTA_RUN = 'agentgate.delta_run'

export interface DeltaRun {
  type: typeof DELTA_RUN
  /**
   * The first delta's sequence number: the gateway's once the normaliser has placed the run (the upstream's numbers
   * are dropped, as for every event); -1 before.
   */
  sequence_number: number
  /** the item's id and index: the upstream's, then (after the normaliser) the gateway's */
  item_id: string
  output_index: number
  content_index: number
  /** the bytes the deltas are in (an upstream chunk) */
  bytes: Uint8Array
  /** each delta's JSON string body (between its quotes) as [start, end) pairs into `bytes` */
  spans: number[]
  /** the deltas' texts, once decoded (runTexts) */
  texts: string[] | null
}

/** How many delta events a run stands for. */
export function runLength(run: DeltaRun): number {
  return run.spans.length >> 1
}

export function isDeltaRun(e: { type: string }): e is DeltaRun {
  return e.type === DELTA_RUN
}

/** A JSON string body as its text: decoded, its escapes read only when it has any. */
function bodyText(bytes: Uint8Array, start: number, end: number): string {
  const body = utf8Text(bytes, start, end)
  return body.includes('\\') ? (JSON.parse(`"${body}"`) as string) : body
}

/**
 * The run's string bodies copied into one buffer, each between `open` and `close` and `sep` between two (ASCII bytes,
 * -1: none), decoded once.
 */
function joinedBodies(run: DeltaRun, open: number, sep: number, close: number): string {
  const { bytes, spans } = run
  let size = 0
  for (let i = 0; i < spans.length; i += 2) size += spans[i + 1]! - spans[i]! + 3
  const out = new Uint8Array(size)
  let p = 0
  for (let i = 0; i < spans.length; i += 2) {
    if (i && sep >= 0) out[p++] = sep
    if (open >= 0) out[p++] = open
    for (let k = spans[i]!, end = spans[i + 1]!; k < end; k++) out[p++] = bytes[k]!
    if (close >= 0) out[p++] = close
  }
  return utf8Text(out, 0, p)
}

/**
 * The texts of the run's deltas, in order: one decode and one JSON.parse of them all (as a JSON array of the string
 * bodies, which they are), kept on the run. (For readers that want the events one by one: the engine itself takes a
 * run's text whole, runText, and the event log its JSON, runJson.)
 */
export function runTexts(run: DeltaRun): string[] {
  if (run.texts) return run.texts
  const { bytes, spans } = run
  // one delta (a token-by-token upstream sends one per chunk)
  if (spans.length === 2) run.texts = [bodyText(bytes, spans[0]!, spans[1]!)]
  else run.texts = JSON.parse(`[${joinedBodies(run, 0x22, 0x2c, 0x22)}]`) as string[]
  return run.texts
}

/**
 * The run's text: its deltas' texts joined (what the item's text grows by). One decode of the bodies put together — a
 * string body followed by another is the body of their joined text — and no string per delta.
 */
export function runText(run: DeltaRun): string {
  // one delta (a token-by-token upstream sends one per chunk): its text, kept on the run for the log (runEvent, runJson)
  if (run.spans.length === 2) return runTexts(run)[0]!
  if (run.texts) return run.texts.join('')
  const bodies = joinedBodies(run, -1, -1, -1)
  return bodies.includes('\\') ? (JSON.parse(`"${bodies}"`) as string) : bodies
}

/**
 * The run's deltas as JSON, each its string as JSON.stringify writes it (which is how the upstream sent it: the run
 * holds only such deltas) and a comma between two: the JSON array of their texts without its brackets, for the event
 * log (store/event-runs.ts DeltaList), without a string per delta.
 */
export function runJson(run: DeltaRun): string {
  // one delta whose text is decoded already: JSON.stringify writes it as the upstream sent it (the run holds only such)
  if (run.texts?.length === 1) return JSON.stringify(run.texts[0])
  return joinedBodies(run, 0x22, 0x2c, 0x22)
}

/** The k-th delta event of a placed run, as the normaliser would have made it (same keys, same order). */
export function runEvent(run: DeltaRun, k: number): DeltaEvent {
  const { spans } = run
  return {
    type: 'response.output_text.delta',
    sequence_number: run.sequence_number + k,
    item_id: run.item_id,
    output_index: run.output_index,
    content_index: run.content_index,
    // one delta's text alone, unless the run's are decoded already
    delta: run.texts ? run.texts[k]! : bodyText(run.bytes, spans[2 * k]!, spans[2 * k + 1]!),
    logprobs: [],
  }
}

/** The delta events a placed run stands for. */
export function runEvents(run: DeltaRun): DeltaEvent[] {
  runTexts(run)
  const out: DeltaEvent[] = new Array(runLength(run))
  for (let k = 0; k < out.length; k++) out[k] = runEvent(run, k)
  return out
}

/** A delta event as a run's deltas are, one by one. */
export interface DeltaEvent {
  type: 'response.output_text.delta'
  sequence_number: number
  item_id: string
  output_index: number
  content_index: number
  delta: string
  logprobs: never[]
}

/** The events of a batch with its runs spelled out as their delta events (for readers that want single events). */
export function spelledOut<E extends { type: string }>(batch: (E | DeltaRun)[]): (E | DeltaEvent)[] {
  let out: (E | DeltaEvent)[] | null = null
  for (let i = 0; i < batch.length; i++) {
    const e = batch[i]!
    if (e.type !== DELTA_RUN) {
      out?.push(e as E)
      continue
    }
    out ??= batch.slice(0, i) as E[]
    for (const d of runEvents(e as DeltaRun)) out.push(d)
  }
  return out ?? (batch as E[])
}

// ---- Recognising a delta on the upstream's bytes ----

/** What matchDelta found: the delta's item, indexes and where its string body is. */
export interface MatchedDelta {
  /** [start, end) of the item id's characters (plain ASCII, no escapes) */
  idStart: number
  idEnd: number
  output_index: number
  content_index: number
  /** [start, end) of the delta's string body */
  start: number
  end: number
  /** [seqStart, seqEnd) of the upstream's sequence number (-1: none) */
  seqStart: number
  seqEnd: number
}

const TYPE = bytesOf('response.output_text.delta')
const KEYS = ['type', 'item_id', 'output_index', 'content_index', 'delta', 'logprobs', 'sequence_number'].map(bytesOf)
const K_TYPE = 0
const K_ITEM = 1
const K_OUTPUT = 2
const K_CONTENT = 3
const K_DELTA = 4
const K_LOGPROBS = 5
const K_SEQ = 6

function bytesOf(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

/**
 * Whether the JSON object in b[pos, end) is a `response.output_text.delta` of the plain shape a run can hold: the keys
 * type, item_id, output_index, content_index, delta, logprobs (`[]`) and sequence_number (optional), each once,
 * content_index before delta before logprobs (the order the event is sent in), plain values (a non-negative integer
 * index, an item id without escapes, a delta whose bytes JSON.stringify would write as they are). Anything else (null
 * returned) is parsed as JSON the ordinary way, so an event that matches here is one JSON.parse would read the same.
 */
export function matchDelta(b: Uint8Array, pos: number, end: number): MatchedDelta | null {
  let p = ws(b, pos, end)
  if (b[p] !== 0x7b /* { */) return null
  let seen = 0
  let idStart = -1
  let idEnd = -1
  let outputIndex = -1
  let contentIndex = -1
  let start = -1
  let stop = -1
  let seqStart = -1
  let seqEnd = -1
  p = ws(b, p + 1, end)
  for (;;) {
    if (b[p] !== QUOTE) return null
    const key = keyAt(b, p + 1, end)
    if (key < 0 || seen & (1 << key)) return null
    seen |= 1 << key
    p = ws(b, p + 2 + KEYS[key]!.length, end)
    if (b[p] !== 0x3a /* : */) return null
    p = ws(b, p + 1, end)
    switch (key) {
      case K_TYPE: {
        if (b[p] !== QUOTE || !equalAt(b, p + 1, end, TYPE) || b[p + 1 + TYPE.length] !== QUOTE) return null
        p += TYPE.length + 2
        break
      }
      case K_ITEM: {
        if (b[p] !== QUOTE) return null
        idStart = p + 1
        let q = idStart
        for (; q < end; q++) {
          const c = b[q]!
          if (c === QUOTE) break
          if (c < 0x20 || c > 0x7e || c === BACKSLASH) return null
        }
        if (q >= end) return null
        idEnd = q
        p = q + 1
        break
      }
      case K_OUTPUT:
      case K_CONTENT:
      case K_SEQ: {
        let n = 0
        let q = p
        if (b[q] === 0x30 /* 0 */) q++
        else
          for (; q < end && q - p < 9; q++) {
            const c = b[q]! - 0x30
            if (c < 0 || c > 9) break
            n = n * 10 + c
          }
        if (q === p) return null
        const c = b[q]
        // another digit (a leading zero, or past nine digits), a fraction or an exponent: not a plain index
        if (c !== undefined && ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45)) return null
        if (key === K_OUTPUT) outputIndex = n
        else if (key === K_CONTENT) contentIndex = n
        else {
          seqStart = p
          seqEnd = q
        }
        p = q
        break
      }
      case K_DELTA: {
        if (contentIndex < 0 || b[p] !== QUOTE) return null
        start = p + 1
        stop = stringEnd(b, start, end)
        if (stop < 0) return null
        p = stop + 1
        break
      }
      case K_LOGPROBS: {
        // after the delta (where the normaliser leaves it), and empty
        if (start < 0 || b[p] !== 0x5b) return null
        p = ws(b, p + 1, end)
        if (b[p] !== 0x5d) return null
        p++
        break
      }
    }
    p = ws(b, p, end)
    if (b[p] === 0x2c /* , */) {
      p = ws(b, p + 1, end)
      continue
    }
    if (b[p] !== 0x7d /* } */) return null
    break
  }
  if (ws(b, p + 1, end) !== end) return null
  const required = (1 << K_TYPE) | (1 << K_ITEM) | (1 << K_OUTPUT) | (1 << K_CONTENT) | (1 << K_DELTA) | (1 << K_LOGPROBS)
  if ((seen & required) !== required) return null
  return { idStart, idEnd, output_index: outputIndex, content_index: contentIndex, start, end: stop, seqStart, seqEnd }
}

/** Past JSON whitespace (a data line has no line breaks). */
function ws(b: Uint8Array, p: number, end: number): number {
  while (p < end && (b[p] === 0x20 || b[p] === 0x09)) p++
  return p
}

/** Which of KEYS starts at b[p] and is followed by its closing quote; -1: none. (Their first letters differ.) */
function keyAt(b: Uint8Array, p: number, end: number): number {
  let k: number
  switch (b[p]) {
    case 0x74: // t
      k = K_TYPE
      break
    case 0x69: // i
      k = K_ITEM
      break
    case 0x6f: // o
      k = K_OUTPUT
      break
    case 0x63: // c
      k = K_CONTENT
      break
    case 0x64: // d
      k = K_DELTA
      break
    case 0x6c: // l
      k = K_LOGPROBS
      break
    case 0x73: // s
      k = K_SEQ
      break
    default:
      return -1
  }
  const key = KEYS[k]!
  return b[p + key.length] === QUOTE && equalAt(b, p, end, key) ? k : -1
}

function equalAt(b: Uint8Array, p: number, end: number, what: Uint8Array): boolean {
  if (p + what.length > end) return false
  for (let i = 0; i < what.length; i++) if (b[p + i] !== what[i]) return false
  return true
}

/**
 * Where the JSON string body starting at b[p] ends (its closing quote), when its bytes are what JSON.stringify would
 * write for its text: valid UTF-8, no raw control character, and only the escapes JSON.stringify itself writes (\" \\
 * \b \f \n \r \t, and \u00xx in lower-case hex for the other control characters). -1 otherwise.
 */
function stringEnd(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!
    if (c === QUOTE) return p
    if (c < 0x20) return -1
    if (c === BACKSLASH) {
      const e = b[p + 1]
      if (e === QUOTE || e === BACKSLASH || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p += 2
        continue
      }
      if (e !== 0x75 /* u */ || p + 6 > end || b[p + 2] !== 0x30 || b[p + 3] !== 0x30) return -1
      const hi = b[p + 4]!
      const lo = b[p + 5]!
      const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x61 + 10 : -1
      if ((hi !== 0x30 && hi !== 0x31) || low < 0) return -1
      const code = (hi - 0x30) * 16 + low
      // the ones with a short escape are written short
      if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1
      p += 6
      continue
    }
    if (c < 0x80) {
      p++
      continue
    }
    const n = utf8Sequence(b, p, end)
    if (n < 0) return -1
    p += n
  }
  return -1
}

/** The length of the well-formed UTF-8 sequence of a non-ASCII character at b[p] (no surrogates, no overlongs); -1: none. */
function utf8Sequence(b: Uint8Array, p: number, end: number): number {
  const c = b[p]!
  const cont = (i: number, lo = 0x80, hi = 0xbf) => p + i < end && b[p + i]! >= lo && b[p + i]! <= hi
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : -1
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : -1
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : -1
  if (c >= 0xe1 && c <= 0xef) return cont(1) && cont(2) ? 3 : -1
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : -1
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : -1
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : -1
  return -1
}

/** What DeltaMatcher found: the delta (its body's place, its indexes) and its item's id. */
export interface FoundDelta {
  itemId: string
  output_index: number
  content_index: number
  /** [start, end) of the delta's string body */
  start: number
  end: number
}

/**
 * matchDelta for one stream, quicker for the deltas after the first: consecutive deltas of an upstream are the same
 * bytes but for their text and sequence number, so a delta is first compared with the last one matched (its other
 * bytes as a template), and parsed only when that fails. What it accepts is what matchDelta
 * accepts: the same bytes around a delta body and a number of the same kind.
 *
 * The last delta's whole SSE message (its event line, data line and blank line, as sent) is a template too
 * (matchMessage): the next message, when it is those bytes but for the text and number, is taken without being framed
 * line by line. In a chunk of many messages its fixed parts are compared four bytes at a time (through a DataView of the
 * chunk made once: a loop over the bytes was the most of what a delta of a burst cost to read, and a string of one
 * character per byte made of the chunk for native compares copied the whole chunk — ~219 KB for a 1,000-delta burst —
 * into fresh memory, ~10% of the serving thread with its page faults); in a chunk of about one message (a token-by-token
 * upstream's every chunk) byte by byte, as a view of the chunk made for one message cost more than the loop (a network
 * chunk's first `buffer` is made on demand, bytes-text.ts).
 */
export class DeltaMatcher {
  /** the template: the bytes before the first variable part, between the two, after the last (mid null: one part) */
  private head = EMPTY
  private mid: Uint8Array | null = null
  private tail = EMPTY
  /** whether the delta's body comes before the sequence number */
  private bodyFirst = true
  private learnt = false
  /** whether there is a whole message's template (the next three) */
  private whole = false
  /**
   * the whole message's template: the bytes before the first variable part (from the message's first line), between
   * the two (none: one part), after the last (to its blank line's end)
   */
  private preBytes = EMPTY
  private betweenBytes = EMPTY
  private postBytes = EMPTY
  /** the same three as little-endian 32-bit words (their last length % 4 bytes left out), compared in a long chunk */
  private preWords: Int32Array = NO_WORDS
  private betweenWords: Int32Array = NO_WORDS
  private postWords: Int32Array = NO_WORDS
  /** the chunk last compared word by word, and its DataView */
  private wordsChunk: Uint8Array | null = null
  private words: DataView | null = null
  /** a chunk whose bytes from the message on are fewer than this holds about one message: compared as bytes */
  private shortRest = 0
  /** the result, reused (read at once by the caller) */
  readonly found: FoundDelta = { itemId: '', output_index: 0, content_index: 0, start: 0, end: 0 }

  /**
   * The delta in b[start, end), or null: not one. The result is this matcher's, valid until its next call. When the
   * whole SSE message is b[msgStart, msgEnd) (msgStart -1: not known), a delta found is its template from then on.
   */
  matchAt(b: Uint8Array, start: number, end: number, msgStart = -1, msgEnd = -1): FoundDelta | null {
    if (!this.learnt || !this.fromTemplate(b, start, end)) {
      const m = matchDelta(b, start, end)
      if (!m) return null
      this.learn(b, start, end, m)
      // the message template holds the item's id and indexes: it goes with the data template it was made from
      this.whole = false
    }
    // (a message offered here was not the message template, when it began at a line where no other had: learnt anew)
    if (msgStart >= 0) this.learnWhole(b, start, end, msgStart, msgEnd)
    return this.found
  }

  /**
   * The whole SSE message at b[pos] when it is the last one matched but for the delta's text and number, no longer
   * than maxBytes: returns where it ends (found set), or -1.
   */
  matchMessage(b: Uint8Array, pos: number, maxBytes: number): number {
    if (!this.whole) return -1
    const end = b.length
    // word by word only in a chunk with more than about one message left in it
    const w = end - pos < this.shortRest ? null : this.wordsFor(b)
    if (!sameAt(w, b, pos, end, this.preBytes, this.preWords)) return -1
    let p = pos + this.preBytes.length
    const holes = this.mid === null ? 1 : 2
    for (let hole = 0; hole < holes; hole++) {
      if (hole === 1) {
        if (!sameAt(w, b, p, end, this.betweenBytes, this.betweenWords)) return -1
        p += this.betweenBytes.length
      }
      if ((hole === 0) === this.bodyFirst) {
        const q = stringEnd(b, p, end)
        if (q < 0) return -1
        this.found.start = p
        this.found.end = q
        p = q
      } else {
        p = numberEnd(b, p, end)
        if (p < 0) return -1
      }
    }
    if (!sameAt(w, b, p, end, this.postBytes, this.postWords)) return -1
    p += this.postBytes.length
    return p - pos > maxBytes ? -1 : p
  }

  /** A DataView of the chunk, made once per chunk. */
  private wordsFor(b: Uint8Array): DataView {
    if (this.wordsChunk !== b) {
      this.wordsChunk = b
      this.words = new DataView(b.buffer, b.byteOffset, b.byteLength)
    }
    return this.words!
  }

  private fromTemplate(b: Uint8Array, start: number, end: number): boolean {
    if (!same(b, start, end, this.head)) return false
    let p = start + this.head.length
    const holes = this.mid === null ? 1 : 2
    for (let hole = 0; hole < holes; hole++) {
      if (hole === 1) {
        if (!same(b, p, end, this.mid!)) return false
        p += this.mid!.length
      }
      if ((hole === 0) === this.bodyFirst) {
        const q = stringEnd(b, p, end)
        if (q < 0) return false
        this.found.start = p
        this.found.end = q
        p = q
      } else {
        p = numberEnd(b, p, end)
        if (p < 0) return false
      }
    }
    return end - p === this.tail.length && same(b, p, end, this.tail)
  }

  /** The template of a delta matchDelta accepted. */
  private learn(b: Uint8Array, start: number, end: number, m: MatchedDelta): void {
    const piece = (from: number, to: number) => b.slice(from, to)
    const f = this.found
    f.itemId = byteText(b, m.idStart, m.idEnd)
    f.output_index = m.output_index
    f.content_index = m.content_index
    f.start = m.start
    f.end = m.end
    this.learnt = true
    if (m.seqStart < 0) {
      this.bodyFirst = true
      this.head = piece(start, m.start)
      this.mid = null
      this.tail = piece(m.end, end)
      return
    }
    this.bodyFirst = m.start < m.seqStart
    const [a, z] = this.bodyFirst ? [m.start, m.end] : [m.seqStart, m.seqEnd]
    const [a2, z2] = this.bodyFirst ? [m.seqStart, m.seqEnd] : [m.start, m.end]
    this.head = piece(start, a)
    this.mid = piece(z, a2)
    this.tail = piece(z2, end)
  }

  /**
   * The whole message's template, from the data template just matched (found, head, mid, tail) and where the message
   * lies: only one that ends with a line feed (a \r at its end could be the first half of a \r\n to come).
   */
  private learnWhole(b: Uint8Array, start: number, end: number, msgStart: number, msgEnd: number): void {
    if (b[msgEnd - 1] !== LF) return
    const first = start + this.head.length
    this.preBytes = b.slice(msgStart, first)
    if (this.mid === null) this.betweenBytes = EMPTY
    else {
      // the first hole's end: the body's (found) or the number's
      const firstEnd = this.bodyFirst ? this.found.end : numberEnd(b, first, end)
      this.betweenBytes = b.slice(firstEnd, firstEnd + this.mid.length)
    }
    this.postBytes = b.slice(end - this.tail.length, msgEnd)
    this.preWords = wordsOf(this.preBytes)
    this.betweenWords = wordsOf(this.betweenBytes)
    this.postWords = wordsOf(this.postBytes)
    this.whole = true
    // twice the fixed parts: room for one message and its text, not for two
    this.shortRest = 2 * (this.preBytes.length + this.betweenBytes.length + this.postBytes.length)
  }
}

const LF = 10

/** Where the plain index at b[p] (no leading zero, at most nine digits) ends; -1: none there. */
function numberEnd(b: Uint8Array, p: number, end: number): number {
  const q = p
  if (b[p] === 0x30) p++
  else while (p < end && p - q < 9 && b[p]! >= 0x30 && b[p]! <= 0x39) p++
  if (p === q || (b[p]! >= 0x30 && b[p]! <= 0x39)) return -1
  return p
}

const EMPTY = new Uint8Array(0)
const NO_WORDS: Int32Array = new Int32Array(0)

/** Whether the bytes at b[p] (before `end`) are those of `t`. */
function same(b: Uint8Array, p: number, end: number, t: Uint8Array): boolean {
  const n = t.length
  if (p + n > end) return false
  for (let i = 0; i < n; i++) if (b[p + i] !== t[i]) return false
  return true
}

/** t's bytes as little-endian 32-bit words (its last length % 4 bytes left out: sameWords compares them one by one). */
function wordsOf(t: Uint8Array): Int32Array {
  const words = new Int32Array(t.length >> 2)
  const view = new DataView(t.buffer, t.byteOffset, t.byteLength)
  for (let i = 0; i < words.length; i++) words[i] = view.getInt32(4 * i, true)
  return words
}

/** Whether the bytes at b[p] are t's: four bytes at a time through `w` (a DataView of b) when given, else one by one. */
function sameAt(w: DataView | null, b: Uint8Array, p: number, end: number, t: Uint8Array, words: Int32Array): boolean {
  return w === null ? same(b, p, end, t) : sameWords(w, b, p, end, t, words)
}

/** same() four bytes at a time: `w` is a DataView of b, `words` are t's (wordsOf). */
function sameWords(w: DataView, b: Uint8Array, p: number, end: number, t: Uint8Array, words: Int32Array): boolean {
  const n = t.length
  if (p + n > end) return false
  let i = 0
  for (let k = 0; k < words.length; k++, i += 4) if (w.getInt32(p + i, true) !== words[k]) return false
  for (; i < n; i++) if (b[p + i] !== t[i]) return false
  return true
}
