// Which upstream delta events are taken as bytes (src/upstream/delta-run.ts matchDelta, DeltaMatcher): only those whose
// bytes JSON.stringify would write the same way for the event the gateway sends; every other one is parsed as before.
import { describe, expect, test } from 'bun:test'
import { DeltaMatcher, matchDelta, runTexts, type DeltaRun } from '../../src/upstream/delta-run'

const enc = new TextEncoder()
const bytes = (s: string | number[]) => (typeof s === 'string' ? enc.encode(s) : new Uint8Array(s))
const match = (s: string | number[]) => {
  const b = bytes(s)
  return matchDelta(b, 0, b.length)
}
/** The delta body matchDelta found, as text. */
const body = (s: string) => {
  const b = bytes(s)
  const m = matchDelta(b, 0, b.length)
  return m && new TextDecoder().decode(b.subarray(m.start, m.end))
}

const T = '"type":"response.output_text.delta"'
const line = (delta: string, rest = '"logprobs":[]') =>
  `{${T},"item_id":"msg_1","output_index":2,"content_index":1,"delta":${delta},${rest}}`

describe('a delta taken as bytes', () => {
  test.each([
    [
      'OpenAI order, number second',
      `{${T},"sequence_number":12,"item_id":"msg_1","output_index":2,"content_index":1,"delta":"hi","logprobs":[]}`,
    ],
    [
      'vLLM order (alphabetical)',
      `{"content_index":1,"delta":"hi","item_id":"msg_1","logprobs":[],"output_index":2,"sequence_number":5,${T}}`,
    ],
    ['no sequence number', line('"hi"')],
    [
      'spaces between the tokens',
      `{ "type" : "response.output_text.delta", "item_id": "msg_1", "output_index": 2, "content_index": 1, "delta": "hi", "logprobs": [ ] }`,
    ],
  ])('%s', (_, text) => {
    const m = match(text)
    expect(m).toMatchObject({ output_index: 2, content_index: 1 })
    expect(body(text)).toBe('hi')
  })

  test.each([
    ['escapes JSON.stringify writes', '"a\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001\\u001f"'],
    ['UTF-8 of 2, 3 and 4 bytes', '"é中😀"'],
    ['an empty delta', '""'],
  ])('its delta with %s', (_, delta) => {
    expect(body(line(delta))).toBe(delta.slice(1, -1))
  })
})

describe('a delta parsed as before', () => {
  test.each([
    ['no logprobs', line('"hi"', '"sequence_number":1')],
    ['logprobs not empty', line('"hi"', '"logprobs":[{"token":"hi"}]')],
    ['a field more', line('"hi"', '"logprobs":[],"obfuscation":"x"')],
    ['a field twice', line('"hi"', '"logprobs":[],"delta":"again"')],
    ['logprobs before the delta', `{${T},"item_id":"msg_1","output_index":2,"content_index":1,"logprobs":[],"delta":"hi"}`],
    ['the delta before content_index', `{${T},"item_id":"msg_1","output_index":2,"delta":"hi","content_index":1,"logprobs":[]}`],
    ['no item id', `{${T},"output_index":2,"content_index":1,"delta":"hi","logprobs":[]}`],
    ['an item id with an escape', `{${T},"item_id":"msg\\u005f1","output_index":2,"content_index":1,"delta":"hi","logprobs":[]}`],
    ['an index with a leading zero', `{${T},"item_id":"msg_1","output_index":02,"content_index":1,"delta":"hi","logprobs":[]}`],
    ['a negative index', `{${T},"item_id":"msg_1","output_index":-2,"content_index":1,"delta":"hi","logprobs":[]}`],
    ['a fractional index', `{${T},"item_id":"msg_1","output_index":2.0,"content_index":1,"delta":"hi","logprobs":[]}`],
    ['another type', line('"hi"').replace('output_text', 'refusal')],
    ['text after the object', line('"hi"') + 'x'],
    ['an escaped slash', line('"a\\/b"')],
    ['a non-ASCII character escaped', line('"\\u00e9"')],
    ['an escape in upper-case hex', line('"\\u001F"')],
    ['\\u000a for a line feed', line('"\\u000a"')],
    ['a surrogate pair escaped', line('"\\ud83d\\ude00"')],
    ['a raw control character', line('"a\tb"')],
    ['an unterminated string', `{${T},"item_id":"msg_1","output_index":2,"content_index":1,"delta":"hi`],
  ])('%s', (_, text) => {
    expect(match(text)).toBeNull()
  })

  const around = (inner: number[]) => [...bytes(line('"').slice(0, -'","logprobs":[]}'.length + 1)), ...inner, ...bytes('","logprobs":[]}')]
  test.each([
    ['a lone continuation byte', [0x80]],
    ['an overlong encoding', [0xc0, 0x80]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a sequence cut short', [0xe4, 0xb8]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('invalid UTF-8: %s', (_, inner) => {
    expect(match(around([0x61]))).not.toBeNull()
    expect(match(around(inner))).toBeNull()
  })
})

describe('DeltaMatcher (the last delta as a template)', () => {
  const at = (m: DeltaMatcher, s: string) => {
    const b = bytes(s)
    const r = m.matchAt(b, 0, b.length)
    return r && { id: r.itemId, out: r.output_index, text: new TextDecoder().decode(b.subarray(r.start, r.end)) }
  }
  const vllm = (id: string, seq: number, delta: string) =>
    `{"content_index":0,"delta":${delta},"item_id":"${id}","logprobs":[],"output_index":0,"sequence_number":${seq},${T}}`

  test('takes what matchDelta takes, delta after delta, and nothing it refuses', () => {
    const m = new DeltaMatcher()
    expect(at(m, vllm('msg_a', 3, '"one"'))).toEqual({ id: 'msg_a', out: 0, text: 'one' })
    expect(at(m, vllm('msg_a', 4, '"two é"'))).toEqual({ id: 'msg_a', out: 0, text: 'two é' })
    expect(at(m, vllm('msg_a', 1000, '"three"'))).toEqual({ id: 'msg_a', out: 0, text: 'three' })
    // another item: parsed again, its own id
    expect(at(m, vllm('msg_b', 1001, '"four"'))).toEqual({ id: 'msg_b', out: 0, text: 'four' })
    // the same shape around a delta or a number it refuses
    expect(at(m, vllm('msg_b', 1002, '"\\/"'))).toBeNull()
    expect(at(m, vllm('msg_b', 1002, '"\\u00e9"'))).toBeNull()
    expect(at(m, vllm('msg_b', 1002, '"a\tb"'))).toBeNull()
    expect(at(m, vllm('msg_b', 1002, '"a"').replace('1002', '01002'))).toBeNull()
    expect(at(m, vllm('msg_b', 1002, '"a"').replace('1002', '1002.5'))).toBeNull()
    expect(at(m, vllm('msg_b', 1002, '"a"') + ' ')).toEqual({ id: 'msg_b', out: 0, text: 'a' })
    expect(at(m, vllm('msg_b', 1002, '"a"') + 'x')).toBeNull()
  })

  // In a chunk of many messages the template's fixed parts are compared four bytes at a time (a DataView of the chunk),
  // each part's last length % 4 bytes one by one: a byte changed anywhere, wherever the chunk lies in its buffer, refuses.
  test('a whole message in a chunk of many: any byte of its fixed parts changed is not taken, wherever the chunk lies', () => {
    const message = (seq: number, text: string) => `event: response.output_text.delta\ndata: ${vllm('msg_a', seq, `"${text}"`)}\n\n`
    const first = bytes(message(7, 'x'))
    const next = message(8, 'yz')
    // the bytes of `next` that are not its text nor its number
    const text = next.indexOf('"yz"') + 1
    const number = next.indexOf(',"sequence_number":8') + ',"sequence_number":'.length
    const variable = new Set([text, text + 1, number])
    for (const lead of [0, 1, 2, 3]) {
      const m = new DeltaMatcher()
      const dataStart = first.indexOf(0x7b)
      const dataEnd = first.indexOf(0x0a, dataStart)
      expect(m.matchAt(first, dataStart, dataEnd, 0, first.length)).not.toBeNull()
      // three messages (more than about one: compared word by word), the second one changed
      const whole = bytes(next + next + next)
      const n = next.length
      const buffer = new Uint8Array(lead + whole.length)
      buffer.set(whole, lead)
      const chunk = buffer.subarray(lead)
      expect(m.matchMessage(chunk, 0, 1 << 20)).toBe(n)
      expect(m.matchMessage(chunk, n, 1 << 20)).toBe(2 * n)
      for (let i = 0; i < n; i++) {
        if (variable.has(i)) continue
        const was = chunk[n + i]!
        chunk[n + i] = was ^ 0x20
        expect([i, m.matchMessage(chunk, n, 1 << 20)]).toEqual([i, -1])
        chunk[n + i] = was
      }
      expect(m.matchMessage(chunk, n, 1 << 20)).toBe(2 * n)
    }
  })
})

test("a run's texts are its deltas decoded, escapes and all", () => {
  const text = `"a\\"b" "é\\n" "" "😀\\u0001"`
  const b = bytes(text)
  const spans: number[] = []
  for (let i = 0; i < text.length; ) {
    const start = text.indexOf('"', i)
    if (start < 0) break
    let end = start + 1
    while (text[end] !== '"' || text[end - 1] === '\\') end++
    spans.push(start + 1, end)
    i = end + 1
  }
  // positions in the text are byte positions only before the first non-ASCII character: map through the bytes
  const byteSpans = spans.map((p) => enc.encode(text.slice(0, p)).length)
  const run: DeltaRun = {
    type: 'agentgate.delta_run',
    sequence_number: 0,
    item_id: 'x',
    output_index: 0,
    content_index: 0,
    bytes: b,
    spans: byteSpans,
    texts: null,
  }
  expect(runTexts(run)).toEqual(['a"b', 'é\n', '', '😀\u0001'])
})
