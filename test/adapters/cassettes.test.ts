// Every cassette replayed through both upstream adapters (a gateway with --upstream-api responses and
// one with --upstream-api chat), driven by the openai SDK over real HTTP: the client sees the same
// events and the same Response, and each gateway sent the upstream what the cassette recorded.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import OpenAI from 'openai'
import { ResponseStreamEvent } from '../../src/schema/events'
import { ResponseObject } from '../../src/schema/responses'
import { CASSETTES, cassetteReplies, loadCassette, type CassetteName, type Wire } from '../support/cassette'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

interface Side {
  up: FakeUpstream
  gw: TestGateway
  client: OpenAI
}
const sides = {} as Record<Wire, Side>

beforeAll(async () => {
  for (const wire of ['responses', 'chat'] as const) {
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url, env: { AGENTGATE_UPSTREAM_API: wire } })
    sides[wire] = { up, gw, client: new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }) }
  }
})
afterAll(async () => {
  for (const s of Object.values(sides)) {
    await s.gw.stop()
    await s.up.stop()
  }
})

interface TurnResult {
  events: any[]
  response: any
}

/** What Codex sends back for an output item over HTTP (its own struct: no status on reasoning). */
function echoed(item: any): any {
  if (item.type === 'reasoning')
    return {
      type: 'reasoning',
      id: item.id,
      summary: item.summary ?? [],
      content: item.content ?? null,
      encrypted_content: item.encrypted_content ?? null,
    }
  return item
}

/** Tool outputs for the codex session, as Codex would produce them after running each call. */
const TOOL_OUTPUTS: Record<string, (call: any) => any> = {
  apply_patch: (c) => ({
    type: 'custom_tool_call_output',
    id: 'ctco_1',
    call_id: c.call_id,
    output: 'Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n',
  }),
  exec_command: (c) => ({
    type: 'function_call_output',
    id: 'fco_2',
    call_id: c.call_id,
    output: 'Process exited with code 0\nOutput:\nhello from patch\n',
  }),
}

/** Runs a cassette's turns as the client would (a session resends the whole history, like Codex over HTTP). */
async function replay(wire: Wire, name: CassetteName): Promise<TurnResult[]> {
  const { up, client } = sides[wire]
  const cassette = loadCassette(wire, name)
  up.queue(...cassetteReplies(cassette))
  const sent = up.requests.length
  const results: TurnResult[] = []
  let body: any = cassette.exchanges[0]!.client
  for (let i = 0; i < cassette.exchanges.length; i++) {
    const stream = await client.responses.create({ ...body, stream: true } as any)
    const events: any[] = []
    for await (const ev of stream as any) events.push(ev)
    const response = events.at(-1).response
    results.push({ events, response })
    if (i === cassette.exchanges.length - 1) break
    const calls = response.output.filter((o: any) => o.type.endsWith('_call'))
    body = { ...body, input: [...body.input, ...response.output.map(echoed), ...calls.map((c: any) => TOOL_OUTPUTS[c.name]!(c))] }
  }
  // What the gateway sent is what the cassette recorded (item ids aside: the gateway makes its own). Its look-up of
  // the context window for a long input (GET /models, engine/truncation.ts) is not a model call.
  const requests = up.requests.slice(sent).filter((r) => !(r.method === 'GET' && r.path === '/v1/models'))
  expect(requests.map((r) => r.path)).toEqual(cassette.exchanges.map((e) => e.request.path))
  for (const [i, r] of requests.entries()) expect(withoutItemIds(r.body)).toEqual(withoutItemIds(cassette.exchanges[i]!.request.body))
  return results
}

function withoutItemIds(body: any): any {
  if (!Array.isArray(body?.input)) return body
  return { ...body, input: body.input.map(({ id: _id, ...rest }: any) => rest) }
}

/**
 * The client-visible result with what legitimately differs between runs masked: gateway ids, call ids
 * (vLLM's `call_…` vs chat's `chatcmpl-tool-…`), timestamps, reasoning_tokens (only /v1/responses
 * reports them) and sealed encrypted_content.
 */
function visible(results: TurnResult[]): unknown {
  return JSON.parse(
    JSON.stringify(results, (k, v) => {
      if (k === 'sequence_number' || k === 'created_at' || k === 'completed_at') return 0
      if (k === 'reasoning_tokens') return 0
      if (k === 'call_id') return 'call'
      // Sealed reasoning: each gateway has its own key and every seal its own IV.
      if (k === 'encrypted_content' && typeof v === 'string' && v.startsWith('ags1.')) return 'sealed'
      if (typeof v === 'string') return v.replace(/\b(resp|msg|fc|fco|ctc|ctco|rs|lsh|sh)_[0-9a-f]{32}\b/g, '$1_*')
      return v
    }),
  )
}

/** The event union (schema/events.ts) as a checker; its Response objects are a reference to the ResponseObject schema. */
const eventSchema = TypeCompiler.Compile(ResponseStreamEvent, [{ ...ResponseObject, $id: '#/components/schemas/ResponseObject' }])

const types = (r: TurnResult) => r.events.map((e) => e.type)
const outputTypes = (r: TurnResult) => r.response.output.map((o: any) => o.type)

describe.each(CASSETTES.map((c) => [c]))('cassette %s', (name) => {
  let responses: TurnResult[]
  let chat: TurnResult[]

  test('replays through the responses adapter and the chat adapter', async () => {
    responses = await replay('responses', name)
    chat = await replay('chat', name)
    expect(responses.length).toBe(chat.length)
  })

  test('the client sees the same events and the same Response through both adapters', () => {
    expect(visible(chat)).toEqual(visible(responses))
  })

  test('the stream is well formed: created … one terminal event, sequence numbers 0..n', () => {
    for (const r of [...responses, ...chat]) {
      expect(r.events[0].type).toBe('response.created')
      expect(r.events.map((e) => e.sequence_number)).toEqual(r.events.map((_, i) => i))
      expect(r.events.filter((e) => ['response.completed', 'response.incomplete', 'response.failed'].includes(e.type))).toHaveLength(1)
      // Stray vLLM names never reach the client.
      expect(types(r).some((t) => t.startsWith('response.reasoning_part'))).toBe(false)
    }
  })

  test('every event the client saw is one the ResponseStreamEvent schema describes (the type the engine emits)', () => {
    for (const r of [...responses, ...chat])
      for (const e of r.events)
        expect({ type: e.type, errors: [...eventSchema.Errors(e)].map((x) => `${x.path}: ${x.message}`).slice(0, 3) }).toEqual({
          type: e.type,
          errors: [],
        })
  })

  test('what the model said', () => {
    const [first] = responses
    switch (name) {
      case 'plain-text':
        expect(first!.response.output_text).toBe('Hello there, nice to meet you!')
        expect(first!.response.usage).toMatchObject({ input_tokens: 15, output_tokens: 9, total_tokens: 24 })
        break
      case 'reasoning':
        expect(outputTypes(first!)).toEqual(['reasoning', 'message'])
        expect(first!.response.output[0].content).toEqual([{ type: 'reasoning_text', text: 'The user asks for 17 times 3. 17 * 3 = 51.' }])
        expect(first!.response.output_text).toBe('17 × 3 = 51.')
        expect(first!.response.usage.output_tokens_details.reasoning_tokens).toBe(14)
        expect(chat[0]!.response.usage.output_tokens_details.reasoning_tokens).toBe(0)
        break
      case 'function-call':
        expect(outputTypes(first!)).toEqual(['reasoning', 'function_call'])
        expect(first!.response.output[1]).toMatchObject({
          name: 'get_weather',
          arguments: '{"city":"Paris"}',
          status: 'completed',
          id: expect.stringMatching(/^fc_/),
        })
        break
      case 'parallel-function-calls':
        expect(first!.response.output.map((o: any) => [o.type, o.arguments])).toEqual([
          ['function_call', '{"city": "Paris"}'],
          ['function_call', '{"city": "Tokyo"}'],
        ])
        expect(new Set(first!.response.output.map((o: any) => o.call_id)).size).toBe(2)
        break
      case 'codex-session': {
        expect(responses.map(outputTypes)).toEqual([['reasoning', 'custom_tool_call'], ['function_call'], ['message']])
        const patch = first!.response.output[1]
        expect(patch).toMatchObject({
          type: 'custom_tool_call',
          name: 'apply_patch',
          input: '*** Begin Patch\n*** Add File: hello.txt\n+hello from patch\n*** End Patch\n',
          id: expect.stringMatching(/^ctc_/),
        })
        const deltas = first!.events.filter((e) => e.type === 'response.custom_tool_call_input.delta').map((e) => e.delta)
        expect(deltas.length).toBeGreaterThan(1)
        expect(deltas.join('')).toBe(patch.input)
        expect(types(first!)).not.toContain('response.function_call_arguments.delta')
        expect(responses[2]!.response.output_text).toBe('I added `hello.txt`; it contains "hello from patch".')
        break
      }
      case 'length':
        expect(first!.response.status).toBe('incomplete')
        expect(first!.response.incomplete_details).toEqual({ reason: 'max_output_tokens' })
        expect(first!.response.output[0].status).toBe('incomplete')
        expect(types(first!).at(-1)).toBe('response.incomplete')
        break
    }
  })
})
