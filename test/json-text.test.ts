// JSON text made once and put into the JSON of what holds it (src/json-text.ts): exactly the bytes JSON.stringify of the
// whole would be.
import { expect, test } from 'bun:test'
import { withLastField } from '../src/json-text'

test('a last field given as JSON text is written in place; a field elsewhere gets the value that text is', () => {
  expect(withLastField({ a: 1, d: 0 }, 'd', '["x","y"]')).toBe('{"a":1,"d":["x","y"]}')
  expect(withLastField({ d: 0, a: 1 }, 'd', '["x","y"]')).toBe('{"d":["x","y"],"a":1}')
  expect(withLastField({ a: 1 }, 'd', '{"k":true}')).toBe('{"a":1,"d":{"k":true}}')
})
