// The body of a request to the upstream: the very text JSON.stringify(body) gives (same keys, same order). A long
// chain's request is mostly items the previous turn already sent: the JSON of settled items
// (src/store/settled-items.ts) — or of the settled chat messages made of them — is kept with them as UTF-8, and such a
// request is written as bytes into one buffer the process reuses: the kept bytes copied, the rest encoded. It is never
// one string: a string of the whole body (a rope of kept texts, flattened when fetch read it) cost a long chain's turn a
// fresh allocation the size of the body, its pages faulted in again every turn — ~0.5 ms of CPU for the 190 KB body of
// turn 300 of the bench's chain (the most of what a turn's cost still grew with), where copying bytes into a buffer
// in use costs ~0.02 ms. The body handed out is a copy of the buffer's bytes, owned by its request: one memcpy, so
// nothing the caller does between here and fetch (an await, a retry, a log) can see another request's bytes.
import { isSettled, settledSlot } from '../store/settled-items'

const encoder = new TextEncoder()
/** a settled item's JSON as UTF-8, made the first time a request carries it */
const keptBytes = settledSlot<Uint8Array>()

/** The scratch buffer chain requests are written into (requestBody copies each body out of it). */
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
  if (!Array.isArray(list) || !(isSettled(list[0]) || isSettled(list[1]))) return JSON.stringify(body)
  at = 0
  let open = true
  for (const k of Object.keys(body)) {
    if (k === key) {
      text(`${open ? '{' : ','}${JSON.stringify(k)}:[`)
      for (let i = 0; i < list.length; i++) {
        if (i) byte(0x2c) // ,
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
  const out = buf.slice(0, at)
  if (buf.length > KEEP_AT_MOST) buf = new Uint8Array(64 * 1024)
  return out
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
