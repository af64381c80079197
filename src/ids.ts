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

export const timeOrderedId: IdSource = (prefix) => {
  const now = Date.now()
  // A per-millisecond counter keeps ids made within one millisecond in creation order.
  if (now === lastMs) counter++
  else {
    lastMs = now
    counter = 0
  }
  const time = now.toString(16).padStart(12, '0')
  const seq = counter.toString(16).padStart(4, '0')
  const rand = crypto.getRandomValues(new Uint8Array(8))
  let tail = ''
  for (const b of rand) tail += b.toString(16).padStart(2, '0')
  return `${prefix}_${time}${seq}${tail}`
}

/** Deterministic ids for tests: prefix_000001, prefix_000002, … */
export function sequentialIds(): IdSource {
  let n = 0
  return (prefix) => `${prefix}_${String(++n).padStart(6, '0')}`
}
