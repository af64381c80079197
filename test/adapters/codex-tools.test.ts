// Codex's tools through the real HTTP surface, on both upstream adapters: the upstream sees only
// function tools, calls come back as the item types Codex declared, and Codex's next turn (chained
// or with the whole history resent) reaches the upstream as function_call / function_call_output.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { Wire } from '../support/cassette'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { CODEX_UPSTREAM_TOOL_NAMES } from '../support/tool-registry'

const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dir, '..', 'fixtures', 'codex', name), 'utf8'))
const TURN1 = fixture('req-sse-patch-turn1.json')
const TURN2 = fixture('req-sse-patch-turn2-custom-tool-output.json')
const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+hello from patch\n*** End Patch\n'
const DROPPED_LOG = 'tools the gateway cannot run were left out of the upstream request'

interface Side {
  up: FakeUpstream
  gw: TestGateway
  client: OpenAI
  path: string
}
const sides = {} as Record<Wire, Side>

beforeAll(async () => {
  for (const wire of ['responses', 'chat'] as const) {
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url, env: { AGENTGATE_UPSTREAM_API: wire } })
    sides[wire] = {
      up,
      gw,
      client: new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }),
      path: wire === 'chat' ? '/v1/chat/completions' : '/v1/responses',
    }
  }
})
afterAll(async () => {
  for (const s of Object.values(sides)) {
    await s.gw.stop()
    await s.up.stop()
  }
})

async function streamed(client: OpenAI, body: any) {
  const stream = await client.responses.create({ ...body, stream: true } as any)
  const events: any[] = []
  for await (const ev of stream as any) events.push(ev)
  return { events, response: events.at(-1).response }
}

/** Tool names the upstream got, whatever its wire format. */
function upstreamToolNames(wire: Wire, body: any): string[] {
  return (body.tools ?? []).map((t: any) => (wire === 'chat' ? t.function.name : t.name))
}

/** The upstream's view of the tool items in its last request: [kind, name or call id]. */
function upstreamToolItems(wire: Wire, body: any): [string, string][] {
  if (wire === 'responses')
    return body.input
      .filter((i: any) => i.type !== 'message' && i.type !== 'reasoning')
      .map((i: any) => [i.type, i.type === 'function_call' ? `${i.name} ${i.arguments}` : `${i.call_id} ${i.output}`])
  const out: [string, string][] = []
  for (const m of body.messages) {
    for (const c of m.tool_calls ?? []) out.push(['function_call', `${c.function.name} ${c.function.arguments}`])
    if (m.role === 'tool') out.push(['function_call_output', `${m.tool_call_id} ${m.content}`])
  }
  return out
}

describe.each([['responses'], ['chat']] as [Wire][])('upstream API %s', (wire) => {
  const side = () => sides[wire]

  test("Codex's real tool list is accepted; the upstream sees only functions; web_search is left out with one log line", async () => {
    const { up, gw, client, path } = side()
    up.queue({ text: 'ok' })
    const logsBefore = gw.logs.length
    const { response } = await streamed(client, TURN1)
    expect(response.status).toBe('completed')
    const body = up.requestsTo(path).at(-1)!.body
    expect(body.tools.every((t: any) => t.type === 'function')).toBe(true)
    expect(upstreamToolNames(wire, body)).toEqual(CODEX_UPSTREAM_TOOL_NAMES)
    const dropped = gw.logs
      .slice(logsBefore)
      .filter((l) => l.includes(DROPPED_LOG))
      .map((l) => JSON.parse(l))
    expect(dropped).toHaveLength(1)
    expect(dropped[0]).toMatchObject({ level: 'warn', tools: ['web_search'] })
    // The client's Response keeps the tools as declared, in OpenAI's response shape (web_search gets its defaults).
    const webSearchDefaults = { filters: null, search_context_size: 'medium', user_location: null }
    expect(response.tools).toEqual(TURN1.tools.map((t: any) => (t.type === 'web_search' ? { ...webSearchDefaults, ...t } : t)))
  })

  test('the left-out warning is logged once per tool for the life of the gateway, not on every turn', async () => {
    const { up, gw, client } = side()
    const count = () => gw.logs.filter((l) => l.includes(DROPPED_LOG)).length
    up.queue({ text: 'first' })
    await streamed(client, TURN1)
    const after1 = count()
    expect(after1).toBe(1) // this gateway's first turn with web_search (the test above), or this one
    up.queue({ text: 'again' }, { text: 'and again' })
    await streamed(client, TURN1)
    await streamed(client, TURN1)
    expect(count()).toBe(1)
  })

  test('an apply_patch call comes back as custom_tool_call with custom_tool_call_input events', async () => {
    const { up, client } = side()
    up.queue({
      reasoning: 'Add the file.',
      functionCalls: [{ name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }), call_id: 'call_patch' }],
    })
    const { events, response } = await streamed(client, TURN1)
    const types = events.map((e) => e.type)
    expect(types).toContain('response.custom_tool_call_input.delta')
    expect(types).toContain('response.custom_tool_call_input.done')
    expect(types).not.toContain('response.function_call_arguments.delta')
    expect(types).not.toContain('response.function_call_arguments.done')
    const call = response.output.find((o: any) => o.type === 'custom_tool_call')
    expect(call).toEqual({
      id: expect.stringMatching(/^ctc_/),
      type: 'custom_tool_call',
      call_id: 'call_patch',
      name: 'apply_patch',
      input: PATCH,
      status: 'completed',
    })
    const deltas = events.filter((e) => e.type === 'response.custom_tool_call_input.delta')
    expect(deltas.map((e) => e.delta).join('')).toBe(PATCH)
    expect(deltas.every((e) => e.item_id === call.id)).toBe(true)
    expect(events.find((e) => e.type === 'response.custom_tool_call_input.done')).toMatchObject({ item_id: call.id, input: PATCH })
    const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'custom_tool_call')
    expect(added.item).toMatchObject({ id: call.id, input: '', status: 'in_progress' })
  })

  test('the next turn with the whole history resent (Codex over HTTP) reaches the upstream as function_call / function_call_output', async () => {
    const { up, client, path } = side()
    up.queue({ text: 'Done.' })
    const { response } = await streamed(client, TURN2)
    expect(response.output_text).toBe('Done.')
    expect(upstreamToolItems(wire, up.requestsTo(path).at(-1)!.body)).toEqual([
      ['function_call', `apply_patch ${JSON.stringify({ input: PATCH })}`],
      ['function_call_output', 'call_1 Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n'],
    ])
  })

  test('the next turn chained with previous_response_id and only the output item does too', async () => {
    const { up, client, path } = side()
    up.queue(
      { functionCalls: [{ name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }), call_id: 'call_chain' }] },
      { text: 'Patched.' },
    )
    const first = await client.responses.create({ ...TURN1, stream: false, store: true } as any)
    expect(first.output.map((o) => o.type)).toEqual(['custom_tool_call'])
    const second = await client.responses.create({
      ...TURN1,
      stream: false,
      store: true,
      previous_response_id: first.id,
      input: [{ type: 'custom_tool_call_output', call_id: 'call_chain', output: 'Success.' }],
    } as any)
    expect(second.output_text).toBe('Patched.')
    const items = upstreamToolItems(wire, up.requestsTo(path).at(-1)!.body)
    expect(items).toEqual([
      ['function_call', `apply_patch ${JSON.stringify({ input: PATCH })}`],
      ['function_call_output', 'call_chain Success.'],
    ])
  })

  test('a namespace call comes back under its own name with its namespace, and goes upstream flat again', async () => {
    const { up, client, path } = side()
    up.queue(
      { functionCalls: [{ name: 'multi_agent_v1__close_agent', arguments: '{"target":"agent-1"}', call_id: 'call_ns' }] },
      { text: 'Closed.' },
    )
    const { response, events } = await streamed(client, TURN1)
    const call = response.output[0]
    expect(call).toEqual({
      id: expect.stringMatching(/^fc_/),
      type: 'function_call',
      call_id: 'call_ns',
      name: 'close_agent',
      namespace: 'multi_agent_v1',
      arguments: '{"target":"agent-1"}',
      status: 'completed',
    })
    expect(events.find((e) => e.type === 'response.function_call_arguments.done')).toMatchObject({
      name: 'close_agent',
      arguments: '{"target":"agent-1"}',
    })
    // Codex sends the call back as it got it (name + namespace) with its output.
    await streamed(client, {
      ...TURN1,
      input: [...TURN1.input, call, { type: 'function_call_output', call_id: 'call_ns', output: 'closed' }],
    })
    expect(upstreamToolItems(wire, up.requestsTo(path).at(-1)!.body)).toEqual([
      ['function_call', 'multi_agent_v1__close_agent {"target":"agent-1"}'],
      ['function_call_output', 'call_ns closed'],
    ])
  })

  test('local_shell: the call is a local_shell_call with its action; its output goes back as function_call_output', async () => {
    const { up, client, path } = side()
    up.queue(
      { functionCalls: [{ name: 'local_shell', arguments: '{"command":["ls","-la"],"working_directory":"/tmp"}', call_id: 'call_ls' }] },
      { text: 'Listed.' },
    )
    const tools = [{ type: 'local_shell' }]
    const first = await client.responses.create({ model: 'test-model', input: 'list files', tools } as any)
    expect(first.output[0]).toEqual({
      id: expect.stringMatching(/^lsh_/),
      type: 'local_shell_call',
      call_id: 'call_ls',
      status: 'completed',
      action: { type: 'exec', command: ['ls', '-la'], env: {}, timeout_ms: null, user: null, working_directory: '/tmp' },
    } as any)
    await client.responses.create({
      model: 'test-model',
      tools,
      previous_response_id: first.id,
      input: [{ type: 'local_shell_call_output', id: 'call_ls', output: 'total 0' }],
    } as any)
    const body = up.requestsTo(path).at(-1)!.body
    expect(upstreamToolNames(wire, body)).toEqual(['local_shell'])
    expect(upstreamToolItems(wire, body)).toEqual([
      ['function_call', 'local_shell {"command":["ls","-la"],"working_directory":"/tmp"}'],
      ['function_call_output', 'call_ls total 0'],
    ])
  })

  test("Codex's reasoning items with explicit nulls are accepted and reach the upstream without the nulls", async () => {
    const { up, client, path } = side()
    up.queue({ text: 'fine' })
    const input = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'do it' }] },
      { type: 'reasoning', id: 'rs_1', summary: [], content: null, encrypted_content: null },
      { type: 'function_call', id: 'fc_1', status: 'completed', name: 'exec_command', arguments: '{"cmd":"true"}', call_id: 'call_r' },
      { type: 'function_call_output', call_id: 'call_r', output: '' },
    ]
    const r = await client.responses.create({ model: 'test-model', input, tools: TURN1.tools } as any)
    expect(r.status).toBe('completed')
    const body = up.requestsTo(path).at(-1)!.body
    if (wire === 'responses') expect(body.input[1]).toEqual({ type: 'reasoning', id: 'rs_1', summary: [] })
    else expect(JSON.stringify(body.messages)).not.toContain('null,"encrypted')
  })

  test('only hosted tools and a tool_choice naming one: the turn runs, with no tools and no tool_choice upstream', async () => {
    const { up, client, path } = side()
    up.queue({ text: 'no search here' })
    const r = await client.responses.create({
      model: 'test-model',
      input: 'search',
      tools: [{ type: 'web_search' }, { type: 'image_generation' }],
      tool_choice: { type: 'web_search' },
    } as any)
    expect(r.output_text).toBe('no search here')
    expect(r.tools).toEqual([
      { type: 'web_search', filters: null, search_context_size: 'medium', user_location: null },
      { type: 'image_generation' },
    ] as any)
    const body = up.requestsTo(path).at(-1)!.body
    expect(body.tools ?? []).toEqual([])
    expect(body).not.toHaveProperty('tool_choice')
  })

  test('tool_choice naming a custom tool goes upstream as its function', async () => {
    const { up, client, path } = side()
    up.queue({ functionCalls: [{ name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) }] })
    await client.responses.create({ ...TURN1, stream: false, tool_choice: { type: 'custom', name: 'apply_patch' } } as any)
    const body = up.requestsTo(path).at(-1)!.body
    expect(body.tool_choice).toEqual(
      wire === 'chat' ? { type: 'function', function: { name: 'apply_patch' } } : { type: 'function', name: 'apply_patch' },
    )
  })
})

describe('bad tool declarations are a 400 before anything is stored or sent', () => {
  test.each<[string, any, string]>([
    [
      'a duplicate name',
      [
        { type: 'function', name: 'lookup', parameters: {} },
        { type: 'function', name: 'lookup', parameters: {} },
      ],
      'tools.1.name',
    ],
    ['an empty name', [{ type: 'function', name: '', parameters: {} }], 'tools.0.name'],
    ['an empty custom tool name', [{ type: 'custom', name: '' }], 'tools.0.name'],
    [
      'a duplicate inside a namespace',
      [
        {
          type: 'namespace',
          name: 'ns',
          tools: [
            { type: 'function', name: 'a' },
            { type: 'function', name: 'a' },
          ],
        },
      ],
      'tools.0.tools.1.name',
    ],
  ])('%s', async (_n, tools, param) => {
    const { up, client } = sides.responses
    const before = up.requests.length
    const err = await client.responses.create({ model: 'test-model', input: 'x', tools } as any).catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param })
    expect(err.error.message).toContain(param.endsWith('name') ? "'" : '')
    expect(up.requests.length).toBe(before)
  })

  test('a tool_choice naming an undeclared tool', async () => {
    const err = await sides.responses.client.responses
      .create({
        model: 'test-model',
        input: 'x',
        tools: [{ type: 'function', name: 'a', parameters: {} }],
        tool_choice: { type: 'function', name: 'b' },
      } as any)
      .catch((e) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ param: 'tool_choice', code: 'unknown_tool' })
  })
})
