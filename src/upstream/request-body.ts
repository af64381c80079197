// The body of a request to the upstream: the very text JSON.stringify(body) gives (same keys, same order). A long
// chain's request is mostly items the previous turn already sent: settled items (src/store/settled-items.ts) — or the
// settled chat messages made of them — and such a request is written as bytes, never as one string: a string of the
// whole body (a rope of kept texts, flattened when fetch read it) cost a long chain's turn a fresh allocation the size
// of the body, its pages faulted in again every turn — ~0.5 ms of CPU for the 190 KB body of turn 300 of the bench's
// chain.
//
// The run of settled items a chain's list begins with is kept as one piece of UTF-8 (chainPrefix), grown by the items
// each turn adds: the next request copies it in one go and encodes only what is new, so a turn's work is what it adds,
// not the chain again (an item at a time, looked up and copied, was ~40 µs at 600 items).
//
// The body is lent: written into a buffer that is the request's until its fetch is called (bodySent, from
// upstream/client.ts), and written again only after that — fetch copies a body of bytes when it is called
// (test/upstream/client.test.ts holds Bun to it). A body on loan is never written over, whatever runs between here
// and fetch (an await, a log); a body sent is never sent again (the client refuses it). A fresh array for every body
// instead had its ~50 pages faulted in every turn: at turn 300 of the bench's chain, ~45 more page faults a turn than
// at turn 10 and ~0.4 ms more of the main thread's time, the most of what a turn's cost still grew with.
import { isSettled, settledSlot } from '../store/settled-items'

const encoder = new TextEncoder()
/** a settled item's JSON as UTF-8 (one that comes after the kept beginning: a chat request's rebuilt messages between) */
const keptBytes = settledSlot<Uint8Array>()

/**
 * The JSON of a run of settled list elements, joined with commas, as UTF-8 — `bytes[0, ends[j])` holds elements 0..j —
 * kept by the run's first element (the next request of the chain begins with the same objects). Grown in place,
 * capacity doubled; cut back to what the next list shares with it (a chain continued from an earlier response,
 * truncation), so it always describes the last list that used it.
 */
interface ChainPrefix {
  elements: unknown[]
  ends: number[]
  bytes: Uint8Array
}
const prefixes = new WeakMap<object, ChainPrefix>()

/** Buffers of bodies whose fetch was called (bodySent), to be lent again; a few, for the requests made at once. */
const free: Uint8Array[] = []
const KEEP_FREE = 4
/** a body on loan → the buffer it is the beginning of */
const onLoan = new WeakMap<Uint8Array, Uint8Array>()
/** bodies whose buffer was given back: their bytes may be another request's by now */
const given = new WeakSet<Uint8Array>()

/**
 * The request whose body this is has been handed to fetch (which copied it): its buffer may be lent again. Anything
 * that is not a lent body is left alone; a body given back twice, once.
 */
export function bodySent(body: unknown): void {
  if (!(body instanceof Uint8Array)) return
  const buffer = onLoan.get(body)
  if (buffer === undefined) return
  onLoan.delete(body)
  given.add(body)
  if (free.length < KEEP_FREE && buffer.length <= KEEP_AT_MOST) free.push(buffer)
}

/** Whether `body` is a lent body already sent (bodySent): its bytes are no longer its own. */
export function wasSent(body: unknown): boolean {
  return body instanceof Uint8Array && given.has(body)
}

/** A buffer of at least `size` bytes no request holds: a free one, or a new one with room for the chain to grow. */
function borrow(size: number): Uint8Array {
  const buffer = free.pop()
  if (buffer !== undefined && buffer.length >= size) return buffer
  return new Uint8Array(Math.max(64 * 1024, Math.ceil(size * 1.25)))
}

/** The scratch buffer the parts of a chain's body around its kept beginning are written into. */
let buf = new Uint8Array(64 * 1024)
let at = 0
/** A buffer grown past this is not kept after the request: one giant body does not hold its size for good. */
const KEEP_AT_MOST = 8 * 1024 * 1024

/**
 * JSON.stringify(body) — with the items of its list `key` (`input`; a chat request's `messages`) from what is kept —
 * as a string, or, for a chain's request (a list holding settled items), as UTF-8 bytes of its own.
 */
export function requestBody(body: Record<string, unknown>, key = 'input'): string | Uint8Array {
  const list = body[key]
  // A list that begins with no settled item is no chain's next request (an HTTP turn, a first turn): one string. A
  // chat request's first message may be its system message, made from the instructions every time.
  if (!Array.isArray(list)) return JSON.stringify(body)
  const from = isSettled(list[0]) ? 0 : isSettled(list[1]) ? 1 : -1
  if (from < 0) return JSON.stringify(body)
  at = 0
  // where the kept beginning's bytes go (between the scratch buffer's bytes before and after it), and how long it is
  let gap = 0
  let kept = 0
  let open = true
  for (const k of Object.keys(body)) {
    if (k === key) {
      text(`${open ? '{' : ','}${JSON.stringify(k)}:[`)
      if (from === 1) item(list[0])
      const prefix = chainPrefix(list, from)
      const n = prefix.elements.length
      if (from === 1) byte(0x2c) // ,
      gap = at
      kept = prefix.ends[n - 1]!
      for (let i = from + n; i < list.length; i++) {
        byte(0x2c) // ,
        item(list[i])
      }
      byte(0x5d) // ]
    } else {
      const v = JSON.stringify(body[k])
      if (v === undefined) continue
      text(`${open ? '{' : ','}${JSON.stringify(k)}:${v}`)
    }
    open = false
  }
  byte(0x7d) // }
  const buffer = borrow(at + kept)
  buffer.set(buf.subarray(0, gap))
  buffer.set(prefixes.get(list[from] as object)!.bytes.subarray(0, kept), gap)
  buffer.set(buf.subarray(gap, at), gap + kept)
  if (buf.length > KEEP_AT_MOST) buf = new Uint8Array(64 * 1024)
  const out = buffer.subarray(0, at + kept)
  onLoan.set(out, buffer)
  return out
}

/**
 * The kept beginning of `list` from `from` (a settled element): what the last list that began with the same element
 * shares with this one, grown by the settled elements that follow it here. At least that first element.
 */
function chainPrefix(list: unknown[], from: number): ChainPrefix {
  const first = list[from] as object
  let prefix = prefixes.get(first)
  if (prefix === undefined) {
    prefix = { elements: [], ends: [], bytes: new Uint8Array(16 * 1024) }
    prefixes.set(first, prefix)
  }
  const { elements, ends } = prefix
  let n = 0
  while (n < elements.length && from + n < list.length && elements[n] === list[from + n]) n++
  if (n < elements.length) {
    elements.length = n
    ends.length = n
  }
  for (let i = from + n; i < list.length && isSettled(list[i]); i++) {
    const x = list[i]
    const json = encoder.encode(`${n ? ',' : ''}${JSON.stringify(x) ?? 'null'}`)
    const end = (n ? ends[n - 1]! : 0) + json.length
    if (end > prefix.bytes.length) {
      const grown = new Uint8Array(Math.max(end, prefix.bytes.length * 2))
      grown.set(prefix.bytes.subarray(0, n ? ends[n - 1] : 0))
      prefix.bytes = grown
    }
    prefix.bytes.set(json, end - json.length)
    elements.push(x)
    ends.push(end)
    n++
  }
  return prefix
}

/** One element of the list: a settled item's kept bytes (made once), any other value stringified as an array does. */
function item(x: unknown) {
  const kept = keptBytes.get(x)
  if (kept !== undefined) return bytes(kept)
  const json = JSON.stringify(x) ?? 'null'
  if (!isSettled(x)) return text(json)
  const made = encoder.encode(json)
  keptBytes.set(x, made)
  bytes(made)
}

function room(n: number) {
  if (at + n <= buf.length) return
  const grown = new Uint8Array(Math.max(at + n, buf.length * 2))
  grown.set(buf.subarray(0, at))
  buf = grown
}

function text(s: string) {
  room(s.length * 3) // UTF-8 takes at most 3 bytes per UTF-16 unit
  at += encoder.encodeInto(s, buf.subarray(at)).written
}

function bytes(b: Uint8Array) {
  room(b.length)
  buf.set(b, at)
  at += b.length
}

function byte(b: number) {
  room(1)
  buf[at++] = b
}
