// A gateway with --upstream-api chat against a fake chat completions server, through the real HTTP
// surface: the chat request it sends, finish reasons and usage, upstream errors like the responses adapter.
import { describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { collect } from '../support/sse'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: 'chat' } } }, (s) => ({ up, gw, client } = s))

const last = () => up.requestsTo('/v1/chat/completions').at(-1)!

/** A chat stream as `data:` frames, ending with [DONE] unless told otherwise. */
function chatStream(chunks: any[], { done = true } = {}) {
  const frame = (delta: any, finish_reason: string | null = null) => ({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, logprobs: null, finish_reason }],
  })
  const sse = chunks.map((c) => ({ data: c.choices || c.usage || c.error ? c : frame(c.delta, c.finish) }))
  if (done) sse.push({ data: '[DONE]' })
  return { cassette: { status: 200, sse } }
}

describe('the chat request', () => {
  test('instructions, history and options go as chat messages and chat options; a JSON turn asks for the whole answer', async () => {
    up.queue({ text: 'Hi.' })
    const r = await client.responses.create({
      model: 'test-model',
      instructions: 'Be brief.',
      input: 'Hello',
      max_output_tokens: 50,
      temperature: 0.3,
    })
    expect(r.output_text).toBe('Hi.')
    expect(last().body).toEqual({
      model: 'test-model',
      temperature: 0.3,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 50,
      stream: false,
    })
    // streamed, the chat stream carries the usage at its end
    up.queue({ text: 'Hi.' })
    await collect(await client.responses.create({ model: 'test-model', input: 'Hello', stream: true }))
    expect(last().body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  test('a chain: earlier turns come back as chat history', async () => {
    up.queue({ text: 'Paris.' }, { text: 'About 2 million.' })
    const first = await client.responses.create({ model: 'test-model', input: 'Capital of France?' })
    await client.responses.create({ model: 'test-model', input: 'Population?', previous_response_id: first.id })
    expect(last().body.messages).toEqual([
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'Population?' },
    ])
  })

  test('a structured output request: text.format json_schema → response_format', async () => {
    up.queue({ text: '{"a":1}' })
    await client.responses.create({
      model: 'test-model',
      input: 'json',
      text: {
        format: { type: 'json_schema', name: 'thing', schema: { type: 'object', properties: { a: { type: 'integer' } } }, strict: true },
      },
    })
    expect(last().body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'thing', schema: { type: 'object', properties: { a: { type: 'integer' } } }, strict: true },
    })
  })
})

describe('finish reasons and usage', () => {
  test('stop → completed, usage mapped with details', async () => {
    up.queue(
      chatStream([
        { delta: { role: 'assistant', content: '' } },
        { delta: { content: 'done' }, finish: 'stop' },
        { choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, prompt_tokens_details: { cached_tokens: 5 } } },
      ]),
    )
    const r = await client.responses.create({ model: 'test-model', input: 'x' })
    expect(r.status).toBe('completed')
    expect(r.usage).toEqual({
      input_tokens: 7,
      input_tokens_details: { cached_tokens: 5 },
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 9,
    } as any)
  })

  test('length → incomplete, reason max_output_tokens, on a stream too', async () => {
    up.queue(
      chatStream([
        { delta: { content: 'a long' }, finish: 'length' },
        { choices: [], usage: { prompt_tokens: 3, completion_tokens: 16, total_tokens: 19 } },
      ]),
    )
    const stream = await client.responses.create({ model: 'test-model', input: 'x', max_output_tokens: 16, stream: true })
    const events = await collect(stream)
    expect(events.at(-1).type).toBe('response.incomplete')
    expect(events.at(-1).response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      usage: { output_tokens: 16 },
    })
    expect(events.at(-1).response.output[0].status).toBe('incomplete')
  })

  test('content_filter → incomplete, reason content_filter', async () => {
    up.queue(chatStream([{ delta: { content: 'I' }, finish: 'content_filter' }]))
    const r = await client.responses.create({ model: 'test-model', input: 'x' })
    expect(r.status).toBe('incomplete')
    expect(r.incomplete_details).toEqual({ reason: 'content_filter' })
  })

  test('a finish reason without [DONE] still completes; no finish and no [DONE] is a failed turn', async () => {
    up.queue(chatStream([{ delta: { content: 'ok' }, finish: 'stop' }], { done: false }))
    expect((await client.responses.create({ model: 'test-model', input: 'x' })).status).toBe('completed')
    up.queue(chatStream([{ delta: { content: 'cut' } }], { done: false }))
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x' }))
    expect(err.status).toBe(502)
    expect(err.error.message).toContain('closed the stream')
  })

  test('a server that ignores stream:true and answers with a chat.completion', async () => {
    up.queue({
      cassette: {
        status: 200,
        json: {
          id: 'c',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'plain json' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
        },
      },
    })
    const r = await client.responses.create({ model: 'test-model', input: 'x' })
    expect(r.output_text).toBe('plain json')
    expect(r.usage?.total_tokens).toBe(3)
  })

  test('an error chunk mid-stream fails the turn with its message', async () => {
    up.queue(
      chatStream([{ delta: { content: 'par' } }, { error: { message: 'KV cache exhausted', type: 'InternalServerError', code: 500 } }]),
    )
    const stream = await client.responses.create({ model: 'test-model', input: 'x', stream: true })
    const events = await collect(stream)
    expect(events.at(-1).type).toBe('response.failed')
    expect(events.at(-1).response.error.message).toContain('KV cache exhausted')
  })
})

describe('upstream HTTP errors, as with the responses adapter', () => {
  test.each<[number, number, string]>([
    [400, 400, 'invalid_request_error'],
    [404, 404, 'invalid_request_error'],
    [429, 429, 'rate_limit_error'],
    [500, 502, 'upstream_error'],
  ])('%i from the upstream → %i', async (status, want, type) => {
    up.queue({ fault: 'status', status, body: { error: { message: `upstream says ${status}`, type: 'X', code: status } } })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x' }))
    expect(err.status).toBe(want)
    expect(err.error.type).toBe(type)
    expect(err.error.message).toContain(`upstream says ${status}`)
  })
})
