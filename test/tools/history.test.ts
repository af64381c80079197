// History and input items as the upstream gets them: every tool item as function_call(_output).
import { describe, expect, test } from 'bun:test'
import { buildToolRegistry, toUpstreamItems } from '../../src/tools'
import { formatSearchResults } from '../../src/websearch'
import { codexToolRegistry } from '../support/tool-registry'

const reg = codexToolRegistry()
const none = buildToolRegistry(undefined)

describe('toUpstreamItems', () => {
  test.each<[string, any, any]>([
    [
      'a custom tool call → function_call with {input}',
      {
        id: 'ctc_1',
        type: 'custom_tool_call',
        status: 'completed',
        call_id: 'call_1',
        name: 'apply_patch',
        input: '*** Begin Patch\n*** End Patch\n',
      },
      {
        id: 'ctc_1',
        type: 'function_call',
        status: 'completed',
        call_id: 'call_1',
        name: 'apply_patch',
        arguments: '{"input":"*** Begin Patch\\n*** End Patch\\n"}',
      },
    ],
    [
      'its output → function_call_output',
      { id: 'ctco_1', type: 'custom_tool_call_output', call_id: 'call_1', output: 'Success.' },
      { id: 'ctco_1', type: 'function_call_output', call_id: 'call_1', output: 'Success.' },
    ],
    [
      'a namespaced call → the flat name, no namespace key',
      { id: 'fc_1', type: 'function_call', call_id: 'c', name: 'close_agent', namespace: 'multi_agent_v1', arguments: '{"target":"a"}' },
      { id: 'fc_1', type: 'function_call', call_id: 'c', name: 'multi_agent_v1__close_agent', arguments: '{"target":"a"}' },
    ],
    [
      'a local_shell_call → function_call with its action as arguments',
      {
        id: 'lsh_1',
        type: 'local_shell_call',
        call_id: 'c',
        status: 'completed',
        action: { type: 'exec', command: ['ls', '-la'], env: {}, timeout_ms: 1000, user: null, working_directory: '/tmp' },
      },
      {
        id: 'lsh_1',
        type: 'function_call',
        status: 'completed',
        call_id: 'c',
        name: 'local_shell',
        arguments: '{"command":["ls","-la"],"working_directory":"/tmp","timeout_ms":1000}',
      },
    ],
    [
      'a local_shell_call_output (call id in `id`) → function_call_output',
      { id: 'call_9', type: 'local_shell_call_output', output: 'total 0' },
      { id: 'call_9', type: 'function_call_output', call_id: 'call_9', output: 'total 0' },
    ],
    [
      'a shell_call → function_call',
      { id: 'sh_1', type: 'shell_call', call_id: 'c', action: { commands: ['pwd'], timeout_ms: null, max_output_length: null } },
      { id: 'sh_1', type: 'function_call', call_id: 'c', name: 'shell', arguments: '{"commands":["pwd"]}' },
    ],
    [
      'a shell_call_output → function_call_output with its results as text',
      {
        id: 'x',
        type: 'shell_call_output',
        call_id: 'c',
        output: [{ stdout: '/tmp\n', stderr: '', outcome: { type: 'exit', exit_code: 0 } }],
      },
      { id: 'x', type: 'function_call_output', call_id: 'c', output: '/tmp\n\n[exit code 0]' },
    ],
    [
      "Codex's reasoning item with explicit nulls: the nulls are dropped",
      { type: 'reasoning', id: 'rs_1', summary: [], content: null, encrypted_content: null },
      { type: 'reasoning', id: 'rs_1', summary: [] },
    ],
    [
      'a reasoning item without summary gets one',
      { type: 'reasoning', id: 'rs_1', content: [{ type: 'reasoning_text', text: 'hm' }] },
      { type: 'reasoning', id: 'rs_1', content: [{ type: 'reasoning_text', text: 'hm' }], summary: [] },
    ],
    [
      'a plain function call passes untouched',
      { id: 'fc_1', type: 'function_call', call_id: 'c', name: 'exec_command', arguments: '{}' },
      { id: 'fc_1', type: 'function_call', call_id: 'c', name: 'exec_command', arguments: '{}' },
    ],
  ])('%s', (_n, item, want) => {
    expect(toUpstreamItems([item], reg)).toEqual([want])
  })

  test('a tool the current request no longer declares is translated by item type anyway', () => {
    expect(
      toUpstreamItems(
        [
          { id: 'ctc_1', type: 'custom_tool_call', call_id: 'c', name: 'apply_patch', input: 'x' },
          { id: 'fc_1', type: 'function_call', call_id: 'd', name: 'close_agent', namespace: 'multi_agent_v1', arguments: '{}' },
          { id: 'lsh_1', type: 'local_shell_call', call_id: 'e', action: { type: 'exec', command: ['true'] } },
        ],
        none,
      ),
    ).toEqual([
      { id: 'ctc_1', type: 'function_call', call_id: 'c', name: 'apply_patch', arguments: '{"input":"x"}' },
      { id: 'fc_1', type: 'function_call', call_id: 'd', name: 'multi_agent_v1__close_agent', arguments: '{}' },
      { id: 'lsh_1', type: 'function_call', call_id: 'e', name: 'local_shell', arguments: '{"command":["true"]}' },
    ])
  })

  test('items of hosted tools the gateway does not run are left out; messages are kept as they are', () => {
    const msg = { id: 'msg_1', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }
    expect(
      toUpstreamItems(
        [
          msg,
          { id: 'fs_1', type: 'file_search_call', status: 'completed', queries: ['q'] },
          { id: 'mcpl_1', type: 'mcp_list_tools', server_label: 'wiki', tools: [], error: null },
        ],
        reg,
      ),
    ).toEqual([msg])
  })
})

describe('toUpstreamItems: the items of gateway-run tools, as the calls and outputs the model saw', () => {
  const call = (id: string, name: string, args: string) => ({ id, type: 'function_call', call_id: id, name, arguments: args })
  const out = (id: string, output: string) => ({ id: `${id}_output`, type: 'function_call_output', call_id: id, output })
  const request = { id: 'mcpr_1', type: 'mcp_approval_request', server_label: 'wiki', name: 'search', arguments: '{"q":"x"}' }

  test.each<[string, any[], any[]]>([
    [
      'an mcp_call → its call and its output',
      [{ id: 'mcp_1', type: 'mcp_call', server_label: 'wiki', name: 'search', arguments: '{"q":"x"}', output: 'found', error: null }],
      [call('mcp_1', 'mcp__wiki__search', '{"q":"x"}'), out('mcp_1', 'found')],
    ],
    [
      'a failed mcp_call → its error as the output',
      [{ id: 'mcp_1', type: 'mcp_call', server_label: 'wiki', name: 'search', arguments: '{}', output: null, error: 'boom' }],
      [call('mcp_1', 'mcp__wiki__search', '{}'), out('mcp_1', 'Error: boom')],
    ],
    ['an approval request nobody answered → nothing', [request], []],
    [
      'an approved request → the call, answered by the mcp_call that ran it',
      [
        request,
        { id: 'mcpa_1', type: 'mcp_approval_response', approval_request_id: 'mcpr_1', approve: true },
        {
          id: 'mcp_2',
          type: 'mcp_call',
          server_label: 'wiki',
          name: 'search',
          arguments: '{"q":"x"}',
          output: 'ok',
          approval_request_id: 'mcpr_1',
        },
      ],
      [call('mcpr_1', 'mcp__wiki__search', '{"q":"x"}'), out('mcpr_1', 'ok')],
    ],
    [
      'a denied request → the call, with an output saying so (and why)',
      [request, { id: 'mcpa_1', type: 'mcp_approval_response', approval_request_id: 'mcpr_1', approve: false, reason: 'not now' }],
      [
        call('mcpr_1', 'mcp__wiki__search', '{"q":"x"}'),
        out('mcpr_1', 'The user denied this call: not now Do not retry it; answer without it.'),
      ],
    ],
    [
      'a web_search_call with its sources and snippets → the search and the results as the model saw them',
      [
        {
          id: 'ws_1',
          type: 'web_search_call',
          status: 'completed',
          action: { type: 'search', query: 'bun', sources: [{ type: 'url', url: 'https://bun.sh/', title: 'Bun', snippet: 'A runtime.' }] },
        },
      ],
      [
        call('ws_1', 'web_search', '{"query":"bun"}'),
        out('ws_1', formatSearchResults('bun', [{ url: 'https://bun.sh/', title: 'Bun', snippet: 'A runtime.' }])),
      ],
    ],
    [
      'a web_search_call with its sources → the search and the sources',
      [
        {
          id: 'ws_1',
          type: 'web_search_call',
          status: 'completed',
          action: { type: 'search', query: 'bun', sources: [{ type: 'url', url: 'https://bun.sh/', title: 'Bun' }] },
        },
      ],
      [
        call('ws_1', 'web_search', '{"query":"bun"}'),
        out('ws_1', 'Results of the web search for "bun" (given in an earlier turn; snippets not kept):\n1. Bun — https://bun.sh/'),
      ],
    ],
    [
      'a web_search_call that found nothing → the search and "No results.", as the model saw it',
      [{ id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'bun', sources: [] } }],
      [call('ws_1', 'web_search', '{"query":"bun"}'), out('ws_1', 'No results.')],
    ],
    [
      'a web_search_call stored without its sources (before the gateway kept them) → the search and a note to search again',
      [{ id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'bun' } }],
      [
        call('ws_1', 'web_search', '{"query":"bun"}'),
        out(
          'ws_1',
          'The results of the web search for "bun" were given in an earlier turn and are not kept; search again if you need them.',
        ),
      ],
    ],
  ])('%s', (_name, items, want) => {
    expect(toUpstreamItems(items, none)).toEqual(want)
  })

  test('tool names are the current turn’s (a client tool may have taken the default one)', () => {
    const names = { mcpFunctionName: () => 'mcp__wiki__search_2', webSearchName: 'web_search_2', searchOutput: () => 'the results' }
    expect(
      toUpstreamItems(
        [
          { id: 'mcp_1', type: 'mcp_call', server_label: 'wiki', name: 'search', arguments: '{}', output: 'o' },
          { id: 'ws_1', type: 'web_search_call', status: 'completed', action: { type: 'search', query: 'q' } },
        ],
        none,
        names,
      ),
    ).toEqual([
      call('mcp_1', 'mcp__wiki__search_2', '{}'),
      out('mcp_1', 'o'),
      call('ws_1', 'web_search_2', '{"query":"q"}'),
      out('ws_1', 'the results'),
    ])
  })
})
