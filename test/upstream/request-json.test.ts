// The JSON of an upstream request (upstream/request-json.ts): settled items' JSON is kept and joined, and the text is
// JSON.stringify's, byte for byte, so what the upstream reads does not depend on what was kept.
import { describe, expect, test } from 'bun:test'
import { settle } from '../../src/store/settled-items'
import { requestJson } from '../../src/upstream/request-json'

describe('requestJson', () => {
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
  ])('%s: the same text as JSON.stringify, every time', (_n, body) => {
    expect(requestJson(body)).toBe(JSON.stringify(body))
    expect(requestJson(body)).toBe(JSON.stringify(body))
  })

  test("a chain's next request: the kept beginning is used only while the list begins with the same objects", () => {
    const chain = settle([item(10), item(11), item(12)])
    const same = (input: unknown[]) => expect(requestJson({ model: 'm', input })).toBe(JSON.stringify({ model: 'm', input }))
    same(chain.slice(0, 2)) // kept: 10, 11
    same([...chain, item(13)]) // goes on from it: 10, 11, 12 kept, a new item after
    same([chain[0], settle([item(20)])[0], chain[2]]) // diverges after the first item
    same([chain[0], item(21), ...chain.slice(1)]) // a new item in the middle ends the kept beginning
    same(chain.slice(0, 1)) // shorter than what is kept
    same([...chain, item(13)])
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
