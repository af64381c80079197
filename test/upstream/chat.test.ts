// The chat completions adapter: Responses request → chat request, chat chunks → Responses events.
import { describe, expect, test } from 'bun:test'
import { isSettled, settle } from '../../src/store/settled-items'
import { ChatStreamTranslator, chatUsage, toChatMessages, toChatRequest } from '../../src/upstream/chat'
import { chatMessagesSize } from '../../src/upstream/chat-request'
import { estimateInputTokens } from '../../src/upstream/tokenize'

/** Events as these tests read them: any field of any event (the tests check values, not types). */
type Loose = { type: string; [key: string]: any }

const user = (text: string) => ({ type: 'message', role: 'user', content: [{ type: 'input_text', text }] })

describe('toChatMessages', () => {
  test.each<[string, unknown, any[], any[]]>([
    [
      'instructions become the system message',
      'Be brief.',
      [user('hi')],
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
    ],
    [
      'developer messages become system, leading ones merged',
      null,
      [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'base' }] },
        {
          type: 'message',
          role: 'developer',
          content: [
            { type: 'input_text', text: 'a' },
            { type: 'input_text', text: 'b' },
          ],
        },
        user('hi'),
      ],
      [
        { role: 'system', content: 'base\n\na\nb' },
        { role: 'user', content: 'hi' },
      ],
    ],
    [
      'assistant history keeps its text',
      null,
      [
        user('q'),
        {
          type: 'message',
          role: 'assistant',
          content: [
            { type: 'output_text', text: 'an', annotations: [] },
            { type: 'output_text', text: 'swer' },
          ],
        },
      ],
      [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'answer' },
      ],
    ],
    [
      'consecutive function calls share one assistant message; outputs are tool messages',
      null,
      [
        user('q'),
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"a":1}' },
        { type: 'function_call', call_id: 'c2', name: 'g', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'one' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'two' }] },
      ],
      [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
            { id: 'c2', type: 'function', function: { name: 'g', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'one' },
        { role: 'tool', tool_call_id: 'c2', content: 'two' },
      ],
    ],
    [
      'a call right after assistant text joins that message',
      null,
      [
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me check.' }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      ],
      [
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    ],
    [
      'reasoning rides on the next assistant message as reasoning_content',
      null,
      [
        user('q'),
        { type: 'reasoning', id: 'rs_1', summary: [], content: [{ type: 'reasoning_text', text: 'think' }] },
        { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' },
      ],
      [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'think',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    ],
    [
      'reasoning with only a summary uses the summary; reasoning followed by nothing is dropped',
      null,
      [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'sum' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok' }] },
        { type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'lost' }] },
      ],
      [{ role: 'assistant', content: 'ok', reasoning_content: 'sum' }],
    ],
    [
      'images become image_url parts',
      null,
      [
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'see' },
            { type: 'input_image', image_url: 'data:image/png;base64,AA', detail: 'low' },
          ],
        },
      ],
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'see' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'low' } },
          ],
        },
      ],
    ],
    ['a string input is one user message', null, 'hello' as any, [{ role: 'user', content: 'hello' }]],
  ])('%s', (_n, instructions, input, want) => {
    expect(toChatMessages(instructions, input)).toEqual(want)
  })
})

describe('chatMessagesSize (what the token estimate counts)', () => {
  /** The size as defined over the messages toChatMessages makes: JSON content, reasoning text, JSON tool calls. */
  const measured = (instructions: unknown, input: unknown) => {
    const msgs = toChatMessages(instructions, input) as any[]
    let chars = 0
    for (const m of msgs) {
      chars += JSON.stringify(m.content ?? '').length + (typeof m.reasoning_content === 'string' ? m.reasoning_content.length : 0)
      if (m.tool_calls) chars += JSON.stringify(m.tool_calls).length
    }
    return { chars, messages: msgs.length }
  }
  const dev = (text: string) => ({ type: 'message', role: 'developer', content: [{ type: 'input_text', text }] })
  const answer = (text: string) => ({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] })
  const call = (n: number, args: unknown = '{"a":1}') => ({ type: 'function_call', call_id: `c${n}`, name: 'shell', arguments: args })
  const output = (n: number, out: unknown = 'ok "quoted"\n') => ({ type: 'function_call_output', call_id: `c${n}`, output: out })
  const reasoning = (text: string) => ({ type: 'reasoning', summary: [{ type: 'summary_text', text }] })
  const image = { type: 'message', role: 'system', content: [{ type: 'input_image', image_url: 'data:image/png;base64,AA' }] }
  test.each<[string, unknown, unknown]>([
    ['instructions and a user message', 'Be brief.', [user('hi')]],
    ['leading system messages merged with the instructions', 'Base.\nrules', [dev('one'), dev('two "2"'), user('go'), dev('late')]],
    ['leading system messages merged without instructions', null, [dev('a'), { role: 'system', content: 'b' }, user('x')]],
    ['a system message with an image ends the merged run', 'I', [image, dev('after'), user('x')]],
    ['instructions as items', [dev('x'), dev('y')], [user('u')]],
    [
      'consecutive calls share one assistant message, outputs are tool messages',
      '',
      [user('u'), call(1), call(2, { o: 1 }), output(1), output(2, [{ type: 'input_text', text: 't' }])],
    ],
    ['a call joins the assistant message before it', null, [user('u'), answer('let me see'), call(1), output(1)]],
    [
      'reasoning rides on the next assistant message, a call after reasoning starts one',
      'I',
      [user('u'), reasoning('think'), reasoning(''), reasoning('more'), call(1), output(1), reasoning('r'), answer('done')],
    ],
    ['reasoning dropped by a user message', null, [reasoning('lost'), user('u'), answer('a')]],
    [
      'unknown items and nulls are left out',
      null,
      [null, { type: 'item_reference', id: 'x' }, user('u'), { role: 'user', content: 'no type' }],
    ],
    ['a string input', 'sys', 'hello "you"'],
    ['nothing', null, undefined],
    ['non-ASCII and lone surrogates', 'é\ud800', [dev('\udc00x'), user('😀')]],
  ])('%s: the same numbers as over toChatMessages, settled or not', (_n, instructions, input) => {
    const want = measured(instructions, input)
    expect(chatMessagesSize(instructions, input)).toEqual(want)
    const settled = settle([structuredClone({ instructions, input })])[0]!
    expect(chatMessagesSize(settled.instructions, settled.input)).toEqual(want)
    // twice: the second reads what the first kept
    expect(chatMessagesSize(settled.instructions, settled.input)).toEqual(want)
  })

  test("a chain's next request is measured from where its settled beginning left off, while it begins with the same items", () => {
    const chain = settle([dev('base'), user('u'), reasoning('r'), call(1), output(1), call(2)])
    const same = (instructions: unknown, input: unknown[]) =>
      expect(chatMessagesSize(instructions, input)).toEqual(measured(instructions, input))
    same('I', chain.slice(0, 4))
    same('I', [...chain, call(3), output(2)]) // goes on: the next call joins the kept assistant message
    same('I', [chain[0], ...settle([user('new'), answer('a')]), ...chain.slice(3)]) // diverges after the first item
    same('I', chain)
    same('other', chain) // the same items under other instructions: measured afresh
    same(null, chain.slice(0, 2))
    same('I', [...settle([dev('x')]), ...chain])
  })

  test("toChatMessages over a chain's settled beginning: the very messages (and JSON) a fresh list gives, closed ones kept and settled", () => {
    /** toChatMessages of the list, against the same list unsettled (made afresh): the same JSON, key for key */
    const same = (instructions: unknown, input: unknown[]) => {
      const msgs = toChatMessages(instructions, input)
      expect(JSON.stringify(msgs)).toBe(JSON.stringify(toChatMessages(instructions, structuredClone(input))))
      return msgs
    }
    // ends with an assistant message a next call may join
    const chain = settle([dev('base'), user('u'), reasoning('r'), call(1)])
    const first = same('I', chain)
    const sent = JSON.stringify(first)
    same('I', [...chain, call(2), output(1)]) // a call joins the kept open message: in this list only
    same('I', chain)
    const joined = settle([call(3)])
    same('I', [...chain, ...joined, output(1)]) // a settled call joins it in the kept beginning
    same('I', [...chain, ...joined])
    same('I', chain) // shorter: made afresh
    same('I', [chain[0], ...settle([user('other'), answer('a')]), ...chain.slice(2)]) // diverges after the first item
    same(null, [...chain, ...joined, output(1)]) // the developer message alone leads: not merged
    same([dev('x')], chain) // instructions as items
    expect(JSON.stringify(first)).toBe(sent) // a message handed out is never changed after

    // done messages are settled and kept (the same objects the next turn); the open one and the unsettled are not
    const long = settle([user('u'), reasoning('r'), call(4), output(4), answer('a'), reasoning('r2')])
    const msgs = same(null, long)
    expect(msgs.map((m) => isSettled(m))).toEqual([true, true, true, true])
    const next = same(null, [...long, user('more'), call(5)])
    for (let i = 0; i < 4; i++) expect(next[i]).toBe(msgs[i]!)
    expect(next.slice(4).map((m) => isSettled(m))).toEqual([false, false])
    same(null, [...long, answer('b')]) // the reasoning the kept beginning ends with rides on the next answer
    expect(same(null, settle([user('u'), call(6)])).map((m) => isSettled(m))).toEqual([true, false])
  })

  test('the estimate: four characters a token over messages and tools, four tokens of framing per message', () => {
    const body = {
      model: 'm',
      instructions: 'Be brief.',
      input: [user('hi'), call(1), output(1)],
      tools: [{ type: 'function', name: 'shell', parameters: { type: 'object' } }, { type: 'web_search' }],
    }
    const chat = toChatRequest(body)
    const chars = measured(body.instructions, body.input).chars + JSON.stringify(chat.tools).length
    expect(estimateInputTokens(body)).toBe(Math.ceil(chars / 4) + 4 * chat.messages.length)
  })
})

describe('toChatRequest', () => {
  test('options are mapped; Responses-only fields stay behind; unknown fields pass', () => {
    const req = toChatRequest({
      model: 'm',
      input: [user('hi')],
      instructions: 'sys',
      store: false,
      max_output_tokens: 100,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 20,
      include: ['reasoning.encrypted_content'],
      prompt_cache_key: 'k',
      truncation: 'disabled',
      reasoning: { effort: 'low', summary: 'auto' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
      tools: [{ type: 'function', name: 'f', description: 'd', parameters: { type: 'object', properties: {} }, strict: false }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
    })
    expect(req).toEqual({
      model: 'm',
      temperature: 0.2,
      top_p: 0.9,
      top_k: 20,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 100,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      reasoning_effort: 'low',
      tools: [
        { type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: {} }, strict: false } },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
      parallel_tool_calls: false,
      stream: true,
      stream_options: { include_usage: true },
    })
  })

  test('no tools: no tool_choice or parallel_tool_calls either', () => {
    const req = toChatRequest({ model: 'm', input: [user('x')], tools: [], tool_choice: 'auto', parallel_tool_calls: true })
    expect(req).not.toHaveProperty('tools')
    expect(req).not.toHaveProperty('tool_choice')
    expect(req).not.toHaveProperty('parallel_tool_calls')
  })

  test('json_object format', () => {
    expect(toChatRequest({ model: 'm', input: [], text: { format: { type: 'json_object' } } }).response_format).toEqual({
      type: 'json_object',
    })
  })
})

const seqIds = () => {
  let n = 0
  return (p: string) => `${p}_${++n}`
}
const chunk = (delta: any, finish_reason: string | null = null) => ({
  object: 'chat.completion.chunk',
  choices: [{ index: 0, delta, finish_reason }],
})

function translate(chunks: any[]): Loose[] {
  const t = new ChatStreamTranslator(seqIds())
  return [...chunks.flatMap((c) => t.accept(c)), ...t.finish()]
}

describe('ChatStreamTranslator', () => {
  test('reasoning then text: the same event sequence as /v1/responses', () => {
    const out = translate([
      chunk({ role: 'assistant', content: '' }),
      chunk({ reasoning: 'hm' }),
      chunk({ reasoning_content: 'm' }),
      chunk({ content: 'Hi' }),
      chunk({ content: '!' }, 'stop'),
    ])
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    expect(out[6]!.item).toEqual({
      id: 'rs_1',
      type: 'reasoning',
      summary: [],
      content: [{ type: 'reasoning_text', text: 'hmm' }],
      encrypted_content: null,
      status: 'completed',
    })
    expect(out[13]!.item).toEqual({
      id: 'msg_2',
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: 'Hi!', annotations: [], logprobs: [] }],
    })
  })

  test('a server sending both reasoning and reasoning_content is not doubled', () => {
    const out = translate([chunk({ reasoning: 'x', reasoning_content: 'x' }, 'stop')])
    expect(out.find((e) => e.type === 'response.reasoning_text.done')!.text).toBe('x')
  })

  test('parallel tool calls: one item each, ids and indexes consistent, call ids kept', () => {
    const out = translate([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } }] }, 'tool_calls'),
    ])
    expect(out.map((e) => [e.type, e.output_index, e.item_id ?? (e.item as any)?.id])).toEqual([
      ['response.output_item.added', 0, 'fc_1'],
      ['response.function_call_arguments.delta', 0, 'fc_1'],
      ['response.function_call_arguments.delta', 0, 'fc_1'],
      ['response.function_call_arguments.done', 0, 'fc_1'],
      ['response.output_item.done', 0, 'fc_1'],
      ['response.output_item.added', 1, 'fc_2'],
      ['response.function_call_arguments.delta', 1, 'fc_2'],
      ['response.function_call_arguments.done', 1, 'fc_2'],
      ['response.output_item.done', 1, 'fc_2'],
      ['response.completed', undefined, undefined],
    ])
    expect(out[4]!.item).toEqual({
      id: 'fc_1',
      type: 'function_call',
      call_id: 'call_a',
      name: 'f',
      arguments: '{"x":1}',
      status: 'completed',
    })
    expect((out[8]!.item as any).call_id).toBe('call_b')
  })

  test('a whole tool call in one chunk with object arguments (Ollama)', () => {
    const out = translate([chunk({ tool_calls: [{ id: 'c', function: { name: 'f', arguments: { city: 'Paris' } } }] }, 'tool_calls')])
    expect(out.find((e) => e.type === 'response.output_item.done')!.item).toMatchObject({
      name: 'f',
      arguments: '{"city":"Paris"}',
      call_id: 'c',
    })
  })

  test.each<[string, string | null, string, any]>([
    ['stop', 'stop', 'response.completed', null],
    ['tool_calls', 'tool_calls', 'response.completed', null],
    ['length → incomplete max_output_tokens', 'length', 'response.incomplete', { reason: 'max_output_tokens' }],
    ['content_filter → incomplete content_filter', 'content_filter', 'response.incomplete', { reason: 'content_filter' }],
  ])('finish reason %s', (_n, finish, type, details) => {
    const out = translate([chunk({ content: 'abc' }, finish)])
    const terminal = out.at(-1)!
    expect(terminal.type).toBe(type)
    expect((terminal.response as any).incomplete_details).toEqual(details)
    // The item cut off by the stop is marked incomplete.
    expect((out.find((e) => e.type === 'response.output_item.done')!.item as any).status).toBe(details ? 'incomplete' : 'completed')
  })

  test('usage from the final chunk, with cached and reasoning token details', () => {
    const t = new ChatStreamTranslator(seqIds())
    t.accept(chunk({ content: 'a' }, 'stop'))
    t.accept({
      choices: [],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 2 },
      },
    })
    const terminal: Loose = t.finish().at(-1)!
    expect(terminal.response.usage).toEqual({
      input_tokens: 10,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: 15,
    })
  })

  test('usage without details', () => {
    expect(chatUsage({ prompt_tokens: 3, completion_tokens: 2 })).toEqual({
      input_tokens: 3,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 5,
    })
  })

  test('an error chunk mid-stream becomes an error event and nothing after it', () => {
    const t = new ChatStreamTranslator(seqIds())
    expect(t.accept({ error: { message: 'boom', code: 'internal' } })).toEqual([
      { type: 'error', error: { code: 'internal', message: 'boom' } },
    ])
    expect(t.finish()).toEqual([])
  })

  test('a non-streamed chat.completion gives the same events', () => {
    const t = new ChatStreamTranslator(seqIds())
    const out = t.fromCompletion({
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Hi',
            reasoning_content: 'r',
            tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 2 },
    })
    expect(out.filter((e) => e.type === 'response.output_item.done').map((e) => (e.item as any).type)).toEqual([
      'reasoning',
      'message',
      'function_call',
    ])
    expect(out.at(-1)!.type).toBe('response.completed')
  })
})
