// Gateway-owned ids: a type prefix plus a time-ordered, random-suffixed hex body (UUIDv7-like), so ids
// sort by creation time and listings ordered by id are ordered by time.

export type IdPrefix =
  | 'resp'
  | 'msg'
  | 'fc'
  | 'fco'
  | 'ctc'
  | 'ctco'
  | 'rs'
  | 'conv'
  | 'item'
  | 'lsh'
  | 'sh'
  | 'req'
  | 'cmp'
  | 'mcp'
  | 'mcpl'
  | 'mcpr'
  | 'mcpa'
  | 'ws'

export type IdSource = (prefix: IdPrefix) => string

let lastMs = 0
let counter = 0
let timeHex = ''

// The random tails come from a pool of crypto random bytes, refilled when used up: one getRandomValues call per 512
// ids instead of one per id (a turn makes several ids, and each call showed in profiles), each byte read once.
const POOL_BYTES = 4096
const TAIL_BYTES = 8
const pool = new Uint8Array(POOL_BYTES)
let used = POOL_BYTES
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

export const timeOrderedId: IdSource = (prefix) => {
  const now = Date.now()
  // A per-millisecond counter keeps ids made within one millisecond in creation order.
  if (now === lastMs) counter++
  else {
    lastMs = now
    counter = 0
    timeHex = now.toString(16).padStart(12, '0')
  }
  if (used + TAIL_BYTES > POOL_BYTES) {
    crypto.getRandomValues(pool)
    used = 0
  }
  let tail = ''
  for (let i = used; i < used + TAIL_BYTES; i++) tail += HEX[pool[i]!]
  used += TAIL_BYTES
  return `${prefix}_${timeHex}${counter.toString(16).padStart(4, '0')}${tail}`
}

/** Deterministic ids for tests: prefix_000001, prefix_000002, … */
export function sequentialIds(): IdSource {
  let n = 0
  return (prefix) => `${prefix}_${String(++n).padStart(6, '0')}`
}
