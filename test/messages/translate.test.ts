// The pure translations of the Messages edge, table-driven: request in (messages/request.ts), events out
// (messages/events.ts), errors (messages/errors.ts), signatures and model names.
import { describe, expect, test } from 'bun:test'
import { ApiError } from '../../src/errors'
import type { ResponseEvent } from '../../src/schema/events'
import { accumulateMessage, MessageTranslator } from '../../src/messages/events'
import { toAnthropicError } from '../../src/messages/errors'
import { resolveModel } from '../../src/messages/models'
import { toResponsesRequest } from '../../src/messages/request'
import { thinkingSigner } from '../../src/messages/signature'
import { createSealer, sealingKey } from '../../src/sealing/sealer'

const sealer = createSealer([sealingKey(new Uint8Array(32).fill(7))])
const signer = thinkingSigner(sealer, 'alice')
const translate = (body: Record<string, unknown>) =>
  toResponsesRequest({ model: 'm', max_tokens: 10, messages: [], ...body } as any, { model: 'up', signer, store: true }) as any

describe('request translation', () => {
  const cases: [string, Record<string, unknown>, (r: any) => unknown, unknown][] = [
    ['a string system is the instructions', { system: 'S' }, (r) => r.instructions, 'S'],
    [
      'text system blocks are joined',
      {
        system: [
          { type: 'text', text: 'A' },
          { type: 'text', text: 'B', cache_control: { type: 'ephemeral' } },
        ],
      },
      (r) => r.instructions,
      'A\n\nB',
    ],
    ['max_tokens is max_output_tokens', { max_tokens: 77 }, (r) => r.max_output_tokens, 77],
    ['tool_choice any is required', { tools: [{ name: 't' }], tool_choice: { type: 'any' } }, (r) => r.tool_choice, 'required'],
    [
      'tool_choice tool names a function',
      { tools: [{ name: 't' }], tool_choice: { type: 'tool', name: 't' } },
      (r) => r.tool_choice,
      { type: 'function', name: 't' },
    ],
    ['tool_choice none is none', { tools: [{ name: 't' }], tool_choice: { type: 'none' } }, (r) => r.tool_choice, 'none'],
    [
      'disable_parallel_tool_use turns parallel calls off',
      { tools: [{ name: 't' }], tool_choice: { type: 'auto', disable_parallel_tool_use: true } },
      (r) => r.parallel_tool_calls,
      false,
    ],
    [
      'deferred and server tools are left out',
      { tools: [{ name: 'a' }, { name: 'b', defer_loading: true }, { name: 'web_search', type: 'web_search_20250305' }] },
      (r) => r.tools.map((t: any) => t.name),
      ['a'],
    ],
    [
      'input_schema is the parameters',
      { tools: [{ name: 'a', input_schema: { type: 'object', properties: { x: { type: 'string' } } } }] },
      (r) => r.tools[0].parameters.properties.x,
      { type: 'string' },
    ],
    [
      'stop_sequences go as stop, kept in the output',
      { stop_sequences: ['X'] },
      (r) => [r.stop, r.include_stop_str_in_output],
      [['X'], true],
    ],
    ['a thinking budget picks an effort', { thinking: { type: 'enabled', budget_tokens: 20000 } }, (r) => r.reasoning, { effort: 'high' }],
    [
      'adaptive thinking takes output_config.effort',
      { thinking: { type: 'adaptive' }, output_config: { effort: 'low' } },
      (r) => r.reasoning,
      { effort: 'low' },
    ],
    ['disabled thinking asks for nothing', { thinking: { type: 'disabled' } }, (r) => r.reasoning, undefined],
    ['the upstream model replaces the asked one', {}, (r) => r.model, 'up'],
    [
      'a user message with tool results becomes outputs, then the rest of the message',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'c1', content: 'out' },
              { type: 'text', text: 'next' },
            ],
          },
        ],
      },
      (r) => r.input.map((i: any) => i.type),
      ['function_call_output', 'message'],
    ],
    [
      'an assistant message splits into text and calls in order',
      {
        messages: [
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'let me' },
              { type: 'tool_use', id: 'c1', name: 'f', input: { a: 1 } },
            ],
          },
        ],
      },
      (r) => r.input.map((i: any) => [i.type, i.arguments ?? i.content[0].text]),
      [
        ['message', 'let me'],
        ['function_call', '{"a":1}'],
      ],
    ],
    [
      'redacted thinking is dropped',
      {
        messages: [
          {
            role: 'assistant',
            content: [
              { type: 'redacted_thinking', data: 'xx' },
              { type: 'text', text: 't' },
            ],
          },
        ],
      },
      (r) => r.input.length,
      1,
    ],
    [
      'a system message in messages stays in place as developer',
      {
        messages: [
          { role: 'user', content: 'a' },
          { role: 'system', content: 'env' },
          { role: 'user', content: 'b' },
        ],
      },
      (r) => r.input.map((i: any) => i.role),
      ['user', 'developer', 'user'],
    ],
    [
      'an error tool result says so',
      { messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c', content: 'boom', is_error: true }] }] },
      (r) => r.input[0].output,
      'Error: boom',
    ],
  ]
  for (const [name, body, pick, want] of cases) test(name, () => expect(pick(translate(body))).toEqual(want))

  test('our signed thinking becomes a reasoning item; a foreign signature is dropped', () => {
    const sig = signer.sign('because')
    const r = translate({
      messages: [
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'because', signature: sig },
            { type: 'thinking', thinking: 'x', signature: 'EqQBCkYIBxgCKkA' },
          ],
        },
      ],
    })
    expect(r.input).toEqual([{ type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'because' }] }])
    // Another gateway's key, or another tenant: not ours to open.
    expect(thinkingSigner(createSealer([sealingKey(new Uint8Array(32).fill(8))]), 'alice').open(sig)).toBeNull()
    expect(thinkingSigner(sealer, 'bob').open(sig)).toBeNull()
  })

  const bad: [string, Record<string, unknown>][] = [
    ['an unknown block type', { messages: [{ role: 'user', content: [{ type: 'hologram' }] }] }],
    ['a tool_use in a user message', { messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'a', name: 'b', input: {} }] }] }],
    ['an image without a source', { messages: [{ role: 'user', content: [{ type: 'image' }] }] }],
    ['a tool_result without its id', { messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }],
    ['tool_choice naming a tool with no tools', { tool_choice: { type: 'tool', name: 'x' } }],
  ]
  for (const [name, body] of bad)
    test(`${name} is a 400`, () => {
      let err: unknown
      try {
        translate(body)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ApiError)
      expect((err as ApiError).status).toBe(400)
    })
})

describe('event translation', () => {
  let seq = 0
  // Partial events: only the fields the translator reads (a full event would bury what each case is about).
  const ev = (type: string, f: Record<string, unknown> = {}) => ({ type, sequence_number: seq++, ...f }) as unknown as ResponseEvent
  const run = (events: ReturnType<typeof ev>[], opts: Partial<ConstructorParameters<typeof MessageTranslator>[0]> = {}) => {
    const t = new MessageTranslator({ model: 'claude-x', signer, thinking: 'shown', ...opts })
    return events.flatMap((e) => t.accept(e))
  }
  const textTurn = (
    text: string[],
    end = ev('response.completed', {
      response: { usage: { input_tokens: 5, output_tokens: 2, input_tokens_details: { cached_tokens: 1 } } },
    }),
  ) => [
    ev('response.created', { response: { id: 'resp_abc' } }),
    ev('response.output_item.added', { item: { id: 'm1', type: 'message' } }),
    ...text.map((d) => ev('response.output_text.delta', { item_id: 'm1', delta: d })),
    ev('response.output_item.done', { item: { id: 'm1', type: 'message' } }),
    end,
  ]

  test('a text turn is message_start, one text block, message_delta end_turn with usage, message_stop', () => {
    const out = run(textTurn(['a', 'b']))
    expect(out.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(accumulateMessage(out)).toEqual({
      id: 'msg_abc',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'ab' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 2, cache_creation_input_tokens: 0, cache_read_input_tokens: 1 },
    })
  })

  const stopCases: [string, string[], string[], string, string | null][] = [
    ['a stop sequence inside one delta', ['ab STOP cd'], ['STOP'], 'ab ', 'STOP'],
    ['a stop sequence split over deltas', ['ab S', 'TO', 'P cd'], ['STOP'], 'ab ', 'STOP'],
    ['the earliest of several stop sequences', ['x END y STOP'], ['STOP', 'END'], 'x ', 'END'],
    ['a near miss is sent whole at the end', ['ab ST', 'OX'], ['STOP'], 'ab STOX', null],
  ]
  for (const [name, deltas, stops, text, seqWant] of stopCases)
    test(name, () => {
      const m = accumulateMessage(run(textTurn(deltas), { stopSequences: stops }))!
      expect(m.content).toEqual([{ type: 'text', text }])
      expect([m.stop_reason, m.stop_sequence]).toEqual([seqWant ? 'stop_sequence' : 'end_turn', seqWant])
    })

  test('incomplete for max_output_tokens is max_tokens; a function call is tool_use with its input', () => {
    expect(
      accumulateMessage(
        run(textTurn(['a'], ev('response.incomplete', { response: { incomplete_details: { reason: 'max_output_tokens' } } }))),
      )!.stop_reason,
    ).toBe('max_tokens')
    const out = run([
      ev('response.created', { response: { id: 'resp_1' } }),
      ev('response.output_item.added', { item: { id: 'f1', type: 'function_call', call_id: 'toolu_1', name: 'Bash' } }),
      ev('response.function_call_arguments.delta', { item_id: 'f1', delta: '{"command":' }),
      ev('response.function_call_arguments.delta', { item_id: 'f1', delta: '"ls"}' }),
      ev('response.output_item.done', { item: { id: 'f1', type: 'function_call' } }),
      ev('response.completed', { response: {} }),
    ])
    const m = accumulateMessage(out)!
    expect(m.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }])
    expect(m.stop_reason).toBe('tool_use')
  })

  const thinkingCases: [string, 'shown' | 'omitted' | 'dropped', unknown[]][] = [
    [
      'shown',
      'shown',
      [
        { type: 'thinking', thinking: 'hmm', signature: 'opens to: hmm' },
        { type: 'text', text: 'a' },
      ],
    ],
    [
      'omitted',
      'omitted',
      [
        { type: 'thinking', thinking: '', signature: 'opens to: hmm' },
        { type: 'text', text: 'a' },
      ],
    ],
    ['dropped (thinking disabled)', 'dropped', [{ type: 'text', text: 'a' }]],
  ]
  for (const [name, mode, content] of thinkingCases)
    test(`reasoning as thinking: ${name}`, () => {
      const out = run(
        [
          ev('response.created', { response: { id: 'resp_1' } }),
          ev('response.output_item.added', { item: { id: 'r1', type: 'reasoning' } }),
          ev('response.reasoning_text.delta', { item_id: 'r1', delta: 'hmm' }),
          ev('response.output_item.done', { item: { id: 'r1', type: 'reasoning' } }),
          ...textTurn(['a']).slice(1),
        ],
        { thinking: mode },
      )
      // Sealing is randomised (its IV): a signature is shown by what it opens to.
      const shown = accumulateMessage(out)!.content.map((b) =>
        b.type === 'thinking' ? { ...b, signature: `opens to: ${signer.open(b.signature)}` } : b,
      )
      expect(shown).toEqual(content as any)
    })

  test('a failed turn closes its blocks and sends no message_delta', () => {
    const t = new MessageTranslator({ model: 'x', signer, thinking: 'shown' })
    const out = textTurn(['a'], ev('response.failed', { response: { error: { code: 'upstream_error', message: 'boom' } } })).flatMap((e) =>
      t.accept(e),
    )
    expect(out.map((e) => e.type)).not.toContain('message_delta')
    expect(t.end).toEqual({ failed: { code: 'upstream_error', message: 'boom' } })
  })
})

describe('errors and model names', () => {
  const cases: [number, string, string, number, string][] = [
    [400, 'bad', 'invalid_request_error', 400, 'invalid_request_error'],
    [401, 'no key', 'invalid_request_error', 401, 'authentication_error'],
    [403, 'no', 'permission_error', 403, 'permission_error'],
    [404, 'gone', 'invalid_request_error', 404, 'not_found_error'],
    [413, 'big', 'invalid_request_error', 413, 'request_too_large'],
    [429, 'slow down', 'rate_limit_error', 429, 'rate_limit_error'],
    [500, 'bug', 'server_error', 500, 'api_error'],
    [502, 'upstream answered 500 (POST x): boom', 'upstream_error', 500, 'api_error'],
    [502, 'upstream answered 503 (POST x): busy', 'upstream_error', 529, 'overloaded_error'],
    [503, 'shutting down', 'server_error', 529, 'overloaded_error'],
    [504, 'timeout', 'upstream_error', 500, 'api_error'],
  ]
  for (const [status, message, type, wantStatus, wantType] of cases)
    test(`${status} ${message} → ${wantStatus} ${wantType}`, () => {
      expect(toAnthropicError(status, { error: { message, type, param: null, code: null } })).toEqual({
        status: wantStatus,
        body: { type: 'error', error: { type: wantType, message } },
      })
    })

  const models: [string, string[] | null, string | null, string][] = [
    ['served', ['a', 'served'], null, 'served'],
    ['claude-x', ['a', 'b'], null, 'a'],
    ['claude-x', ['a', 'b'], 'b', 'b'],
    ['claude-x', null, null, 'claude-x'],
  ]
  for (const [asked, served, fallback, want] of models)
    test(`model ${asked} with ${JSON.stringify(served)} and --anthropic-model ${fallback} → ${want}`, () =>
      expect(resolveModel(asked, served, fallback)).toBe(want))
})
