// The body of a request to the upstream: the very text JSON.stringify(body) gives (same keys, same order). A long
// chain's request is mostly items the previous turn already sent: settled items (src/store/settled-items.ts) — or the
// settled chat messages made of them — and such a request is written as bytes, never as one string: a string of the
// whole body (a rope of kept texts, flattened when fetch read it) cost a long chain's turn a fresh allocation the size
// of the body, its pages faulted in again every turn — ~0.5 ms of CPU for the 190 KB body of turn 300 of the bench's
// chain.
//
// The run of settled items a chain's list begins with is kept as one piece of UTF-8 (chainPrefix), grown by the items
// each turn adds: the next request copies it in one go and encodes only what is new, so a turn's work is what it adds,
// not the chain again (an item at a time, looked up and copied, was ~40 µs at 600 items). The body handed out is bytes
// of its own, owned by its request: nothing the caller does between here and fetch (an await, a retry, a log) can
// see another request's bytes.
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

/** The scratch buffer the rest of a chain's body is written into (requestBody copies it out). */
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
  const out = new Uint8Array(at + kept)
  out.set(buf.subarray(0, gap))
  out.set(prefixes.get(list[from] as object)!.bytes.subarray(0, kept), gap)
  out.set(buf.subarray(gap, at), gap + kept)
  if (buf.length > KEEP_AT_MOST) buf = new Uint8Array(64 * 1024)
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
