// The JSON text of a request to the upstream. A long chain's request is mostly items the previous turn already sent:
// the JSON of settled items (src/store/settled-items.ts) — or of the settled chat messages made of them — is kept
// with them, and the JSON of a list's settled beginning is kept too, so the next request of the same chain (which
// begins with the same objects) joins only what follows it. The text is the very one JSON.stringify(body) gives
// (same keys, same order).
import { isSettled, settledMemo } from '../store/settled-items'

const itemJson = settledMemo((item: unknown): string => JSON.stringify(item) ?? 'null')

/**
 * The JSON of the settled elements a list began with, by its first element: `items` (a copy: they are what the
 * next list must begin with) and their JSON, joined with commas. Weak: it goes with the chain.
 */
const beginnings = new WeakMap<object, { items: unknown[]; json: string }>()

/** JSON.stringify(body), with the items of its list `key` (`input`; a chat request's `messages`) from what is kept. */
export function requestJson(body: Record<string, unknown>, key = 'input'): string {
  const list = body[key]
  // A list that does not begin with a settled item is no chain's next request (an HTTP turn, a first turn): whole.
  if (!Array.isArray(list) || !isSettled(list[0])) return JSON.stringify(body)
  let out = ''
  for (const k of Object.keys(body)) {
    const v = k === key ? listJson(list) : JSON.stringify(body[k])
    if (v !== undefined) out += `${out ? ',' : '{'}${JSON.stringify(k)}:${v}`
  }
  return out ? `${out}}` : '{}'
}

function listJson(list: unknown[]): string {
  const first = list[0]
  const kept = isSettled(first) ? beginnings.get(first as object) : undefined
  // The kept beginning holds when this list begins with the very same objects (a pointer compare each).
  let i = 0
  let begun = ''
  if (kept && kept.items.length <= list.length && kept.items.every((x, j) => x === list[j])) {
    begun = kept.json
    i = kept.items.length
  }
  // One string built by appending (a rope, copied once when sent), not a join of joins.
  const from = i
  for (; i < list.length && isSettled(list[i]); i++) begun += (i ? ',' : '') + itemJson(list[i])
  if (i > from && first !== undefined) beginnings.set(first as object, { items: list.slice(0, i), json: begun })
  let rest = ''
  for (; i < list.length; i++) rest += (i ? ',' : '') + itemJson(list[i])
  return `[${begun}${rest}]`
}
