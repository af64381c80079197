// The body of an upstream request (upstream/request-body.ts): settled items' JSON is kept (as UTF-8) and copied, and
// the body is JSON.stringify's text, byte for byte, so what the upstream reads does not depend on what was kept.
import { describe, expect, test } from 'bun:test'
import { settle } from '../../src/store/settled-items'
import { bodySent, requestBody, wasSent } from '../../src/upstream/request-body'

/** The body as the upstream gets it: a string as fetch sends it (UTF-8), bytes as they are. */
const sent = (body: string | Uint8Array) => (typeof body === 'string' ? Buffer.from(body) : Buffer.from(body))
const stringified = (body: unknown) => Buffer.from(JSON.stringify(body))

describe('requestBody', () => {
  const item = (n: number) => ({ id: `fc_${n}`, type: 'function_call', call_id: `c${n}`, name: 'shell', arguments: '{"a":"é\\n\\"q\\""}' })
  test.each<[string, Record<string, unknown>]>([
    ['no fields', {}],
    ['input not a list', { model: 'm', input: 'hello' }],
    ['an empty input', { input: [], model: 'm' }],
    [
      'input between other fields, undefined and function fields left out',
      { a: undefined, model: 'm', input: [item(1), { x: null }], f: () => 1, stream: true },
    ],
    [
      'settled items',
      { model: 'm', input: settle([item(2), { type: 'message', content: [{ type: 'input_text', text: 'hi' }] }]), n: null },
    ],
    ['settled and new items mixed', { input: [...settle([item(3)]), item(4)], tools: [{ type: 'function', name: 'shell' }] }],
    ['undefined, a function and a symbol among the items', { input: [...settle([item(5)]), undefined, () => 1, Symbol('s'), item(6)] }],
    [
      'a chat request: its system message first, settled messages after it',
      { messages: [{ role: 'system', content: 'Be brief.' }, ...settle([item(7)])] },
    ],
  ])('%s: the bytes of JSON.stringify, every time', (_n, body) => {
    const key = 'messages' in body ? 'messages' : 'input'
    expect(sent(requestBody(body, key))).toEqual(stringified(body))
    expect(sent(requestBody(body, key))).toEqual(stringified(body))
  })

  test('text outside ASCII, in kept items, new items and the other fields, is UTF-8 as fetch would send the string', () => {
    const kept = settle([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'naïve 日本語 🙂 \ud800 lone' }] }])
    const body = {
      instructions: 'Réponds en français 🇫🇷',
      input: [...kept, { type: 'function_call_output', call_id: 'c', output: '∑ \udc00' }],
    }
    expect(sent(requestBody(body))).toEqual(stringified(body))
    expect(sent(requestBody(body))).toEqual(stringified(body))
  })

  test("a chain's next request: each item's kept text is its own, whatever the list around it", () => {
    const chain = settle([item(10), item(11), item(12)])
    const same = (input: unknown[]) => expect(sent(requestBody({ model: 'm', input }))).toEqual(stringified({ model: 'm', input }))
    same(chain.slice(0, 2))
    same([...chain, item(13)]) // goes on
    same([chain[0], settle([item(20)])[0], chain[2]]) // diverges after the first item
    same([chain[0], item(21), ...chain.slice(1)]) // a new item in the middle
    same(chain.slice(1)) // the oldest item dropped (truncation)
    same(chain.slice(0, 1)) // shorter
    same([...chain, item(13)])
  })

  test("a chain's kept beginning follows the list it is given: grown, cut back to another branch, grown past its buffer", () => {
    // Every request of a chain copies the bytes kept for the run of settled items it begins with: they must always be
    // the bytes of this list's items, however the lists before it went.
    const big = (n: number) => ({ ...item(n), arguments: JSON.stringify({ text: `${n} ${'ü'.repeat(3000)}` }) })
    const chain = settle(Array.from({ length: 30 }, (_, i) => big(100 + i)))
    const other = settle([big(200), big(201)])
    const same = (input: unknown[]) => {
      for (const body of [{ model: 'm', input, stream: true }, { messages: [{ role: 'system', content: 'sys' }, ...input] }])
        expect(sent(requestBody(body, 'messages' in body ? 'messages' : 'input'))).toEqual(stringified(body))
    }
    for (let n = 1; n <= chain.length; n += 7) same([...chain.slice(0, n), item(300 + n)]) // grows, a new item after it
    same([...chain.slice(0, 3), ...other, item(310)]) // another branch from the third item on
    same(chain) // back to the longer one
    same([...chain.slice(0, 5), item(311), ...chain.slice(5)]) // a new item in the middle: the rest as it comes
    same(chain.slice(0, 2)) // cut back
    same(chain)
    same([chain[0]])
  })

  test('a changed copy of a settled item (same id, other content) is written as it is, not as the item it was copied from', () => {
    const [call] = settle([item(30)])
    const first = { input: [call] }
    expect(sent(requestBody(first))).toEqual(stringified(first))
    // What a compaction or an edit does: a new object, unsettled or settled in turn, never the kept one changed.
    const edited = { ...call, arguments: '{"a":"edited"}' }
    const next = { input: [call, edited, settle([{ ...call, arguments: '{"a":"settled edit"}' }])[0]] }
    expect(sent(requestBody(next))).toEqual(stringified(next))
    expect(() => {
      ;(call as { arguments: string }).arguments = 'changed in place'
    }).toThrow() // a settled item cannot change under its kept text
  })

  test("a chain's body is lent: never written over until it has been sent, and then lent again", () => {
    const a = { input: settle([item(40)]) }
    const b = { input: settle([item(41), item(42)]) }
    const first = requestBody(a)
    expect(first).toBeInstanceOf(Uint8Array)
    const second = requestBody(b)
    // both on loan at once (a request made between another's body and its fetch): each keeps its own bytes
    expect(sent(first)).toEqual(stringified(a))
    expect(sent(second)).toEqual(stringified(b))
    expect(wasSent(first)).toBe(false)
    bodySent(first)
    bodySent(first) // given back once
    expect(wasSent(first)).toBe(true)
    const third = requestBody(b)
    expect(sent(third)).toEqual(stringified(b))
    // the buffer the first was sent from holds the third now: why a body sent is never sent again (client.ts)
    expect(sent(first)).not.toEqual(stringified(a))
    expect(sent(second)).toEqual(stringified(b))
    bodySent('a string body') // not lent: nothing to give back
    expect(wasSent('a string body')).toBe(false)
  })

  test('a request whose list begins with no settled item is one string (HTTP turns, first turns)', () => {
    expect(typeof requestBody({ model: 'm', input: [item(50), item(52), ...settle([item(51)])] })).toBe('string')
    expect(typeof requestBody({ model: 'm', input: 'hi' })).toBe('string')
  })

  test('a settled item is frozen and stays an ordinary item to JSON, spreads and clones', () => {
    const [it] = settle([{ type: 'message', content: [{ type: 'input_text', text: 'x' }] }]) as any[]
    expect(Object.isFrozen(it) && Object.isFrozen(it.content[0])).toBe(true)
    expect(() => {
      it.content.push(1)
    }).toThrow()
    expect(JSON.stringify({ ...it })).toBe('{"type":"message","content":[{"type":"input_text","text":"x"}]}')
    expect(Object.getOwnPropertySymbols({ ...it })).toEqual([])
    expect(structuredClone(it)).toEqual({ type: 'message', content: [{ type: 'input_text', text: 'x' }] })
  })
})
