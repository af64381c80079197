// Request input → stored items, and the Response object's defaults.
import { describe, expect, test } from 'bun:test'
import { toInputItems } from '../../src/engine/input'
import { normaliseUsage, responseBase, responseObject } from '../../src/engine/response-object'
import { outputText } from '../../src/output-text'
import { toUpstreamRequest } from '../../src/engine/turn'
import { ApiError } from '../../src/errors'
import { sequentialIds } from '../../src/ids'

describe('toInputItems', () => {
  test.each<[string, any, any[]]>([
    [
      'a string is one user message',
      'hi',
      [{ id: 'msg_000001', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
    ],
    [
      'an easy user message',
      [{ role: 'user', content: 'yo' }],
      [{ id: 'msg_000001', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'yo' }] }],
    ],
    [
      'an easy assistant message becomes output_text',
      [{ role: 'assistant', content: 'ok' }],
      [
        {
          id: 'msg_000001',
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'ok', annotations: [], logprobs: [] }],
        },
      ],
    ],
    [
      'an item with an id keeps it',
      [{ type: 'function_call_output', id: 'fco_mine', call_id: 'c', output: 'x' }],
      [{ type: 'function_call_output', id: 'fco_mine', call_id: 'c', output: 'x' }],
    ],
    [
      'ids are typed by item type',
      [
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'reasoning', summary: [] },
      ],
      [
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}', id: 'fc_000001' },
        { type: 'reasoning', summary: [], id: 'rs_000002' },
      ],
    ],
    ['nothing', undefined, []],
  ])('%s', (_name, input, expected) => {
    expect(toInputItems(input, sequentialIds())).toEqual(expected)
  })

  test.each<[string, any, string]>([
    ['no type and no role', [{ content: 'x' }], 'input.0'],
    ['a bad role', [{ role: 'robot', content: 'x' }], 'input.0.role'],
    ['content neither string nor list', [{ role: 'user', content: 5 }], 'input.0.content'],
  ])('%s → 400 naming %s', (_name, input, param) => {
    let err: unknown
    try {
      toInputItems(input, sequentialIds())
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).param).toBe(param)
  })
})

describe('the Response object', () => {
  const base = responseBase({ model: 'm' }, 'resp_1', 1_700_000_000_500, true, null)

  test('every key present with OpenAI defaults when the request sets nothing', () => {
    const r = responseObject(base, {
      status: 'in_progress',
      output: [],
      usage: null,
      error: null,
      incomplete_details: null,
      completedAtMs: null,
    })
    expect(r).toEqual({
      id: 'resp_1',
      object: 'response',
      created_at: 1_700_000_000,
      completed_at: null,
      status: 'in_progress',
      model: 'm',
      output: [],
      output_text: '',
      usage: null,
      error: null,
      incomplete_details: null,
      instructions: null,
      previous_response_id: null,
      conversation: null,
      tools: [],
      tool_choice: 'auto',
      parallel_tool_calls: true,
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_logprobs: 0,
      max_output_tokens: null,
      max_tool_calls: null,
      reasoning: null,
      text: { format: { type: 'text' } },
      truncation: 'disabled',
      metadata: {},
      store: true,
      background: false,
      service_tier: 'auto',
      safety_identifier: null,
      prompt_cache_key: null,
    })
  })

  test('output_text joins the assistant text parts only', () => {
    expect(
      outputText([
        { id: 'rs', type: 'reasoning', content: [{ type: 'reasoning_text', text: 'no' }] },
        {
          id: 'm1',
          type: 'message',
          content: [
            { type: 'output_text', text: 'a' },
            { type: 'refusal', refusal: 'r' },
          ],
        },
        { id: 'm2', type: 'message', content: [{ type: 'output_text', text: 'b' }] },
      ]),
    ).toBe('ab')
  })

  test.each([
    [
      'responses usage',
      { input_tokens: 5, output_tokens: 2, input_tokens_details: { cached_tokens: 1 }, output_tokens_details: { reasoning_tokens: 1 } },
      [5, 1, 2, 1, 7],
    ],
    [
      'chat usage',
      { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7, prompt_tokens_details: { cached_tokens: 2 } },
      [4, 2, 3, 0, 7],
    ],
    ['missing details', { input_tokens: 1, output_tokens: 1 }, [1, 0, 1, 0, 2]],
  ])('usage from %s has every detail key', (_name, u, [i, c, o, r, t]) => {
    expect(normaliseUsage(u)).toEqual({
      input_tokens: i,
      input_tokens_details: { cached_tokens: c },
      output_tokens: o,
      output_tokens_details: { reasoning_tokens: r },
      total_tokens: t,
    })
  })
})

describe('toUpstreamRequest', () => {
  test('full history then the new input, store:false, gateway-only fields removed, the rest kept', () => {
    const body = toUpstreamRequest(
      {
        model: 'm',
        input: 'x',
        previous_response_id: 'resp_1',
        store: true,
        metadata: { a: 'b' },
        background: false,
        client_metadata: {},
        temperature: 0.2,
        top_k: 3,
      } as any,
      [{ id: 'msg_h', type: 'message', role: 'user', content: [] }],
      [{ id: 'msg_n', type: 'message', role: 'user', content: [] }],
    )
    expect(body).toEqual({
      model: 'm',
      input: [
        { id: 'msg_h', type: 'message', role: 'user', content: [] },
        { id: 'msg_n', type: 'message', role: 'user', content: [] },
      ],
      store: false,
      temperature: 0.2,
      top_k: 3,
    })
    // the kept fields in the request's order, store last
    expect(Object.keys(body)).toEqual(['model', 'input', 'temperature', 'top_k', 'store'])
  })

  test('a "__proto__" field of the parsed JSON is kept as a field, not made the prototype', () => {
    const body = toUpstreamRequest(JSON.parse('{"model":"m","input":"x","__proto__":{"polluted":true},"store":true}'), [], [])
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype)
    expect((body as { polluted?: unknown }).polluted).toBeUndefined()
    expect(JSON.stringify(body)).toBe('{"model":"m","input":[],"__proto__":{"polluted":true},"store":false}')
  })
})
