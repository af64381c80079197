// The Open Responses compliance cases (openresponses/openresponses, its core set: basic, streaming, system
// prompt, tool calling with and without streaming, the function-call round trip, image and file input,
// multi-turn, previous_response_id) run against the gateway with each upstream adapter; every Response
// object the client can see — JSON answer, GET /v1/responses/{id}, the response of each response.* event over
// SSE and WebSocket — must fit the specification's ResponseResource schema (test/support/open-responses.ts).
import { describe, expect, test } from 'bun:test'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { openSocket } from '../support/ws-client'
import { conformanceErrors } from '../support/open-responses'
import { useGateway } from '../support/suite'
import { UPSTREAM_APIS } from '../support/upstream-view'
import { sseBody } from '../support/sse'

const WEATHER_TOOL = {
  type: 'function',
  name: 'get_weather',
  description: 'Get the current weather for a location',
  parameters: {
    type: 'object',
    properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' } },
    required: ['location'],
  },
}
const RED_HEART_PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=='
const TINY_PDF = `data:application/pdf;base64,${Buffer.from('%PDF-1.1\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF').toString('base64')}`

/** Every Response object a stream carries (response.created, .in_progress, .completed, …) must conform. */
function expectConformingEvents(events: any[]) {
  expect(events.length).toBeGreaterThan(0)
  events.forEach((e, i) => {
    expect(typeof e.type).toBe('string')
    expect(e.sequence_number).toBe(i)
    if (e.response) expect({ event: e.type, errors: conformanceErrors(e.response) }).toEqual({ event: e.type, errors: [] })
  })
}

for (const api of UPSTREAM_APIS) {
  describe(`Open Responses compliance, upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, gw } = s))

    const post = (body: Record<string, unknown>) =>
      fetch(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
        body: JSON.stringify(body),
      })

    /** The JSON answer must conform, and so must the stored one (GET /v1/responses/{id}). */
    async function conformingResponse(body: Record<string, unknown>): Promise<any> {
      const res = await post({ ...body, stream: false })
      const json: any = await res.json()
      expect({ status: res.status, error: json.error ?? null }).toEqual({ status: 200, error: null })
      expect(conformanceErrors(json)).toEqual([])
      const stored: any = await (await fetch(`${gw.baseURL}/responses/${json.id}`)).json()
      expect(conformanceErrors(stored)).toEqual([])
      expect(stored.tools).toEqual(json.tools)
      return json
    }

    test('basic-response: a user message gives a completed response with output', async () => {
      up.queue({ text: 'Hello there, friend.' })
      const r = await conformingResponse({
        model: 'test-model',
        input: [{ type: 'message', role: 'user', content: 'Say hello in exactly 3 words.' }],
      })
      expect(r.status).toBe('completed')
      expect(r.output.length).toBeGreaterThan(0)
    })

    test('streaming-response: every event is numbered and every response in them conforms', async () => {
      up.queue({ text: '1 2 3 4 5' })
      const events = await sseBody(
        await post({ model: 'test-model', input: [{ type: 'message', role: 'user', content: 'Count from 1 to 5.' }], stream: true }),
      )
      expectConformingEvents(events)
      expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } })
    })

    test('system-prompt: a system message in input', async () => {
      up.queue({ text: 'Ahoy!' })
      const r = await conformingResponse({
        model: 'test-model',
        input: [
          { type: 'message', role: 'system', content: 'You are a pirate. Always respond in pirate speak.' },
          { type: 'message', role: 'user', content: 'Say hello.' },
        ],
      })
      expect(r.status).toBe('completed')
    })

    test('tool-calling: a function tool is echoed in the response shape and the call comes back as a function_call', async () => {
      up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' }] })
      const r = await conformingResponse({
        model: 'test-model',
        input: [{ type: 'message', role: 'user', content: "What's the weather like in San Francisco?" }],
        tools: [WEATHER_TOOL],
      })
      expect(r.output.map((i: any) => i.type)).toContain('function_call')
      expect(r.tools).toEqual([{ ...WEATHER_TOOL, strict: null }])
    })

    test('tool-calling-streaming: function_call items and argument events, conforming responses', async () => {
      up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' }] })
      const events = await sseBody(
        await post({
          model: 'test-model',
          input: [{ type: 'message', role: 'user', content: "What's the weather like in San Francisco?" }],
          tools: [WEATHER_TOOL],
          stream: true,
        }),
      )
      expectConformingEvents(events)
      const types = events.map((e) => e.type)
      expect(events.some((e) => e.type === 'response.output_item.added' && e.item?.type === 'function_call')).toBe(true)
      expect(types).toContain('response.function_call_arguments.delta')
      expect(types).toContain('response.function_call_arguments.done')
      expect(events.some((e) => e.type === 'response.output_item.done' && e.item?.type === 'function_call')).toBe(true)
      for (const e of events.filter((e) => e.response)) expect(e.response.tools).toEqual([{ ...WEATHER_TOOL, strict: null }])
    })

    test('function-call-roundtrip: a forced call, then its function_call_output on previous_response_id', async () => {
      up.queue(
        { functionCalls: [{ name: 'get_weather', arguments: '{"location":"San Francisco, CA"}', call_id: 'call_sf' }] },
        { text: 'It is 64 degrees and clear.' },
      )
      const first = await conformingResponse({
        model: 'test-model',
        input: 'Use the weather tool to get the temperature in San Francisco.',
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'function', name: 'get_weather' },
      })
      const call = first.output.find((i: any) => i.type === 'function_call')
      expect(call.call_id).toBe('call_sf')
      const second = await conformingResponse({
        model: 'test-model',
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: '64 degrees and clear' }],
      })
      expect(second.status).toBe('completed')
      expect(second.output.length).toBeGreaterThan(0)
    })

    test('image-input: an input_image data URL in user content', async () => {
      up.queue({ text: 'A red heart.' })
      const r = await conformingResponse({
        model: 'test-model',
        input: [
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'What do you see in this image?' },
              { type: 'input_image', image_url: RED_HEART_PNG },
            ],
          },
        ],
      })
      expect(r.status).toBe('completed')
    })

    test('file-input: an input_file with base64 file_data', async () => {
      up.queue({ text: 'OpenResponses File Input Fixture' })
      const r = await conformingResponse({
        model: 'test-model',
        input: [
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'Answer with the title only.' },
              { type: 'input_file', filename: 'fixture.pdf', file_data: TINY_PDF },
            ],
          },
        ],
      })
      expect(r.status).toBe('completed')
    })

    test('multi-turn: assistant and user messages as history', async () => {
      up.queue({ text: 'Your name is Alice.' })
      const r = await conformingResponse({
        model: 'test-model',
        input: [
          { type: 'message', role: 'user', content: 'My name is Alice.' },
          { type: 'message', role: 'assistant', content: 'Hello Alice! Nice to meet you.' },
          { type: 'message', role: 'user', content: 'What is my name?' },
        ],
      })
      expect(r.status).toBe('completed')
    })

    test('previous-response-id: a second turn continues the first', async () => {
      up.queue({ text: 'OK' }, { text: 'papaya' })
      const first = await conformingResponse({ model: 'test-model', input: 'Remember this code word: papaya. Reply with only OK.' })
      const second = await conformingResponse({
        model: 'test-model',
        previous_response_id: first.id,
        input: 'What code word did I ask you to remember?',
      })
      expect(second.previous_response_id).toBe(first.id)
      expect(second.output_text).toBe('papaya')
    })

    test('over WebSocket, the response of every response.* frame conforms, tools included', async () => {
      up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"location":"Paris"}' }] })
      const ws = await openSocket(gw.url)
      ws.create({ input: 'Weather in Paris?', tools: [WEATHER_TOOL] })
      await ws.terminal(1, 10_000)
      ws.close()
      const { frames } = ws
      expectConformingEvents(frames)
      expect(frames.at(-1).response.tools).toEqual([{ ...WEATHER_TOOL, strict: null }])
    })
  })
}

describe('tools echoed in the Response', () => {
  let gw: TestGateway
  // The MCP server is one the gateway may call (loopback allowed) that is not there: its list fails, the turn answers.
  useGateway({ gateway: { env: { AGENTGATE_MCP_ALLOWED_HOSTS: '127.0.0.1' } } }, (s) => ({ gw } = s))

  test("every tool type is shown in OpenAI's response shape: all keys present, defaults filled, credentials left out", async () => {
    const params = { type: 'object', properties: {} }
    const tools = [
      { type: 'function', name: 'bare' },
      { type: 'function', name: 'full', description: 'd', parameters: params, strict: false, defer_loading: true },
      { type: 'custom', name: 'apply_patch', description: 'patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
      { type: 'custom', name: 'free' },
      {
        type: 'namespace',
        name: 'multi_agent',
        description: 'agents',
        tools: [
          { type: 'function', name: 'spawn' },
          { type: 'custom', name: 'note' },
        ],
      },
      { type: 'web_search', external_web_access: false },
      { type: 'web_search_preview' },
      { type: 'file_search', vector_store_ids: ['vs_1'] },
      {
        type: 'mcp',
        server_label: 'wiki',
        server_url: 'http://127.0.0.1:9/sse',
        authorization: 'secret-token',
        headers: { 'x-api-key': 'secret-key' },
      },
      { type: 'tool_search' },
      { type: 'local_shell' },
      { type: 'shell' },
      { type: 'apply_patch' },
      { type: 'code_interpreter', container: { type: 'auto' } },
      { type: 'image_generation' },
    ]
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'hi', tools }),
    })
    const r: any = await res.json()
    expect(res.status).toBe(200)
    const want = [
      { type: 'function', name: 'bare', description: null, parameters: null, strict: null },
      { type: 'function', name: 'full', description: 'd', parameters: params, strict: false, defer_loading: true },
      { type: 'custom', name: 'apply_patch', description: 'patch', format: { type: 'grammar', syntax: 'lark', definition: 'start: "x"' } },
      { type: 'custom', name: 'free', description: null, format: { type: 'text' } },
      {
        type: 'namespace',
        name: 'multi_agent',
        description: 'agents',
        tools: [
          { type: 'function', name: 'spawn', description: null, parameters: null, strict: null },
          { type: 'custom', name: 'note', description: null, format: { type: 'text' } },
        ],
      },
      { type: 'web_search', filters: null, search_context_size: 'medium', user_location: null, external_web_access: false },
      { type: 'web_search_preview', search_context_size: 'medium', user_location: null },
      {
        type: 'file_search',
        vector_store_ids: ['vs_1'],
        filters: null,
        max_num_results: 20,
        ranking_options: { ranker: 'auto', score_threshold: 0 },
      },
      {
        type: 'mcp',
        server_label: 'wiki',
        allowed_tools: null,
        headers: null,
        require_approval: 'always',
        server_description: null,
        server_url: 'http://127.0.0.1:9/sse',
      },
      { type: 'tool_search', description: null, parameters: null },
      { type: 'local_shell' },
      { type: 'shell' },
      { type: 'apply_patch' },
      { type: 'code_interpreter', container: { type: 'auto' } },
      { type: 'image_generation' },
    ]
    expect(r.tools).toEqual(want)
    expect(JSON.stringify(r)).not.toContain('secret')
    const stored: any = await (await fetch(`${gw.baseURL}/responses/${r.id}`)).json()
    expect(stored.tools).toEqual(want)
  })
})
