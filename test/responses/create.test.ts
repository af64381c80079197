// POST /v1/responses through the real HTTP surface with the openai SDK as the client, against both
// upstream wire APIs (vLLM /v1/responses and any /v1/chat/completions server): the client must not
// be able to tell them apart.
import { describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { collect } from '../support/sse'
import { useGateway } from '../support/suite'
import { modelCalls, UPSTREAM_APIS } from '../support/upstream-view'

const RESPONSE_KEYS = [
  'id',
  'object',
  'created_at',
  'completed_at',
  'status',
  'model',
  'output',
  'usage',
  'error',
  'incomplete_details',
  'instructions',
  'previous_response_id',
  'conversation',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'temperature',
  'top_p',
  'presence_penalty',
  'frequency_penalty',
  'top_logprobs',
  'max_output_tokens',
  'max_tool_calls',
  'reasoning',
  'text',
  'truncation',
  'metadata',
  'store',
  'background',
  'service_tier',
  'safety_identifier',
  'prompt_cache_key',
]

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: OpenAI
    const calls = () => modelCalls(up, api)

    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, gw, client } = s))

    describe('a single turn', () => {
      test('returns a completed response with every key, gateway ids, output_text and usage', async () => {
        up.queue({ text: 'Hello there, friend.', usage: { input_tokens: 11, output_tokens: 4, cached_tokens: 3, reasoning_tokens: 1 } })
        const r = await client.responses.create({ model: 'test-model', input: 'Say hello', metadata: { job: 'greeting' } })
        for (const k of RESPONSE_KEYS) expect(r).toHaveProperty(k)
        expect(r.id).toMatch(/^resp_[0-9a-f]{32}$/)
        expect(r.object).toBe('response')
        expect(r.status).toBe('completed')
        expect(r.output_text).toBe('Hello there, friend.')
        expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', id: expect.stringMatching(/^msg_/) })
        expect((r.output[0] as any).content[0]).toEqual({
          type: 'output_text',
          text: 'Hello there, friend.',
          annotations: [],
          logprobs: [],
        })
        expect(r.usage as unknown).toEqual({
          input_tokens: 11,
          input_tokens_details: { cached_tokens: 3 },
          output_tokens: 4,
          output_tokens_details: { reasoning_tokens: 1 },
          total_tokens: 15,
        })
        // presence/frequency penalties are on the wire (strict clients check them) though not in the SDK's types
        const all = r as unknown as Record<string, unknown>
        expect([all.temperature, all.top_p, all.presence_penalty, all.frequency_penalty, all.top_logprobs]).toEqual([1, 1, 0, 0, 0])
        expect(r.metadata).toEqual({ job: 'greeting' })
        expect(r.completed_at).toBeGreaterThanOrEqual(r.created_at)
      })

      test('the upstream gets a stateless request: full input, store:false, no gateway-only fields, unknown fields kept', async () => {
        await client.responses.create({
          model: 'test-model',
          input: 'hi',
          store: true,
          metadata: { a: 'b' },
          top_k: 5,
          client_metadata: { x: 'y' },
        } as any)
        const body = calls().at(-1)!.body
        // a JSON turn asks for the whole answer (test/responses/whole-answers.test.ts)
        expect(body.stream).toBe(false)
        expect(body.top_k).toBe(5)
        for (const k of ['previous_response_id', 'conversation', 'metadata', 'client_metadata', 'background'])
          expect(body).not.toHaveProperty(k)
        if (api === 'responses') {
          expect(body.store).toBe(false)
          expect(body.input).toEqual([
            { id: expect.stringMatching(/^msg_/), type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
          ])
        } else {
          expect(body).not.toHaveProperty('store')
          expect(body.messages).toEqual([{ role: 'user', content: 'hi' }])
        }
      })

      test('retrieve returns the stored response exactly as created', async () => {
        const r = await client.responses.create({ model: 'test-model', input: 'remember me' })
        const got = await client.responses.retrieve(r.id)
        expect(got).toEqual(r)
      })

      test('the client x-request-id reaches the upstream and is kept with the stored response', async () => {
        const res = await fetch(`${gw.baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
          body: JSON.stringify({ model: 'test-model', input: 'x' }),
        })
        expect(res.headers.get('x-request-id')).toBe('req-abc-123')
        expect(calls().at(-1)!.headers['x-request-id']).toBe('req-abc-123')
        const { id } = (await res.json()) as any
        expect((await gw.store.getResponse('default', id))?.requestId).toBe('req-abc-123')
      })

      test('a function call comes back with gateway ids and its arguments', async () => {
        up.queue({ functionCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_42' }] })
        const r = await client.responses.create({
          model: 'test-model',
          input: 'Weather in Paris?',
          tools: [
            {
              type: 'function',
              name: 'get_weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
              strict: false,
            },
          ],
        })
        expect(r.output).toEqual([
          {
            type: 'function_call',
            id: expect.stringMatching(/^fc_/),
            call_id: 'call_42',
            name: 'get_weather',
            arguments: '{"city":"Paris"}',
            status: 'completed',
          },
        ])
        expect(r.tools).toHaveLength(1)
      })

      test('reasoning output is kept as a reasoning item before the message', async () => {
        up.queue({ reasoning: 'The user wants a number.', text: '42' })
        const r = await client.responses.create({ model: 'test-model', input: 'A number?' })
        expect(r.output.map((i) => i.type)).toEqual(['reasoning', 'message'])
        expect(r.output[0].id).toMatch(/^rs_/)
        expect((r.output[0] as any).content).toEqual([{ type: 'reasoning_text', text: 'The user wants a number.' }])
      })

      test('max_output_tokens reached upstream → status incomplete with the reason', async () => {
        up.queue({ text: 'cut', status: 'incomplete' })
        const r = await client.responses.create({ model: 'test-model', input: 'long story', max_output_tokens: 16 })
        expect(r.status).toBe('incomplete')
        expect(r.incomplete_details).toEqual({ reason: 'max_output_tokens' })
        expect(r.completed_at).toBeNull()
      })
    })

    describe('a streamed turn', () => {
      test('events arrive in order with contiguous sequence numbers, and the final object is stored', async () => {
        up.queue({ text: 'one two three' })
        const stream = await client.responses.create({ model: 'test-model', input: 'count', stream: true })
        const events = await collect(stream)
        expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
        expect(events.map((e) => e.type)).toEqual([
          'response.created',
          'response.in_progress',
          'response.output_item.added',
          'response.content_part.added',
          'response.output_text.delta',
          'response.output_text.delta',
          'response.output_text.delta',
          'response.output_text.done',
          'response.content_part.done',
          'response.output_item.done',
          'response.completed',
        ])
        const id = events[0].response.id
        expect(events.every((e) => !e.response || e.response.id === id)).toBe(true)
        const itemId = events[2].item.id
        expect(itemId).toMatch(/^msg_/)
        expect(events.slice(3, 9).every((e) => e.item_id === itemId && e.output_index === 0)).toBe(true)
        expect(events[9].item.id).toBe(itemId)
        expect(events[4]).toMatchObject({ delta: 'one ', content_index: 0, logprobs: [] })
        const final = events.at(-1).response
        expect(final.status).toBe('completed')
        expect(final.output_text).toBe('one two three')
        expect(await client.responses.retrieve(id)).toEqual(final)
      })

      test('the SDK stream helper yields the final response', async () => {
        up.queue({ text: 'streamed via helper' })
        const stream = client.responses.stream({ model: 'test-model', input: 'hi' })
        const deltas: string[] = []
        stream.on('response.output_text.delta', (e) => deltas.push(e.delta))
        const final = await stream.finalResponse()
        expect(deltas.join('')).toBe('streamed via helper')
        expect(final.output_text).toBe('streamed via helper')
        expect(final.status).toBe('completed')
      })

      test('SSE frames are `event:` plus one `data:` line each', async () => {
        up.queue({ text: 'a b' })
        const res = await fetch(`${gw.baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', input: 'x', stream: true }),
        })
        expect(res.headers.get('content-type')).toContain('text/event-stream')
        const frames = (await res.text()).split('\n\n').filter(Boolean)
        for (const f of frames) {
          const lines = f.split('\n')
          expect(lines).toHaveLength(2)
          expect(lines[0]).toMatch(/^event: response\./)
          expect(JSON.parse(lines[1].slice('data: '.length)).type).toBe(lines[0].slice('event: '.length))
        }
      })
    })
  })
}
