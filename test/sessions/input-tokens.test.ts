// POST /v1/responses/input_tokens through the openai SDK (client.responses.inputTokens.count): the same body as
// create, its history rehydrated as a turn would send it, counted by the upstream's tokenizer (vLLM's /tokenize
// at the server root, chat messages + template) when there is one, else estimated — the header says which.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { fakeTokenCount, type FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'

const COUNTED_BY = 'x-agentgate-input-tokens-counted-by'

describe('with an upstream tokenizer (chat upstream, so a turn sends the same messages /tokenize gets)', () => {
  let up: FakeUpstream
  let client: OpenAI
  useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: 'chat' } } }, (s) => ({ up, client } = s))
  const lastTokenize = () => up.requestsTo('/tokenize').at(-1)!

  test('counts the input with the upstream tokenizer, asked at the server root with the chat messages', async () => {
    const { data, response } = await client.responses.inputTokens
      .count({ model: 'test-model', input: 'How many tokens are in this sentence?', instructions: 'Be brief.' })
      .withResponse()
    expect(data).toEqual({ object: 'response.input_tokens', input_tokens: fakeTokenCount(lastTokenize().body) })
    expect(response.headers.get(COUNTED_BY)).toBe('tokenizer')
    expect(lastTokenize().body).toEqual({
      model: 'test-model',
      add_generation_prompt: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'How many tokens are in this sentence?' },
      ],
    })
    // 3 + 2 words, 3 + 7 words
    expect(data.input_tokens).toBe(15)
  })

  test('a previous_response_id chain is counted as the next turn would send it', async () => {
    up.queue({ reasoning: 'thinking about it', text: 'The answer is four.' })
    const r1 = await client.responses.create({ model: 'test-model', input: 'What is 2+2?' })
    const body = {
      model: 'test-model',
      previous_response_id: r1.id,
      input: 'And 3+3?',
      tools: [{ type: 'function' as const, name: 'calc', parameters: { type: 'object' }, strict: false }],
    }
    const count = await client.responses.inputTokens.count(body)
    const counted = lastTokenize().body
    up.queue({ text: 'six' })
    await client.responses.create(body)
    const sent = up.requestsTo('/v1/chat/completions').at(-1)!.body
    expect(counted.messages).toEqual(sent.messages)
    expect(counted.tools).toEqual(sent.tools)
    expect(count.input_tokens).toBe(fakeTokenCount(sent))
  })

  test("a conversation's items are counted", async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'one two three' }] })
    const count = await client.responses.inputTokens.count({ model: 'test-model', conversation: conv.id, input: 'four' })
    expect(lastTokenize().body.messages).toEqual([
      { role: 'user', content: 'one two three' },
      { role: 'user', content: 'four' },
    ])
    expect(count.input_tokens).toBe(3 + 3 + 3 + 1)
  })

  test('sealed reasoning sent back inline is counted with its text', async () => {
    up.queue({ reasoning: 'a b c d e', text: 'done' })
    const r = await client.responses.create({ model: 'test-model', input: 'q', store: false, include: ['reasoning.encrypted_content'] })
    const input = [
      { role: 'user' as const, content: 'q' },
      ...r.output.map(({ content: _c, ...rest }: any) => (rest.type === 'reasoning' ? rest : { ...rest, content: _c })),
    ]
    await client.responses.inputTokens.count({ model: 'test-model', input })
    expect(lastTokenize().body.messages[1]).toMatchObject({ role: 'assistant', content: 'done', reasoning_content: 'a b c d e' })
  })

  test('the same errors as create: an unknown previous_response_id is a 404, both histories a 400', async () => {
    const err = await rejectionOf(
      client.responses.inputTokens.count({ model: 'test-model', input: 'x', previous_response_id: 'resp_nope' }),
    )
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.error).toMatchObject({ code: 'previous_response_not_found', param: 'previous_response_id' })
    const both = await rejectionOf(
      client.responses.inputTokens.count({ model: 'test-model', input: 'x', previous_response_id: 'resp_a', conversation: 'conv_b' }),
    )
    expect(both.error).toMatchObject({ code: 'mutually_exclusive_parameters', param: 'conversation' })
  })

  test('nothing runs and nothing is stored', async () => {
    const before = up.requestsTo('/v1/chat/completions').length
    await client.responses.inputTokens.count({ model: 'test-model', input: 'just counting' })
    expect(up.requestsTo('/v1/chat/completions').length).toBe(before)
  })
})

describe('without an upstream tokenizer', () => {
  let client: OpenAI
  useGateway({ upstream: { tokenize: null } }, (s) => ({ client } = s))

  test('the count is an estimate, and the header says so', async () => {
    const short = await client.responses.inputTokens.count({ model: 'test-model', input: 'hi' }).withResponse()
    expect(short.response.headers.get(COUNTED_BY)).toBe('estimate')
    const long = await client.responses.inputTokens.count({ model: 'test-model', input: 'hi '.repeat(400) })
    expect(short.data.input_tokens).toBeGreaterThan(0)
    // about four characters a token
    expect(long.input_tokens).toBeGreaterThan(250)
    expect(long.input_tokens).toBeLessThan(400)
  })
})

describe('input_tokens refuses a bad body as create does, before anything runs', () => {
  let up: FakeUpstream
  let gw: TestGateway
  useGateway({}, (s) => ({ up, gw } = s))

  // An object field sent as a number used to reach this route as {} (Elysia mirrors a body into the schema's shape
  // before its check), so the count ran on a request POST /v1/responses refuses.
  test.each([
    ['/responses/input_tokens', { model: 'test-model', input: 'hi', reasoning: 5 }, 'reasoning'],
    ['/responses/input_tokens', { model: 'test-model', input: 'hi', text: 5 }, 'text'],
    ['/responses/input_tokens', { model: 'test-model', input: 'hi', text: { format: 5 } }, 'text.format'],
    ['/responses/input_tokens', { model: 'test-model', input: 'hi', stream_options: 5 }, 'stream_options'],
  ])('POST %s with %j → 400 naming %s, no upstream call', async (path, body, param) => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect({ status: res.status, error: ((await res.json()) as any).error }).toMatchObject({
      status: 400,
      error: { type: 'invalid_request_error', code: 'invalid_value', param },
    })
    expect(up.requests.length).toBe(before)
  })
})
