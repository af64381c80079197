// The way back for gateway-run tools, table-driven: the model's function calls to an MCP tool or the search function
// → mcp_call / mcp_approval_request / web_search_call events, whatever shape the upstream streams them in.
import { describe, expect, test } from 'bun:test'
import type { McpServer } from '../../src/mcp'
import { GatewayTools, type McpServerPlan } from '../../src/tools/gateway'
import { GatewayCallMapper, gatewayCallMapping } from '../../src/tools/gateway-events'

type Loose = { type: string; [key: string]: any }

const server: McpServer = { label: 'wiki', source: 'request', where: 'http://127.0.0.1/mcp', description: null }
const plan: McpServerPlan = {
  label: 'wiki',
  server,
  allowedTools: undefined,
  requireApproval: 'never',
  tools: [
    { name: 'echo', description: null, input_schema: { type: 'object' }, annotations: null },
    { name: 'delete', description: null, input_schema: { type: 'object' }, annotations: null },
  ],
}
const gateway = new GatewayTools(new Set(['lookup']), new Map([['wiki', plan]]), {
  type: 'web_search',
  allowedDomains: undefined,
  limit: 5,
})
// `delete` needs approval, the rest not
const mapper = () => new GatewayCallMapper(gateway, (_policy, name) => name === 'delete')
const run = (events: any[]): Loose[] => {
  const m = mapper()
  return events.flatMap((e) => m.map(e))
}

function callEvents(name: string, args: string, opts: { added?: boolean; id?: string | null } = {}) {
  const id = opts.id === undefined ? 'u1' : opts.id
  const item = { id, type: 'function_call', call_id: 'c1', name, arguments: '', status: 'in_progress' }
  return [
    ...(opts.added === false ? [] : [{ type: 'response.output_item.added', output_index: 0, item }]),
    { type: 'response.function_call_arguments.delta', item_id: id, output_index: 0, delta: args.slice(0, 4) },
    { type: 'response.function_call_arguments.delta', item_id: id, output_index: 0, delta: args.slice(4) },
    { type: 'response.function_call_arguments.done', item_id: id, output_index: 0, arguments: args },
    { type: 'response.output_item.done', output_index: 0, item: { ...item, arguments: args, status: 'completed' } },
  ]
}

// The engine maps each event of a batch in its own loop (no generator layer per mapping): only with gateway tools.
test('gatewayCallMapping: none without gateway tools; with them, the mapper of their calls', () => {
  expect(gatewayCallMapping(null, () => false)).toBeNull()
  const m = gatewayCallMapping(gateway, () => false)
  expect(m).toBeInstanceOf(GatewayCallMapper)
  const out = callEvents('mcp__wiki__echo', '{"text":"hi"}').flatMap((e) => m!.map(e as any)) as Loose[]
  expect(out.some((e) => e.item?.type === 'mcp_call')).toBe(true)
})

describe('GatewayCallMapper', () => {
  test('an MCP call: mcp_call announced, its arguments streamed as mcp_call_arguments, finished in_progress (to run)', () => {
    const out = run(callEvents('mcp__wiki__echo', '{"text":"hi"}'))
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.mcp_call_arguments.delta',
      'response.mcp_call_arguments.delta',
      'response.mcp_call_arguments.done',
      'response.output_item.done',
    ])
    expect(out[0]!.item).toMatchObject({ type: 'mcp_call', server_label: 'wiki', name: 'echo', arguments: '', status: 'in_progress' })
    expect(out[3]!.arguments).toBe('{"text":"hi"}')
    expect(out[4]!.item).toMatchObject({ type: 'mcp_call', arguments: '{"text":"hi"}', status: 'in_progress', output: null })
  })

  test('a call needing approval: an mcp_approval_request, added and done, no argument events', () => {
    const out = run(callEvents('mcp__wiki__delete', '{"id":1}'))
    expect(out.map((e) => e.type)).toEqual(['response.output_item.added', 'response.output_item.done'])
    expect(out[1]!.item).toEqual({ id: 'u1', type: 'mcp_approval_request', server_label: 'wiki', name: 'delete', arguments: '{"id":1}' })
  })

  test('a search: web_search_call in_progress at once, the query only on the finished item', () => {
    const out = run(callEvents('web_search', '{"query":"bun"}'))
    expect(out.map((e) => e.type)).toEqual([
      'response.output_item.added',
      'response.web_search_call.in_progress',
      'response.output_item.done',
    ])
    expect(out[0]!.item).toEqual({ id: 'u1', type: 'web_search_call', status: 'in_progress' })
    expect(out[2]!.item).toEqual({ id: 'u1', type: 'web_search_call', status: 'in_progress', action: { type: 'search', query: 'bun' } })
  })

  test('a call announced only when done is announced first, then finished', () => {
    const out = run(callEvents('mcp__wiki__echo', '{"text":"x"}', { added: false }).slice(-1))
    expect(out.map((e) => e.type)).toEqual(['response.output_item.added', 'response.mcp_call_arguments.done', 'response.output_item.done'])
    expect(out[2]!.item.arguments).toBe('{"text":"x"}')
  })

  test("vLLM's Harmony path (no item ids) is matched by output index", () => {
    const out = run(callEvents('mcp__wiki__echo', '{"text":"h"}', { id: null }))
    expect(out.filter((e) => e.type === 'response.mcp_call_arguments.delta')).toHaveLength(2)
    expect(out.at(-1)!.item).toMatchObject({ type: 'mcp_call', arguments: '{"text":"h"}' })
  })

  test("the client's own calls and text pass untouched", () => {
    const events = callEvents('lookup', '{"id":7}')
    expect(run(events)).toEqual(events)
  })

  test('items listed only in the final object are mapped too', () => {
    const [ev] = run([
      {
        type: 'response.completed',
        response: { output: [{ id: 'u9', type: 'function_call', call_id: 'c9', name: 'web_search', arguments: '{"query":"q"}' }] },
      },
    ])
    expect(ev!.response.output).toEqual([
      { id: 'u9', type: 'web_search_call', status: 'in_progress', action: { type: 'search', query: 'q' } },
    ])
  })
})
