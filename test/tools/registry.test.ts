// The tool registry: what each declared tool becomes for the upstream, the 400s, tool_choice.
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ApiError } from '../../src/errors'
import { buildToolRegistry, toolRegistryFor } from '../../src/tools'
import { CODEX_UPSTREAM_TOOL_NAMES } from '../support/tool-registry'

const fn = (name: string, extra: Record<string, unknown> = {}) => ({
  type: 'function',
  name,
  parameters: { type: 'object', properties: {} },
  strict: false,
  ...extra,
})
const codex = JSON.parse(readFileSync(join(import.meta.dir, '..', 'fixtures', 'codex', 'req-sse-patch-turn1.json'), 'utf8'))

function badRequest(f: () => unknown): ApiError {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).status).toBe(400)
    return e as ApiError
  }
  throw new Error('expected a 400')
}

describe('what the upstream sees', () => {
  test('a function tool passes through as it was declared', () => {
    const t = fn('get_weather', { description: 'd', extra_field: 1 })
    expect(buildToolRegistry([t]).upstreamTools).toEqual([t as any])
  })

  test.each<[string, any, Record<string, unknown>]>([
    [
      'custom with a lark grammar',
      {
        type: 'custom',
        name: 'apply_patch',
        description: 'Edit files.',
        format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' },
      },
      { name: 'apply_patch', required: ['input'] },
    ],
    ['custom without a format', { type: 'custom', name: 'note', description: 'Free text.' }, { name: 'note', required: ['input'] }],
    ['local_shell', { type: 'local_shell' }, { name: 'local_shell', required: ['command'] }],
    ['shell', { type: 'shell' }, { name: 'shell', required: ['commands'] }],
  ])('%s becomes a function', (_n, tool, want) => {
    const [up] = buildToolRegistry([tool]).upstreamTools!
    expect(up).toMatchObject({ type: 'function', name: want.name, parameters: { type: 'object', required: want.required } })
  })

  test('a custom tool describes its grammar and its one string argument', () => {
    const [up] = buildToolRegistry([
      {
        type: 'custom',
        name: 'apply_patch',
        description: 'Edit files.',
        format: { type: 'grammar', syntax: 'lark', definition: 'start: begin_patch hunk+ end_patch' },
      },
    ]).upstreamTools!
    expect(up!.description).toContain('Edit files.')
    expect(up!.description).toContain('lark grammar')
    expect(up!.description).toContain('start: begin_patch hunk+ end_patch')
    expect((up!.parameters as any).properties).toEqual({ input: { type: 'string', description: expect.any(String) } })
  })

  test('namespace members are flattened to ns__name and found again by either name', () => {
    const reg = buildToolRegistry([
      { type: 'namespace', name: 'multi_agent_v1', description: 'agents', tools: [fn('close_agent'), fn('spawn_agent')] },
    ])
    expect(reg.upstreamTools!.map((t) => t.name)).toEqual(['multi_agent_v1__close_agent', 'multi_agent_v1__spawn_agent'])
    expect(reg.byUpstreamName('multi_agent_v1__close_agent')).toMatchObject({
      name: 'close_agent',
      namespace: 'multi_agent_v1',
      kind: 'function',
    })
    expect(reg.find('close_agent', 'multi_agent_v1')?.upstreamName).toBe('multi_agent_v1__close_agent')
  })

  test("Codex's real tool list: only functions go upstream, web_search is dropped", () => {
    const reg = buildToolRegistry(codex.tools)
    expect(reg.upstreamTools!.every((t) => t.type === 'function')).toBe(true)
    expect(reg.upstreamTools!.map((t) => t.name)).toEqual(CODEX_UPSTREAM_TOOL_NAMES)
    expect(reg.dropped).toEqual(['web_search'])
  })

  test.each([
    'web_search',
    'web_search_preview',
    'image_generation',
    'file_search',
    'code_interpreter',
    'computer_use_preview',
    'mcp',
    'tool_search',
  ])('hosted %s is left out and reported', (type) => {
    const reg = buildToolRegistry([fn('f'), { type, server_label: 'x' }])
    expect(reg.upstreamTools!.map((t) => t.name)).toEqual(['f'])
    expect(reg.dropped).toEqual([type])
  })

  test('no tools in the request: nothing to say about tools', () => {
    const reg = buildToolRegistry(undefined, 'auto')
    expect(reg.upstreamTools).toBeUndefined()
    expect(reg.upstreamToolChoice).toBe('auto')
  })
})

describe('bad declarations are a 400 naming the tool', () => {
  test.each<[string, any[], string, string]>([
    ['an empty function name', [fn('')], 'tools.0.name', 'empty_tool_name'],
    ['a function without a name', [{ type: 'function', parameters: {} }], 'tools.0.name', 'empty_tool_name'],
    ['an empty custom name', [fn('a'), { type: 'custom', name: '  ' }], 'tools.1.name', 'empty_tool_name'],
    ['a duplicate function', [fn('a'), fn('b'), fn('a')], 'tools.2.name', 'duplicate_tool_name'],
    [
      'a custom tool named like a function',
      [fn('apply_patch'), { type: 'custom', name: 'apply_patch' }],
      'tools.1.name',
      'duplicate_tool_name',
    ],
    [
      'a duplicate namespace member',
      [{ type: 'namespace', name: 'ns', tools: [fn('a'), fn('a')] }],
      'tools.0.tools.1.name',
      'duplicate_tool_name',
    ],
    [
      'a member flattening onto a function',
      [fn('ns__a'), { type: 'namespace', name: 'ns', tools: [fn('a')] }],
      'tools.1.tools.0.name',
      'duplicate_tool_name',
    ],
    ['an empty namespace name', [{ type: 'namespace', name: '', tools: [] }], 'tools.0.name', 'empty_tool_name'],
    ['local_shell twice', [{ type: 'local_shell' }, { type: 'local_shell' }], 'tools.1', 'duplicate_tool_name'],
  ])('%s', (_n, tools, param, code) => {
    const err = badRequest(() => buildToolRegistry(tools))
    expect(err.param).toBe(param)
    expect(err.errorCode).toBe(code)
  })

  test('the message names the duplicate', () => {
    expect(badRequest(() => buildToolRegistry([fn('lookup'), fn('lookup')])).message).toContain("'lookup'")
  })

  test('toolRegistryFor memoises per request object', () => {
    const req = { tools: [fn('a')] }
    expect(toolRegistryFor(req)).toBe(toolRegistryFor(req))
  })
})

describe('tool_choice for the upstream', () => {
  const tools = [
    fn('exec_command'),
    { type: 'custom', name: 'apply_patch' },
    { type: 'namespace', name: 'multi_agent_v1', tools: [fn('close_agent'), fn('spawn_agent')] },
    { type: 'web_search' },
    { type: 'local_shell' },
  ]
  test.each<[string, unknown, unknown]>([
    ['a string passes', 'required', 'required'],
    ['a function by name', { type: 'function', name: 'exec_command' }, { type: 'function', name: 'exec_command' }],
    ['a custom tool → its function', { type: 'custom', name: 'apply_patch' }, { type: 'function', name: 'apply_patch' }],
    [
      'a namespaced function by ns + name',
      { type: 'function', name: 'close_agent', namespace: 'multi_agent_v1' },
      { type: 'function', name: 'multi_agent_v1__close_agent' },
    ],
    [
      'a namespaced function by its flat name',
      { type: 'function', name: 'multi_agent_v1__spawn_agent' },
      { type: 'function', name: 'multi_agent_v1__spawn_agent' },
    ],
    [
      'a namespace member by its own (unique) name',
      { type: 'function', name: 'spawn_agent' },
      { type: 'function', name: 'multi_agent_v1__spawn_agent' },
    ],
    ['local_shell', { type: 'local_shell' }, { type: 'function', name: 'local_shell' }],
    ['a dropped hosted tool → auto', { type: 'web_search' }, 'auto'],
    ['an unknown choice type → auto', { type: 'image_generation' }, 'auto'],
  ])('%s', (_n, choice, want) => {
    expect(buildToolRegistry(tools, choice).upstreamToolChoice).toEqual(want)
  })

  test('allowed_tools narrows the upstream tools and keeps the mode', () => {
    const reg = buildToolRegistry(tools, {
      type: 'allowed_tools',
      mode: 'required',
      tools: [
        { type: 'custom', name: 'apply_patch' },
        { type: 'function', name: 'close_agent', namespace: 'multi_agent_v1' },
        { type: 'web_search' },
      ],
    })
    expect(reg.upstreamTools!.map((t) => t.name)).toEqual(['apply_patch', 'multi_agent_v1__close_agent'])
    expect(reg.upstreamToolChoice).toBe('required')
  })

  test('only hosted tools declared: no tool_choice goes upstream', () => {
    const reg = buildToolRegistry([{ type: 'web_search' }], 'required')
    expect(reg.upstreamTools).toEqual([])
    expect(reg.upstreamToolChoice).toBeUndefined()
  })

  test.each<[string, unknown, string]>([
    ['an undeclared function', { type: 'function', name: 'nope' }, 'tool_choice'],
    ['an undeclared custom tool', { type: 'custom', name: 'nope' }, 'tool_choice'],
    ['shell when only local_shell is declared', { type: 'shell' }, 'tool_choice'],
    [
      'an undeclared name in allowed_tools',
      { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'nope' }] },
      'tool_choice.tools.0',
    ],
  ])('%s → 400', (_n, choice, param) => {
    expect(badRequest(() => buildToolRegistry(tools, choice)).param).toBe(param)
  })
})
