// Calls coming back: upstream function_call events → the item types the client declared.
import { describe, expect, test } from 'bun:test'
import { buildToolRegistry, mapBatch, ToolCallMapper, toolCallMapping } from '../../src/tools'
import { DELTA_RUN, type DeltaRun } from '../../src/upstream/delta-run'
import { StreamedStringArgument } from '../../src/tools/streamed-argument'
import { codexToolRegistry } from '../support/tool-registry'

/** Events as these tests read them: any field of any event (the tests check values, not types). */
type Loose = { type: string; [key: string]: any }

const reg = codexToolRegistry()

/** vLLM's events for one function call, its arguments in the given pieces. */
function callEvents(name: string, pieces: string[], opts: { argsDone?: boolean } = {}) {
  const item = { id: 'u1', type: 'function_call', call_id: 'call_1', name, arguments: '', status: 'in_progress' }
  const args = pieces.join('')
  return [
    { type: 'response.output_item.added', output_index: 0, item },
    ...pieces.map((delta) => ({ type: 'response.function_call_arguments.delta', item_id: 'u1', output_index: 0, delta })),
    ...(opts.argsDone === false
      ? []
      : [{ type: 'response.function_call_arguments.done', item_id: 'u1', output_index: 0, arguments: args, name }]),
    { type: 'response.output_item.done', output_index: 0, item: { ...item, arguments: args, status: 'completed' } },
  ]
}

const run = (events: any[]): Loose[] => {
  const m = new ToolCallMapper(reg)
  return events.flatMap((e) => m.map(e))
}

describe('StreamedStringArgument', () => {
  const args = JSON.stringify({ input: '*** Begin Patch\n+say "hi" \\ é 😀\n*** End Patch\n' })
  test.each<[string, number[]]>([
    ['one chunk', []],
    ['split in the key', [3]],
    ['split right after a backslash', [args.indexOf('\\n') + 1]],
    ['split inside a \\u escape', [args.indexOf('\\u') + 3]],
    ['one character at a time', Array.from({ length: args.length - 1 }, (_, i) => i + 1)],
  ])('decodes the input across chunks: %s', (_n, cuts) => {
    const d = new StreamedStringArgument()
    let out = ''
    let prev = 0
    for (const c of [...cuts, args.length]) {
      out += d.push(args.slice(prev, c))
      prev = c
    }
    const { input, rest } = d.finish(args)
    expect(out + rest).toBe(input)
    expect(input).toBe('*** Begin Patch\n+say "hi" \\ é 😀\n*** End Patch\n')
    // Surrogate pairs stay whole in every delta.
    expect(out).toBe(input)
  })

  test('escaped unicode surrogates are not split between deltas', () => {
    const json = '{"input":"\\ud83d\\ude00!"}'
    const d = new StreamedStringArgument()
    const first = d.push(json.slice(0, 17)) // ends after the high surrogate escape
    expect(first).toBe('')
    expect(first + d.push(json.slice(17))).toBe('😀!')
  })

  test('arguments that are not JSON are the raw input', () => {
    const d = new StreamedStringArgument()
    expect(d.push('*** Begin Patch')).toBe('')
    expect(d.finish('*** Begin Patch\n*** End Patch')).toEqual({
      input: '*** Begin Patch\n*** End Patch',
      rest: '*** Begin Patch\n*** End Patch',
    })
  })

  test('another key name still works (the first string value)', () => {
    const d = new StreamedStringArgument()
    expect(d.push('{"patch": "a\\tb"}')).toBe('a\tb')
    expect(d.finish('{"patch": "a\\tb"}')).toEqual({ input: 'a\tb', rest: '' })
  })
})

// The engine maps each event of a batch in its own loop (no generator layer per mapping): only where there is
// something to map.
describe('toolCallMapping', () => {
  test('no tools, or plain functions only: nothing to map', () => {
    expect(toolCallMapping(buildToolRegistry(undefined))).toBeNull()
    expect(toolCallMapping(buildToolRegistry([{ type: 'function', name: 'f', parameters: { type: 'object' } }]))).toBeNull()
  })

  test('a custom tool or a namespace: the mapper of the declared types', () => {
    const m = toolCallMapping(reg)
    expect(m).toBeInstanceOf(ToolCallMapper)
    const out = callEvents('apply_patch', ['{"input":"x"}']).flatMap((e) => m!.map(e as any)) as Loose[]
    expect(out.at(-1)?.item.type).toBe('custom_tool_call')
  })

  test('mapBatch: each event of a batch through the mapping, in order; a run of text deltas passes untouched', () => {
    const run: DeltaRun = {
      type: DELTA_RUN,
      sequence_number: -1,
      item_id: 'm1',
      output_index: 1,
      content_index: 0,
      bytes: new Uint8Array(),
      spans: [],
      texts: null,
    }
    const [added, ...rest] = callEvents('apply_patch', ['{"input":"x"}'])
    const m = toolCallMapping(reg)!
    const out = [...mapBatch([added as any, run], m), ...mapBatch(rest as any[], m)] as Loose[]
    expect(out[1]).toBe(run as unknown as Loose)
    expect(out[0]!.item.type).toBe('custom_tool_call')
  })
})

describe('ToolCallMapper', () => {
  test('a custom tool call becomes custom_tool_call with decoded input deltas, no function_call_arguments events', () => {
    const out = run(callEvents('apply_patch', ['{"inp', 'ut": "*** Begin', ' Patch\\', 'n*** End Patch\\n"}']))
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
    ])
    expect(out[0]!.item).toEqual({
      id: 'u1',
      type: 'custom_tool_call',
      call_id: 'call_1',
      name: 'apply_patch',
      input: '',
      status: 'in_progress',
    })
    expect(out.filter((e) => e.type === 'response.custom_tool_call_input.delta').map((e) => e.delta)).toEqual([
      '*** Begin',
      ' Patch',
      '\n*** End Patch\n',
    ])
    expect(out[4]).toEqual({
      type: 'response.custom_tool_call_input.done',
      item_id: 'u1',
      output_index: 0,
      input: '*** Begin Patch\n*** End Patch\n',
    })
    expect(out[5]!.item).toEqual({
      id: 'u1',
      type: 'custom_tool_call',
      call_id: 'call_1',
      name: 'apply_patch',
      input: '*** Begin Patch\n*** End Patch\n',
      status: 'completed',
    })
  })

  test('a custom call without function_call_arguments.done still gets its input.done before the item', () => {
    const out = run(callEvents('apply_patch', ['{"input": "x"}'], { argsDone: false }))
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.custom_tool_call_input.delta',
      'response.custom_tool_call_input.done',
      'response.output_item.done',
    ])
  })

  test('arguments already in the announced item (vLLM) are streamed as the first delta', () => {
    const m = new ToolCallMapper(reg)
    const out: Loose[] = m.map({
      type: 'response.output_item.added',
      output_index: 0,
      item: { id: 'u1', type: 'function_call', call_id: 'c', name: 'apply_patch', arguments: '{"input": "ab', status: 'in_progress' },
    })
    expect(out.map((e) => [e.type, e.delta])).toEqual([
      ['response.output_item.added', undefined],
      ['response.custom_tool_call_input.delta', 'ab'],
    ])
  })

  test('a namespace member comes back under its own name with its namespace', () => {
    const out = run(callEvents('multi_agent_v1__close_agent', ['{"target":', '"a1"}']))
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
    ])
    expect(out[0]!.item).toMatchObject({ type: 'function_call', name: 'close_agent', namespace: 'multi_agent_v1' })
    expect(out[3]).toMatchObject({ name: 'close_agent', arguments: '{"target":"a1"}' })
    expect(out[4]!.item).toEqual({
      id: 'u1',
      type: 'function_call',
      call_id: 'call_1',
      name: 'close_agent',
      namespace: 'multi_agent_v1',
      arguments: '{"target":"a1"}',
      status: 'completed',
    })
  })

  test.each<[string, string, any]>([
    [
      'local_shell',
      '{"command":["ls","-la"],"working_directory":"/tmp"}',
      {
        type: 'local_shell_call',
        action: { type: 'exec', command: ['ls', '-la'], env: {}, timeout_ms: null, user: null, working_directory: '/tmp' },
      },
    ],
    [
      'shell',
      '{"commands":["pwd","ls"],"timeout_ms":5000}',
      { type: 'shell_call', action: { commands: ['pwd', 'ls'], timeout_ms: 5000, max_output_length: null } },
    ],
  ])('a %s call becomes its item type with the action, no argument events', (name, args, want) => {
    const out = run(callEvents(name, [args.slice(0, 5), args.slice(5)]))
    expect(out.map((e) => e.type)).toEqual(['response.output_item.added', 'response.output_item.done'])
    expect(out[1]!.item).toEqual({ id: 'u1', call_id: 'call_1', status: 'completed', ...want })
  })

  test('plain function calls, text and unknown names pass untouched', () => {
    const events = [
      ...callEvents('exec_command', ['{}']),
      ...callEvents('not_declared', ['{}']),
      { type: 'response.output_text.delta', item_id: 'm', output_index: 1, delta: 'hi' },
    ]
    expect(run(events)).toEqual(events)
  })

  test("the final object's output is mapped too (upstreams that list items only there)", () => {
    const out = run([
      {
        type: 'response.completed',
        response: {
          status: 'completed',
          output: [{ id: 'u1', type: 'function_call', call_id: 'c', name: 'apply_patch', arguments: '{"input":"x"}', status: 'completed' }],
        },
      },
    ])
    expect((out[0]!.response as any).output).toEqual([
      { id: 'u1', type: 'custom_tool_call', call_id: 'c', name: 'apply_patch', input: 'x', status: 'completed' },
    ])
  })
})
