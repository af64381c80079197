// The JSON text of a request to the upstream. A long chain's request is mostly items the previous turn already sent:
// the JSON of settled items (src/store/settled-items.ts) is kept beside them, so a turn serialises its new items and
// joins the rest. The text is the very one JSON.stringify(body) gives (same keys, same order).
import { settledMemo } from '../store/settled-items'

const itemJson = settledMemo((item: unknown): string => JSON.stringify(item) ?? 'null')

export function requestJson(body: Record<string, unknown>): string {
  const input = body.input
  if (!Array.isArray(input)) return JSON.stringify(body)
  // One string built by appending (a rope, copied once when sent), not a join of joins.
  let out = ''
  for (const k of Object.keys(body)) {
    let v: string | undefined
    if (k === 'input') {
      v = '['
      for (let i = 0; i < input.length; i++) v += (i ? ',' : '') + itemJson(input[i])
      v += ']'
    } else v = JSON.stringify(body[k])
    if (v !== undefined) out += `${out ? ',' : '{'}${JSON.stringify(k)}:${v}`
  }
  return out ? `${out}}` : '{}'
}
