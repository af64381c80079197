// The JSON text of an object that no longer changes, made once: a finished turn's Response is measured against
// --max-stored-response-bytes, written to the store and sent as the HTTP answer — three JSON.stringify calls of the
// same object on every JSON turn, one of them enough. Only objects settled here are remembered (in a WeakMap: they
// go when the object does); any other value is stringified as usual. And JSON text made already (a run of deltas' as the
// upstream sent it) put in as the value of the last field of what holds it (withLastField).
const texts = new WeakMap<object, string>()

/** The JSON of `value`, remembered for it: the caller vouches that `value` (and all it holds) is never changed again. */
export function settledJson(value: object): string {
  let text = texts.get(value)
  if (text === undefined) {
    text = JSON.stringify(value)
    texts.set(value, text)
  }
  return text
}

/** JSON.stringify(value), or the text settledJson made for it. */
export function toJson(value: unknown): string {
  return (typeof value === 'object' && value !== null && texts.get(value)) || JSON.stringify(value)
}

/**
 * JSON.stringify(value) with `json` (JSON text) as the value of its field `key` — when that is its last field; any
 * other value is stringified whole.
 */
export function withLastField(value: object, key: string, json: string): string {
  const rest = JSON.stringify({ ...value, [key]: 0 })
  return rest.endsWith(`${JSON.stringify(key)}:0}`) ? `${rest.slice(0, -2)}${json}}` : JSON.stringify({ ...value, [key]: JSON.parse(json) })
}
