// POST /v1/messages through the real HTTP surface with the @anthropic-ai/sdk client, against both upstream wire
// APIs: text, streaming, tool round trips, thinking, images, stop sequences, max_tokens and the error envelope.
import { describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { modelCalls, UPSTREAM_APIS } from '../support/upstream-view'

const MODEL = 'claude-sonnet-4-6'
const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: Anthropic
    const calls = () => modelCalls(up, api)
    const lastCall = () => calls().at(-1)!.body

    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => {
      ;({ up, gw } = s)
      client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 })
    })

    test('a text answer is a message with end_turn, usage and the asked model id; the upstream model serves it', async () => {
      up.queue({ text: 'Hello there, friend.', usage: { input_tokens: 11, output_tokens: 4, cached_tokens: 3 } })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Say hello' }],
      })
      expect(m.id).toMatch(/^msg_/)
      expect(m.type).toBe('message')
      expect(m.role).toBe('assistant')
      expect(m.model).toBe(MODEL)
      expect(m.content).toEqual([{ type: 'text', text: 'Hello there, friend.' }] as any)
      expect(m.stop_reason).toBe('end_turn')
      expect(m.stop_sequence).toBeNull()
      expect(m.usage).toMatchObject({ input_tokens: 8, output_tokens: 4, cache_read_input_tokens: 3 })
      const sent = lastCall()
      expect(sent.model).toBe('test-model')
      if (api === 'responses') {
        expect(sent.instructions).toBe('Be brief.')
        expect(sent.max_output_tokens).toBe(100)
      } else {
        expect(sent.messages[0]).toEqual({ role: 'system', content: 'Be brief.' })
        expect(sent.max_tokens).toBe(100)
      }
    })

    test('a streamed answer arrives as message_start, a text block with deltas, message_delta and message_stop', async () => {
      up.queue({ text: 'one two three four' })
      const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'Count' }] })
      const types: string[] = []
      const deltas: string[] = []
      for await (const ev of stream) {
        types.push(ev.type)
        if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') deltas.push(ev.delta.text)
      }
      const m = await stream.finalMessage()
      expect(types[0]).toBe('message_start')
      expect(types.slice(-2)).toEqual(['message_delta', 'message_stop'])
      expect(types.filter((t) => t === 'content_block_start').length).toBe(1)
      expect(deltas.length).toBeGreaterThan(1)
      expect(deltas.join('')).toBe('one two three four')
      expect(m.content).toEqual([{ type: 'text', text: 'one two three four' }] as any)
      expect(m.stop_reason).toBe('end_turn')
    })

    test('a tool call becomes a tool_use block, streamed as input_json_delta, and its tool_result goes back as the call output', async () => {
      up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'toolu_a1' }] })
      const tools: Anthropic.Tool[] = [
        {
          name: 'get_weather',
          description: 'Weather of a city',
          input_schema: { type: 'object', properties: { city: { type: 'string' } } },
        },
      ]
      const stream = client.messages.stream({
        model: MODEL,
        max_tokens: 100,
        tools,
        messages: [{ role: 'user', content: 'Weather in Paris?' }],
      })
      const json: string[] = []
      stream.on('inputJson', (partial) => json.push(partial))
      const m = await stream.finalMessage()
      expect(json.length).toBeGreaterThan(1)
      expect(m.stop_reason).toBe('tool_use')
      expect(m.content).toEqual([{ type: 'tool_use', id: 'toolu_a1', name: 'get_weather', input: { city: 'Paris' } }] as any)
      const sentTools = lastCall().tools
      expect(JSON.stringify(sentTools)).toContain('get_weather')

      up.queue({ text: 'It is sunny.' })
      const m2 = await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        tools,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: m.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_a1', content: 'sunny, 21C' }] },
        ],
      })
      expect(m2.content).toEqual([{ type: 'text', text: 'It is sunny.' }] as any)
      const sent = lastCall()
      if (api === 'responses') {
        expect(sent.input.find((i: any) => i.type === 'function_call')).toMatchObject({
          call_id: 'toolu_a1',
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
        })
        expect(sent.input.find((i: any) => i.type === 'function_call_output')).toMatchObject({ call_id: 'toolu_a1', output: 'sunny, 21C' })
      } else {
        expect(sent.messages.find((x: any) => x.role === 'assistant').tool_calls[0]).toMatchObject({
          id: 'toolu_a1',
          function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
        })
        expect(sent.messages.find((x: any) => x.role === 'tool')).toMatchObject({ tool_call_id: 'toolu_a1', content: 'sunny, 21C' })
      }
    })

    test('parallel tool calls are several tool_use blocks; their results (one an error, one in blocks) all go back', async () => {
      up.queue({
        functionCalls: [
          { name: 'read', arguments: '{"path":"a"}', call_id: 'toolu_p1' },
          { name: 'read', arguments: '{"path":"b"}', call_id: 'toolu_p2' },
        ],
      })
      const tools: Anthropic.Tool[] = [{ name: 'read', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }]
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        tools,
        messages: [{ role: 'user', content: 'Read a and b' }],
      })
      expect(m.content.map((b: any) => [b.type, b.id, b.input])).toEqual([
        ['tool_use', 'toolu_p1', { path: 'a' }],
        ['tool_use', 'toolu_p2', { path: 'b' }],
      ])
      expect(m.stop_reason).toBe('tool_use')
      up.queue({ text: 'Done.' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        tools,
        messages: [
          { role: 'user', content: 'Read a and b' },
          { role: 'assistant', content: m.content },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_p1', content: 'no such file', is_error: true },
              { type: 'tool_result', tool_use_id: 'toolu_p2', content: [{ type: 'text', text: 'contents of b' }] },
              { type: 'text', text: 'Go on.' },
            ],
          },
        ],
      })
      const sent = lastCall()
      const outputs =
        api === 'responses'
          ? sent.input.filter((i: any) => i.type === 'function_call_output').map((i: any) => [i.call_id, i.output])
          : sent.messages.filter((x: any) => x.role === 'tool').map((x: any) => [x.tool_call_id, x.content])
      expect(outputs).toEqual([
        ['toolu_p1', 'Error: no such file'],
        ['toolu_p2', 'contents of b'],
      ])
    })

    test('reasoning comes back as a signed thinking block; sent back, it reaches the model again, a forged one does not', async () => {
      up.queue({ reasoning: 'The user wants a number.', text: '42' })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'Pick a number' }],
      })
      const thinking = m.content[0] as Anthropic.ThinkingBlock
      expect(thinking.type).toBe('thinking')
      expect(thinking.thinking).toBe('The user wants a number.')
      expect(thinking.signature.length).toBeGreaterThan(20)
      expect(m.content[1]).toEqual({ type: 'text', text: '42' } as any)
      const reasoningSent = () => {
        const sent = lastCall()
        return api === 'responses'
          ? sent.input.filter((i: any) => i.type === 'reasoning').map((i: any) => i.content[0].text)
          : sent.messages.filter((x: any) => x.reasoning_content).map((x: any) => x.reasoning_content)
      }
      const history = (block: Anthropic.ThinkingBlock): Anthropic.MessageParam[] => [
        { role: 'user', content: 'Pick a number' },
        { role: 'assistant', content: [block, { type: 'text', text: '42' }] },
        { role: 'user', content: 'Why?' },
      ]
      up.queue({ text: 'Because.' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: history(thinking),
      })
      expect(reasoningSent()).toEqual(['The user wants a number.'])
      up.queue({ text: 'Because.' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 2000,
        messages: history({ ...thinking, thinking: 'Forged', signature: flipChar(thinking.signature, 8) }),
      })
      expect(reasoningSent()).toEqual([])
    })

    test('streamed thinking arrives as thinking_delta then signature_delta; display omitted sends the signature only', async () => {
      up.queue({ reasoning: 'Think it through.', text: 'Yes.' })
      const kinds: string[] = []
      const stream = client.messages.stream({
        model: MODEL,
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 2048 },
        messages: [{ role: 'user', content: 'Q' }],
      })
      for await (const ev of stream) if (ev.type === 'content_block_delta') kinds.push(ev.delta.type)
      expect(kinds.indexOf('thinking_delta')).toBeLessThan(kinds.indexOf('signature_delta'))
      expect(kinds).toContain('text_delta')
      up.queue({ reasoning: 'Hidden thoughts.', text: 'Yes.' })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 2000,
        thinking: { type: 'adaptive', display: 'omitted' } as any,
        messages: [{ role: 'user', content: 'Q' }],
      })
      expect(m.content[0]).toMatchObject({ type: 'thinking', thinking: '' })
      // The reasoning travels in the signature: sent back with an empty thinking, the model still gets it.
      up.queue({ text: 'ok' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: m.content },
          { role: 'user', content: 'more' },
        ],
      })
      expect(JSON.stringify(lastCall())).toContain('Hidden thoughts.')
    })

    test('images (base64 and URL) reach the model as images', async () => {
      up.queue({ text: 'A red dot.' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      })
      const text = JSON.stringify(lastCall())
      expect(text).toContain('data:image/png;base64,iVBORw0KGgo=')
      expect(text).toContain('https://example.com/cat.png')
    })

    test('a stop sequence ends the text before it, with stop_reason stop_sequence, streamed or not', async () => {
      up.queue({ text: 'alpha beta END gamma delta' })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        stop_sequences: ['END'],
        messages: [{ role: 'user', content: 'Go' }],
      })
      expect(m.content).toEqual([{ type: 'text', text: 'alpha beta ' }] as any)
      expect(m.stop_reason).toBe('stop_sequence')
      expect(m.stop_sequence).toBe('END')
      expect(lastCall().stop).toEqual(['END'])
      // Split across deltas: "E", "ND" must not leak the first half.
      up.queue({ text: 'alpha beta END gamma', chunks: 7 })
      const stream = client.messages.stream({
        model: MODEL,
        max_tokens: 100,
        stop_sequences: ['END'],
        messages: [{ role: 'user', content: 'Go' }],
      })
      let streamed = ''
      for await (const ev of stream) if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta') streamed += ev.delta.text
      expect(streamed).toBe('alpha beta ')
      expect((await stream.finalMessage()).stop_reason).toBe('stop_sequence')
    })

    test('an answer cut by max_tokens ends with stop_reason max_tokens', async () => {
      up.queue({ text: 'This is cut', status: 'incomplete' })
      const m = await client.messages.create({ model: MODEL, max_tokens: 3, messages: [{ role: 'user', content: 'Write a lot' }] })
      expect(m.stop_reason).toBe('max_tokens')
      expect(m.content).toEqual([{ type: 'text', text: 'This is cut' }] as any)
    })

    test('a role:system message among the turns stays in place as a system message', async () => {
      up.queue({ text: 'ok' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: '# Environment' } as any],
      })
      const sent = lastCall()
      if (api === 'responses') expect(sent.input.map((i: any) => i.role)).toEqual(['user', 'developer'])
      else expect(sent.messages.map((m: any) => m.role)).toEqual(['user', 'system'])
    })

    test('upstream failures come back as Anthropic error types: 429 rate_limit_error, 500 api_error, 529 overloaded_error', async () => {
      const cases: [number, number, string, any][] = [
        [429, 429, 'rate_limit_error', Anthropic.RateLimitError],
        [500, 500, 'api_error', Anthropic.InternalServerError],
        [503, 529, 'overloaded_error', Anthropic.InternalServerError],
      ]
      for (const [upstreamStatus, status, type, cls] of cases) {
        up.queue({ fault: 'status', status: upstreamStatus })
        const e = await client.messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e)
        expect(e).toBeInstanceOf(cls)
        expect([e.status, e.type, e.error.type]).toEqual([status, type, 'error'])
        expect(e.requestID).toMatch(/./)
      }
    })

    test('a stream that breaks mid-way ends with an error event the SDK raises', async () => {
      up.queue({ fault: 'drop', afterEvents: 4 })
      const stream = client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: 'user', content: 'x' }] })
      const e = await stream.finalMessage().catch((e) => e)
      expect(e).toBeInstanceOf(Anthropic.APIError)
      expect(String(e.message)).toContain('api_error')
    })
  })
}
