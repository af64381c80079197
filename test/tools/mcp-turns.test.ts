// MCP tools run by the gateway, through the openai SDK, the scripted upstream and a real MCP server (test/support/
// mcp-server.ts): the tools of a declared server are listed (an mcp_list_tools item, once per chain), the model's calls
// run on the server (mcp_call items with its real output) and the model is called again. Approvals end the turn and
// are answered on the next one, over HTTP and WebSocket; allowed_tools, a server that is down, a call that times out,
// chains, mixed gateway + client calls, background + cancel, the allowlist and the credentials.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { Drain } from '../../src/engine/drain'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { startMcpServer, stdioServerCommand, type McpTestServer } from '../support/mcp-server'
import { collect } from '../support/sse'
import { modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'
import { waitFor } from '../support/wait'
import { openSocket } from '../support/ws-client'

const call = (name: string, args: unknown, call_id?: string) => ({ name, arguments: JSON.stringify(args), call_id })
const lastCall = (up: FakeUpstream, api: 'responses' | 'chat' = 'responses') => modelCalls(up, api).at(-1)!
const toolNames = (req: { body: any }): string[] => (req.body.tools ?? []).map((t: any) => t.name ?? t.function?.name)

async function closedPort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
  const port = s.port!
  await s.stop(true)
  return port
}

for (const api of UPSTREAM_APIS) {
  describe(`MCP tools run by the gateway (upstream API ${api})`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: OpenAI
    let mcp: McpTestServer
    const wiki = () => ({ type: 'mcp' as const, server_label: 'wiki', server_url: mcp.url, require_approval: 'never' as const })

    beforeAll(async () => {
      mcp = await startMcpServer()
    })
    afterAll(() => mcp.stop())
    useGateway(
      {
        gateway: { env: { AGENTGATE_UPSTREAM_API: api, AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1', AGENTGATE_TOOL_CALL_TIMEOUT_MS: '500' } },
      },
      (s) => ({ up, gw, client } = s),
    )

    test("list + call + final answer in one response: the server's real output, and the model sees it", async () => {
      up.queue({ functionCalls: [call('mcp__wiki__add', { a: 2, b: 3 })], usage: { input_tokens: 10, output_tokens: 2 } })
      up.queue({ text: 'The sum is 5.', usage: { input_tokens: 20, output_tokens: 4 } })
      const r = await client.responses.create({ model: 'test-model', input: 'add 2 and 3', tools: [wiki()] })
      expect(r.status).toBe('completed')
      expect(r.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message'])
      const list = r.output[0] as any
      expect(list.id).toMatch(/^mcpl_/)
      expect(list.server_label).toBe('wiki')
      expect(list.error).toBeNull()
      expect(list.tools.map((t: any) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'slow']))
      const mcpCall = r.output[1] as any
      expect(mcpCall).toMatchObject({
        type: 'mcp_call',
        server_label: 'wiki',
        name: 'add',
        arguments: '{"a":2,"b":3}',
        output: '5',
        error: null,
      })
      expect(mcpCall.id).toMatch(/^mcp_/)
      expect(r.output_text).toBe('The sum is 5.')
      expect(r.usage).toMatchObject({ input_tokens: 30, output_tokens: 6, total_tokens: 36 })
      expect(transcript(lastCall(up, api)).slice(1)).toEqual(['call mcp__wiki__add({"a":2,"b":3})', 'function_call_output: 5'])
      expect(toolNames(lastCall(up, api))).toContain('mcp__wiki__add')
      expect(mcp.calls.at(-1)).toMatchObject({ tool: 'add', arguments: { a: 2, b: 3 } })
    })

    test("streamed: list and call events in OpenAI's order, numbered once across the rounds", async () => {
      up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'hi' })] })
      up.queue({ text: 'Echoed.' })
      const events = await collect(await client.responses.create({ model: 'test-model', input: 'echo', tools: [wiki()], stream: true }))
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
      const types = events.map((e) => e.type).filter((t) => !t.includes('output_text') && !t.includes('content_part'))
      const deltas = types.filter((t) => t === 'response.mcp_call_arguments.delta').length
      expect(deltas).toBeGreaterThan(0)
      expect(types).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.mcp_list_tools.in_progress',
        'response.mcp_list_tools.completed',
        'response.output_item.done',
        'response.output_item.added',
        ...Array(deltas).fill('response.mcp_call_arguments.delta'),
        'response.mcp_call_arguments.done',
        'response.mcp_call.in_progress',
        'response.mcp_call.completed',
        'response.output_item.done',
        'response.output_item.added',
        'response.output_item.done',
        'response.completed',
      ])
      const done = events.filter((e) => e.type === 'response.output_item.done').map((e) => [e.output_index, e.item.type])
      expect(done).toEqual([
        [0, 'mcp_list_tools'],
        [1, 'mcp_call'],
        [2, 'message'],
      ])
      expect(events.find((e) => e.type === 'response.mcp_call_arguments.done').arguments).toBe('{"text":"hi"}')
      expect(events.at(-1).response.output[1]).toMatchObject({ type: 'mcp_call', output: 'hi', status: 'completed' })
    })

    test('a later turn of the chain reuses the stored tool list: no new mcp_list_tools, no request to the server', async () => {
      up.queue({ text: 'first' })
      const first = await client.responses.create({ model: 'test-model', input: 'one', tools: [wiki()] })
      expect(first.output[0]!.type).toBe('mcp_list_tools')
      const requests = mcp.requests.length
      up.queue({ text: 'second' })
      const second = await client.responses.create({ model: 'test-model', input: 'two', tools: [wiki()], previous_response_id: first.id })
      expect(second.output.map((i) => i.type)).toEqual(['message'])
      expect(mcp.requests.length).toBe(requests)
      expect(toolNames(lastCall(up, api))).toContain('mcp__wiki__echo')
    })

    test('allowed_tools: only those tools are listed and offered to the model', async () => {
      up.queue({ text: 'ok' })
      const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ ...wiki(), allowed_tools: ['echo'] }] })
      expect((r.output[0] as any).tools.map((t: any) => t.name)).toEqual(['echo'])
      expect(toolNames(lastCall(up, api))).toEqual(['mcp__wiki__echo'])
    })

    test('a server that is down gives an mcp_list_tools item with an error, and the turn still answers', async () => {
      const port = await closedPort()
      up.queue({ text: 'answered without it' })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'x',
        tools: [{ type: 'mcp', server_label: 'gone', server_url: `http://127.0.0.1:${port}/mcp`, require_approval: 'never' }],
      })
      expect(r.status).toBe('completed')
      expect(r.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'message'])
      expect((r.output[0] as any).error).toEqual(expect.any(String))
      expect((r.output[0] as any).tools).toEqual([])
      expect(r.output_text).toBe('answered without it')
      expect(toolNames(lastCall(up, api))).toEqual([])
    })

    test('a call past --tool-call-timeout-ms fails, and the model is told', async () => {
      up.queue({ functionCalls: [call('mcp__wiki__slow', { ms: 10_000 })] })
      up.queue({ text: 'It was too slow.' })
      const r = await client.responses.create({ model: 'test-model', input: 'slow', tools: [wiki()] })
      expect(r.status).toBe('completed')
      const failed = r.output[1] as any
      expect(failed).toMatchObject({ type: 'mcp_call', name: 'slow', status: 'failed', output: null })
      expect(failed.error).toContain('timed out')
      expect(transcript(lastCall(up, api)).at(-1)).toStartWith('function_call_output: Error: ')
      expect(r.output_text).toBe('It was too slow.')
    })

    test('two calls in one round both run; a client tool called beside them ends the turn with the calls done', async () => {
      up.queue({
        functionCalls: [
          call('mcp__wiki__add', { a: 1, b: 1 }),
          call('mcp__wiki__echo', { text: 'x' }),
          call('lookup', { id: 7 }, 'call_client'),
        ],
      })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'mixed',
        tools: [wiki(), { type: 'function', name: 'lookup', parameters: { type: 'object' }, strict: false }],
      })
      expect(r.status).toBe('completed')
      expect(r.output.map((i: any) => i.type)).toEqual(['mcp_list_tools', 'mcp_call', 'mcp_call', 'function_call'])
      expect(r.output.slice(1).map((i: any) => i.output ?? i.call_id)).toEqual(['2', 'x', 'call_client'])
    })
  })
}

describe('MCP approvals, the allowlist, credentials, background', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: OpenAI
  let mcp: McpTestServer
  const wiki = () => ({ type: 'mcp' as const, server_label: 'wiki', server_url: mcp.url })

  beforeAll(async () => {
    mcp = await startMcpServer()
  })
  afterAll(() => mcp.stop())
  useGateway({ gateway: { env: { AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1' } } }, (s) => ({ up, gw, client } = s))

  test('require_approval always (the default): the turn ends with an approval request; approved, the call runs and the turn goes on', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__add', { a: 4, b: 5 })] })
    const asked = await client.responses.create({ model: 'test-model', input: 'add', tools: [wiki()] })
    expect(asked.status).toBe('completed')
    expect(asked.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'mcp_approval_request'])
    const request = asked.output[1] as any
    expect(request).toMatchObject({ server_label: 'wiki', name: 'add', arguments: '{"a":4,"b":5}' })
    expect(request.id).toMatch(/^mcpr_/)
    const calls = mcp.calls.length

    up.queue({ text: 'It is 9.' })
    const approved = await client.responses.create({
      model: 'test-model',
      previous_response_id: asked.id,
      tools: [wiki()],
      input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
    })
    expect(approved.status).toBe('completed')
    expect(approved.output.map((i) => i.type)).toEqual(['mcp_call', 'message'])
    expect(approved.output[0]).toMatchObject({ name: 'add', output: '9', approval_request_id: request.id, status: 'completed' })
    expect(mcp.calls.length).toBe(calls + 1)
    expect(transcript(lastCall(up)).slice(0, 3)).toEqual(['user: add', 'call mcp__wiki__add({"a":4,"b":5})', 'function_call_output: 9'])
    expect(approved.output_text).toBe('It is 9.')
  })

  test('denied: the call does not run, and the model is told so (with the reason)', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__add', { a: 1, b: 2 })] })
    const asked = await client.responses.create({ model: 'test-model', input: 'add', tools: [wiki()] })
    const request = asked.output.find((i) => i.type === 'mcp_approval_request') as any
    const calls = mcp.calls.length
    up.queue({ text: 'Understood, I will not.' })
    const denied = await client.responses.create({
      model: 'test-model',
      previous_response_id: asked.id,
      tools: [wiki()],
      input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: false, reason: 'too risky' }],
    })
    expect(denied.output.map((i) => i.type)).toEqual(['message'])
    expect(mcp.calls.length).toBe(calls)
    const seen = transcript(lastCall(up))
    expect(seen[1]).toBe('call mcp__wiki__add({"a":1,"b":2})')
    expect(seen[2]).toContain('denied this call: too risky')
  })

  test('a request is answered once: approving a denied request, or denying it again, later in the chain runs nothing and the model sees one answer', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__add', { a: 2, b: 2 })] })
    const asked = await client.responses.create({ model: 'test-model', input: 'add', tools: [wiki()] })
    const request = asked.output.find((i) => i.type === 'mcp_approval_request') as any
    const calls = mcp.calls.length
    const answer = async (previous: string, approve: boolean) => {
      up.queue({ text: approve ? 'approved?' : 'denied.' })
      return client.responses.create({
        model: 'test-model',
        previous_response_id: previous,
        tools: [wiki()],
        input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve }],
      })
    }
    const denied = await answer(asked.id, false)
    const approvedLater = await answer(denied.id, true)
    expect(approvedLater.output.map((i) => i.type)).toEqual(['message'])
    expect(mcp.calls.length).toBe(calls)
    const deniedAgain = await answer(approvedLater.id, false)
    expect(deniedAgain.output.map((i) => i.type)).toEqual(['message'])
    const answers = transcript(lastCall(up)).filter((l) => l.startsWith('function_call_output:'))
    expect(answers).toHaveLength(1)
    expect(answers[0]).toContain('denied this call')
  })

  test('require_approval by tool name: never for echo, always for the rest', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'free' }), call('mcp__wiki__add', { a: 1, b: 1 })] })
    const r = await client.responses.create({
      model: 'test-model',
      input: 'both',
      tools: [{ ...wiki(), require_approval: { never: { tool_names: ['echo'] } } }],
    })
    expect(r.output.map((i: any) => [i.type, i.name ?? null])).toEqual([
      ['mcp_list_tools', null],
      ['mcp_call', 'echo'],
      ['mcp_approval_request', 'add'],
    ])
    expect((r.output[1] as any).output).toBe('free')
  })

  test('an approval answer naming no request is a 400', async () => {
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        tools: [wiki()],
        input: [{ type: 'mcp_approval_response', approval_request_id: 'mcpr_nope', approve: true }],
      }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ param: 'input.0.approval_request_id', code: 'unknown_approval_request' })
  })

  test("an approval answer naming another chain's request is a 400, and that call does not run", async () => {
    up.queue({ functionCalls: [call('mcp__wiki__add', { a: 7, b: 7 })] })
    const other = await client.responses.create({ model: 'test-model', input: 'add', tools: [wiki()] })
    const request = other.output.find((i) => i.type === 'mcp_approval_request') as any
    up.queue({ text: 'unrelated' })
    const mine = await client.responses.create({ model: 'test-model', input: 'hello', tools: [wiki()] })
    const calls = mcp.calls.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        previous_response_id: mine.id,
        tools: [wiki()],
        input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
      }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ param: 'input.0.approval_request_id', code: 'unknown_approval_request' })
    expect(mcp.calls.length).toBe(calls)
  })

  test.each<[string, unknown, string]>([
    ['a null entry', [null], 'input.0.tools.0'],
    ['a name that is a number', [{ name: 'echo' }, { name: 5 }], 'input.0.tools.1.name'],
    ['an input_schema that is a string', [{ name: 'echo', input_schema: 'x' }], 'input.0.tools.0.input_schema'],
    ['tools that are not a list', 'echo', 'input.0.tools'],
  ])('an mcp_list_tools input item with %s is a 400 naming it (not a failed turn)', async (_name, tools, param) => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        tools: [{ ...wiki(), require_approval: 'never' }],
        input: [
          { type: 'mcp_list_tools', id: 'mcpl_sent', server_label: 'wiki', tools },
          { role: 'user', content: 'hi' },
        ],
      }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param })
    expect(up.requests.length).toBe(before)
  })

  test('an mcp_list_tools item sent back whole is reused: its tools are offered, the server is not listed again', async () => {
    const listed = mcp.requests.length
    up.queue({ text: 'ok' })
    await client.responses.create({
      model: 'test-model',
      tools: [{ ...wiki(), require_approval: 'never' }],
      input: [
        { type: 'mcp_list_tools', id: 'mcpl_sent', server_label: 'wiki', tools: [{ name: 'echo', input_schema: { type: 'object' } }] },
        { role: 'user', content: 'hi' },
      ] as any,
    })
    expect(toolNames(lastCall(up))).toEqual(['mcp__wiki__echo'])
    expect(mcp.requests.length).toBe(listed)
  })

  test('the approval flow over WebSocket', async () => {
    const s = await openSocket(gw.url)
    try {
      up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'ws' })] })
      s.create({ input: 'echo', tools: [wiki()] })
      const first = await s.terminal(1)
      expect(first.type).toBe('response.completed')
      const request = first.response.output.find((i: any) => i.type === 'mcp_approval_request')
      expect(request).toMatchObject({ name: 'echo' })
      up.queue({ text: 'done over ws' })
      s.create({
        previous_response_id: first.response.id,
        tools: [wiki()],
        input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
      })
      const second = await s.terminal(2)
      expect(second.type).toBe('response.completed')
      expect(second.response.output.map((i: any) => i.type)).toEqual(['mcp_call', 'message'])
      expect(second.response.output[0].output).toBe('ws')
    } finally {
      s.close()
    }
  })

  test('the approval flow over WebSocket with store:false: the socket keeps the chain, nothing is stored', async () => {
    // --ws-force-store false: store:false is kept on the socket (Codex's default forces storing)
    const unstored = await startGateway({
      upstream: up.url,
      env: { AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1', AGENTGATE_WS_FORCE_STORE: 'false' },
    })
    up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'unstored' })] })
    const s = await openSocket(unstored.url)
    try {
      s.create({ input: 'echo', tools: [wiki()], store: false })
      const first = await s.terminal(1)
      const request = first.response.output.find((i: any) => i.type === 'mcp_approval_request')
      expect(request).toMatchObject({ name: 'echo', arguments: '{"text":"unstored"}' })
      up.queue({ text: 'echoed' })
      s.create({
        previous_response_id: first.response.id,
        tools: [wiki()],
        store: false,
        input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
      })
      const second = await s.terminal(2)
      expect(second.type).toBe('response.completed')
      expect(second.response.output.map((i: any) => [i.type, i.output ?? null])).toEqual([
        ['mcp_call', 'unstored'],
        ['message', null],
      ])
      expect(transcript(lastCall(up)).slice(0, 3)).toEqual([
        'user: echo',
        'call mcp__wiki__echo({"text":"unstored"})',
        'function_call_output: unstored',
      ])
      expect(await unstored.store.getResponse('default', first.response.id)).toBeNull()
      expect(await unstored.store.getResponse('default', second.response.id)).toBeNull()
    } finally {
      s.close()
      await unstored.stop()
    }
  })

  test('a request-declared server outside --mcp-allowed-hosts is a 400, and nothing is stored or called', async () => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        input: 'x',
        tools: [{ type: 'mcp', server_label: 'evil', server_url: 'http://169.254.169.254/mcp' }],
      }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ code: 'mcp_server_not_allowed', param: 'tools.0.server_url' })
    expect(up.requests.length).toBe(before)
  })

  test.each<[string, Record<string, unknown>, string, string]>([
    [
      'two servers with one label',
      {
        tools: [
          { type: 'mcp', server_label: 'a', server_url: 'http://127.0.0.1:9/mcp' },
          { type: 'mcp', server_label: 'a', server_url: 'http://127.0.0.1:9/mcp' },
        ],
      },
      'tools.1.server_label',
      'duplicate_tool_name',
    ],
    [
      'an MCP server without a label',
      { tools: [{ type: 'mcp', server_url: 'http://127.0.0.1:9/mcp' }] },
      'tools.0.server_label',
      'missing_required_parameter',
    ],
    [
      'a configured label that does not exist',
      { tools: [{ type: 'mcp', server_label: 'nowhere' }] },
      'tools.0.server_label',
      'unknown_mcp_server',
    ],
    [
      'tool_choice naming an undeclared server',
      {
        tools: [{ type: 'mcp', server_label: 'a', server_url: 'http://127.0.0.1:9/mcp' }],
        tool_choice: { type: 'mcp', server_label: 'b' },
      },
      'tool_choice.server_label',
      'unknown_tool',
    ],
  ])('%s is a 400 naming it, before anything is stored or called', async (_name, body, param, code) => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'x', ...body }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param, code })
    expect(up.requests.length).toBe(before)
  })

  const declared = (extra: Record<string, unknown>) => ({
    tools: [{ type: 'mcp', server_label: 'a', server_url: 'http://127.0.0.1:9/mcp', ...extra }],
  })
  test.each<[string, Record<string, unknown>, string]>([
    ['a label that is not a string', declared({ server_label: 5 }), 'tools.0.server_label'],
    ['a description that is not a string', declared({ server_description: 5 }), 'tools.0.server_description'],
    ['allowed_tools as one string', declared({ allowed_tools: 'echo' }), 'tools.0.allowed_tools'],
    ['allowed_tools as a number', declared({ allowed_tools: 5 }), 'tools.0.allowed_tools'],
    ['allowed_tools with a name that is not a string', declared({ allowed_tools: ['echo', 1] }), 'tools.0.allowed_tools.1'],
    ['allowed_tools.tool_names as one string', declared({ allowed_tools: { tool_names: 'echo' } }), 'tools.0.allowed_tools.tool_names'],
    ['allowed_tools.read_only as a string', declared({ allowed_tools: { read_only: 'yes' } }), 'tools.0.allowed_tools.read_only'],
    ['require_approval as an unknown word', declared({ require_approval: 'sometimes' }), 'tools.0.require_approval'],
    ['require_approval as a list', declared({ require_approval: ['never'] }), 'tools.0.require_approval'],
    ['require_approval.never as a list', declared({ require_approval: { never: ['echo'] } }), 'tools.0.require_approval.never'],
    [
      'require_approval.never.tool_names as one string',
      declared({ require_approval: { never: { tool_names: 'echo' } } }),
      'tools.0.require_approval.never.tool_names',
    ],
  ])(
    'an MCP declaration with %s is a 400 naming the field (never read as absent), before anything is called',
    async (_name, body, param) => {
      const before = up.requests.length
      const res = await fetch(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'x', ...body }),
      })
      expect(res.status).toBe(400)
      expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param })
      expect(up.requests.length).toBe(before)
    },
  )

  test('headers and authorization reach the server only: not echoed, not stored, not logged, not sent to the model', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'x' })] })
    up.queue({ text: 'ok' })
    const r = await client.responses.create({
      model: 'test-model',
      input: 'x',
      tools: [{ ...wiki(), require_approval: 'never', headers: { 'x-secret': 'hdr-secret-1' }, authorization: 'tok-secret-2' }],
    })
    expect(r.status).toBe('completed')
    expect(JSON.stringify(r)).not.toContain('secret-')
    expect(JSON.stringify(await gw.store.getResponse('default', r.id))).not.toContain('secret-')
    expect(gw.logs.join('\n')).not.toContain('secret-')
    expect(
      up.requests
        .slice(-2)
        .map((q) => JSON.stringify(q.body))
        .join(''),
    ).not.toContain('secret-')
    expect(mcp.calls.at(-1)!.headers).toMatchObject({ 'x-secret': 'hdr-secret-1', authorization: 'Bearer tok-secret-2' })
  })

  test('no byte of the credentials reaches the database: streamed, background, an approval flow in a conversation, a failing server', async () => {
    const secret = { headers: { 'x-secret': 'hdr-secret-3' }, authorization: 'tok-secret-4' }
    const tools = [{ ...wiki(), ...secret }]
    const conv = await client.conversations.create()
    up.queue({ functionCalls: [call('mcp__wiki__add', { a: 1, b: 1 })] })
    const asked = await collect(
      await client.responses.create({ model: 'test-model', input: 'add', tools, stream: true, background: true, conversation: conv.id }),
    )
    const request = asked.at(-1).response.output.find((i: any) => i.type === 'mcp_approval_request')
    up.queue({ text: 'two' })
    const approved = await collect(
      await client.responses.create({
        model: 'test-model',
        tools,
        stream: true,
        conversation: conv.id,
        input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
      }),
    )
    expect(approved.at(-1).response.output[0]).toMatchObject({ type: 'mcp_call', output: '2' })
    expect(mcp.calls.at(-1)!.headers).toMatchObject({ 'x-secret': 'hdr-secret-3', authorization: 'Bearer tok-secret-4' })
    // a server that cannot be reached: its error names it without the credentials
    up.queue({ text: 'without it' })
    const down = await client.responses.create({
      model: 'test-model',
      input: 'x',
      stream: false,
      tools: [{ type: 'mcp', server_label: 'down', server_url: `http://127.0.0.1:${await closedPort()}/mcp`, ...secret }],
    })
    expect((down.output[0] as any).error).toEqual(expect.any(String))
    expect(JSON.stringify([asked, approved, down])).not.toContain('secret-')
    expect(gw.logs.join('\n')).not.toContain('secret-')
    const files = readdirSync(gw.dir).filter((f) => f.startsWith('agentgate.db'))
    for (const f of files) expect(readFileSync(join(gw.dir, f)).includes('secret-')).toBe(false)
    const rows = [
      await gw.store.listEvents(asked[0].response.id, -1),
      await gw.store.listEvents(approved[0].response.id, -1),
      await gw.store.getResponse('default', asked[0].response.id),
      await gw.store.getResponse('default', down.id),
      await gw.store.listConversationItems('default', conv.id, { limit: 100, order: 'asc' }),
    ]
    expect(JSON.stringify(rows)).not.toContain('secret-')
  })

  test('tool_choice {type:"mcp", server_label, name} forces that tool in the first round only', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'forced' })] })
    up.queue({ text: 'done' })
    await client.responses.create({
      model: 'test-model',
      input: 'x',
      tools: [{ ...wiki(), require_approval: 'never' }],
      tool_choice: { type: 'mcp', server_label: 'wiki', name: 'echo' },
    })
    const [first, second] = modelCalls(up, 'responses').slice(-2)
    expect(first!.body.tool_choice).toEqual({ type: 'function', name: 'mcp__wiki__echo' })
    // later rounds: the model chooses (auto, the default when left out)
    expect(second!.body.tool_choice ?? 'auto').toBe('auto')
  })

  test('a background response cancelled during a tool call stops the call and ends cancelled', async () => {
    up.queue({ functionCalls: [call('mcp__wiki__slow', { ms: 30_000 })] })
    const r = await client.responses.create({
      model: 'test-model',
      input: 'bg',
      tools: [{ ...wiki(), require_approval: 'never' }],
      background: true,
    })
    await waitFor('the slow call to reach the server', () => mcp.calls.some((c) => c.tool === 'slow'))
    const cancelled = await client.responses.cancel(r.id)
    expect(cancelled.status).toBe('cancelled')
    const stored = await waitFor('the turn to end', async () => {
      const got = await client.responses.retrieve(r.id)
      return got.status !== 'in_progress' && got.status !== 'queued' && got
    })
    expect(stored.status).toBe('cancelled')
    // no second model round after the cancel
    expect(lastCall(up).body.input.some((i: any) => i.type === 'function_call_output')).toBe(false)
  })

  test('a conversation reuses its tool list and carries an approval to the next turn', async () => {
    const conv = await client.conversations.create()
    up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'conv' })] })
    const asked = await client.responses.create({ model: 'test-model', input: 'echo', tools: [wiki()], conversation: conv.id })
    expect(asked.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'mcp_approval_request'])
    const request = asked.output[1] as any
    const requests = mcp.requests.length
    up.queue({ text: 'conv done' })
    const next = await client.responses.create({
      model: 'test-model',
      tools: [wiki()],
      conversation: conv.id,
      input: [{ type: 'mcp_approval_response', approval_request_id: request.id, approve: true }],
    })
    expect(next.output.map((i) => i.type)).toEqual(['mcp_call', 'message'])
    expect(next.output[0]).toMatchObject({ output: 'conv', approval_request_id: request.id })
    // one tools/call and nothing else: the list came from the conversation
    expect(mcp.calls.at(-1)!.tool).toBe('echo')
    expect(mcp.requests.slice(requests).length).toBeLessThanOrEqual(2)
    expect(next.output.some((i) => i.type === 'mcp_list_tools')).toBe(false)
  })

  test('a shutdown past its grace period stops a running tool call: the turn ends failed', async () => {
    const drain = new Drain()
    const other = await startGateway({ upstream: up.url, drain, env: { AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1' } })
    try {
      const c = new OpenAI({ baseURL: other.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ functionCalls: [call('mcp__wiki__slow', { ms: 30_000 })] })
      const calls = mcp.calls.length
      const pending = c.responses
        .create({ model: 'test-model', input: 'x', tools: [{ ...wiki(), require_approval: 'never' }] })
        .catch((e) => e)
      await waitFor('the slow call to reach the server', () => mcp.calls.slice(calls).some((x) => x.tool === 'slow'))
      const summary = await drain.drain(50)
      expect(summary.stopped).toBe(1)
      const err = await pending
      expect(err.status).toBe(503)
      expect(err.error).toMatchObject({ code: 'shutting_down' })
    } finally {
      await other.stop()
    }
  })
})

describe('a configured MCP server (config.toml [mcp_servers.LABEL], a stdio server the gateway starts)', () => {
  test('a request names it by label alone: listed, called, answered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-mcp-'))
    const { command, args } = stdioServerCommand()
    writeFileSync(
      join(dir, 'config.toml'),
      `[mcp_servers.local]\ncommand = ${JSON.stringify(command)}\nargs = ${JSON.stringify(args)}\ndescription = "a local test server"\n`,
    )
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url, dir })
    try {
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ functionCalls: [call('mcp__local__add', { a: 20, b: 22 })] })
      up.queue({ text: 'forty-two' })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'add',
        tools: [{ type: 'mcp', server_label: 'local', require_approval: 'never' }],
      })
      expect(r.output.map((i) => i.type)).toEqual(['mcp_list_tools', 'mcp_call', 'message'])
      expect(r.output[1]).toMatchObject({ server_label: 'local', name: 'add', output: '42' })
      const offered = up.requestsTo('/v1/responses')[0]!.body.tools.find((t: any) => t.name === 'mcp__local__add')
      expect(offered.description).toContain('a local test server')
    } finally {
      await gw.stop()
      await up.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a gateway with no MCP server configured and no host allowed', () => {
  test('refuses MCP tools with the same 400s, and never loads the MCP client', async () => {
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url })
    try {
      const post = (tools: unknown[]) =>
        fetch(`${gw.baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', input: 'x', tools }),
        })
      const declared = await post([{ type: 'mcp', server_label: 'x', server_url: 'http://127.0.0.1:9/mcp' }])
      expect(declared.status).toBe(400)
      expect(((await declared.json()) as any).error).toMatchObject({ code: 'mcp_server_not_allowed', param: 'tools.0.server_url' })
      const named = await post([{ type: 'mcp', server_label: 'wiki' }])
      expect(named.status).toBe(400)
      expect(((await named.json()) as any).error).toMatchObject({ code: 'unknown_mcp_server', param: 'tools.0.server_label' })
      expect(up.requests).toHaveLength(0)
    } finally {
      await gw.stop()
      await up.stop()
    }
    // In a process of its own (the test runner has loaded everything): createGateway leaves the MCP SDK unloaded.
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-mcp-'))
    try {
      const script = join(dir, 'check.ts')
      writeFileSync(
        script,
        [
          `import { loadConfig } from ${JSON.stringify(join(import.meta.dir, '../../src/config'))}`,
          `import { createGateway } from ${JSON.stringify(join(import.meta.dir, '../../src/gateway'))}`,
          `const config = loadConfig({ flags: { '--port': '0', '--upstream': 'http://127.0.0.1:9/v1' }, env: { AGENTGATE_HOME: ${JSON.stringify(dir)} } })`,
          'const gw = await createGateway(config, { quiet: true, log: () => {} })',
          "console.log(Object.keys(require.cache).some((k) => k.includes('@modelcontextprotocol')))",
          'await gw.stop()',
        ].join('\n'),
      )
      const run = Bun.spawnSync([process.execPath, script], { stderr: 'pipe' })
      expect(run.stdout.toString().trim()).toBe('false')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('--max-tool-output-bytes', () => {
  test('a tool output past it is cut at a character boundary with a note, in the item, the store and what the model gets', async () => {
    const mcp = await startMcpServer()
    const up = startFakeUpstream()
    const gw = await startGateway({
      upstream: up.url,
      env: { AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1', AGENTGATE_MAX_TOOL_OUTPUT_BYTES: '1024' },
    })
    try {
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
      // 3000 two-byte characters: 6000 bytes; the cut at byte 1024 falls between two of them (512 kept)
      const text = 'é'.repeat(3000)
      up.queue({ functionCalls: [call('mcp__wiki__echo', { text })] })
      up.queue({ text: 'It was long.' })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'long',
        tools: [{ type: 'mcp', server_label: 'wiki', server_url: mcp.url, require_approval: 'never' }],
      })
      const output = (r.output[1] as any).output as string
      expect(output).toBe(`${'é'.repeat(512)}\n[… cut: the tool's output was 6000 bytes; --max-tool-output-bytes keeps 1024]`)
      const stored = (await gw.store.getResponse('default', r.id))!.response.output[1] as any
      expect(stored.output).toBe(output)
      expect(transcript(up.requestsTo('/v1/responses').at(-1)!).at(-1)).toBe(`function_call_output: ${output}`)
      // a short output is left whole
      up.queue({ functionCalls: [call('mcp__wiki__echo', { text: 'short' })] })
      up.queue({ text: 'ok' })
      const short = await client.responses.create({
        model: 'test-model',
        input: 'short',
        tools: [{ type: 'mcp', server_label: 'wiki', server_url: mcp.url, require_approval: 'never' }],
      })
      expect((short.output[1] as any).output).toBe('short')
    } finally {
      await gw.stop()
      await up.stop()
      await mcp.stop()
    }
  })
})
