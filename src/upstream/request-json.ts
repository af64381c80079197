// The JSON text of a request to the upstream. A long chain's request is mostly items the previous turn already sent:
// the JSON of settled items (src/store/settled-items.ts) — or of the settled chat messages made of them — is kept
// with them, so a turn serialises its new items and joins the rest. The text is the very one JSON.stringify(body)
// gives (same keys, same order).
import { settledMemo } from '../store/settled-items'

const itemJson = settledMemo((item: unknown): string => JSON.stringify(item) ?? 'null')

/** JSON.stringify(body), with the items of its list `key` (`input`; a chat request's `messages`) from what is kept. */
export function requestJson(body: Record<string, unknown>, key = 'input'): string {
  const list = body[key]
  if (!Array.isArray(list)) return JSON.stringify(body)
  // One string built by appending (a rope, copied once when sent), not a join of joins.
  let out = ''
  for (const k of Object.keys(body)) {
    let v: string | undefined
    if (k === key) {
      v = '['
      for (let i = 0; i < list.length; i++) v += (i ? ',' : '') + itemJson(list[i])
      v += ']'
    } else v = JSON.stringify(body[k])
    if (v !== undefined) out += `${out ? ',' : '{'}${JSON.stringify(k)}:${v}`
  }
  return out ? `${out}}` : '{}'
}
