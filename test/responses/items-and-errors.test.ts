// input_items pagination, bad ids and bad bodies on /v1/responses.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
let id: string
let itemIds: string[]

beforeAll(async () => {
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url })
  client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
  const r = await client.responses.create({
    model: 'test-model',
    instructions: 'not an input item',
    input: Array.from({ length: 7 }, (_, i) => ({ role: 'user' as const, content: `message ${i}` })),
  })
  id = r.id
  itemIds = (await client.responses.inputItems.list(id, { order: 'asc', limit: 100 })).data.map((i) => i.id!)
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

const get = (path: string) => fetch(`${gw.baseURL}${path}`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))

describe('GET /v1/responses/{id}/input_items', () => {
  test('lists the input items only (not instructions), newest first by default, limit 20', async () => {
    const { body } = await get(`/responses/${id}/input_items`)
    expect(body.object).toBe('list')
    expect(body.data).toHaveLength(7)
    expect(body.data[0].content).toEqual([{ type: 'input_text', text: 'message 6' }])
    expect(body.data.map((i: any) => i.id)).toEqual([...itemIds].reverse())
    expect(body).toMatchObject({ first_id: itemIds[6], last_id: itemIds[0], has_more: false })
  })

  test('asc pages with after: every item exactly once, has_more right at the edges', async () => {
    const seen: string[] = []
    let after: string | undefined
    const pages: boolean[] = []
    for (;;) {
      const { body } = await get(`/responses/${id}/input_items?order=asc&limit=3${after ? `&after=${after}` : ''}`)
      seen.push(...body.data.map((i: any) => i.id))
      pages.push(body.has_more)
      if (!body.has_more) break
      after = body.last_id
    }
    expect(seen).toEqual(itemIds)
    expect(pages).toEqual([true, true, false])
  })

  test('the SDK auto-paginates', async () => {
    const all: string[] = []
    for await (const item of client.responses.inputItems.list(id, { limit: 2, order: 'asc' })) all.push(item.id!)
    expect(all).toEqual(itemIds)
  })

  test('before pages backwards', async () => {
    const { body } = await get(`/responses/${id}/input_items?order=asc&before=${itemIds[3]}`)
    expect(body.data.map((i: any) => i.id)).toEqual(itemIds.slice(0, 3))
  })

  test('limit exactly the number of items → has_more false', async () => {
    const { body } = await get(`/responses/${id}/input_items?limit=7`)
    expect(body.data).toHaveLength(7)
    expect(body.has_more).toBe(false)
  })

  test.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['order=sideways', 'order'],
  ])('bad pagination %s → 400 naming %s', async (q, param) => {
    const { status, body } = await get(`/responses/${id}/input_items?${q}`)
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param })
  })

  test('an unknown cursor is a 400 naming it', async () => {
    for (const param of ['after', 'before']) {
      const { status, body } = await get(`/responses/${id}/input_items?${param}=msg_nope`)
      expect(status).toBe(400)
      expect(body).toEqual({
        error: { message: "No item with id 'msg_nope' in this list", type: 'invalid_request_error', param, code: 'invalid_value' },
      })
    }
  })

  test('an unknown response id is a 404', async () => {
    const { status, body } = await get('/responses/resp_unknown/input_items')
    expect(status).toBe(404)
    expect(body).toEqual({
      error: {
        message: "Response with id 'resp_unknown' not found.",
        type: 'invalid_request_error',
        param: null,
        code: 'response_not_found',
      },
    })
  })
})

describe('bad ids', () => {
  test.each(['resp_unknown', 'not-even-a-resp-id', '%E2%9C%93'])('GET /v1/responses/%s → 404 in the error shape', async (bad) => {
    const { status, body } = await get(`/responses/${bad}`)
    expect(status).toBe(404)
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type'])
  })
})

describe('bad bodies', () => {
  const post = (body: string, contentType = 'application/json') =>
    fetch(`${gw.baseURL}/responses`, { method: 'POST', headers: { 'content-type': contentType }, body }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as any,
    }))

  test.each([
    ['missing model', { input: 'x' }, 'model'],
    ['model not a string', { model: 5, input: 'x' }, 'model'],
    ['input not string or list', { model: 'm', input: 42 }, 'input'],
    ['temperature out of range', { model: 'm', input: 'x', temperature: 7 }, 'temperature'],
    ['top_p out of range', { model: 'm', input: 'x', top_p: 2 }, 'top_p'],
    ['max_output_tokens zero', { model: 'm', input: 'x', max_output_tokens: 0 }, 'max_output_tokens'],
    ['store not boolean', { model: 'm', input: 'x', store: 'yes' }, 'store'],
    // a number written as a string is a wrong type, as OpenAI says (Elysia's own t.Integer would take "1")
    ['max_output_tokens a numeric string', { model: 'm', input: 'x', max_output_tokens: '5' }, 'max_output_tokens'],
    ['max_tool_calls a numeric string', { model: 'm', input: 'x', max_tool_calls: '1' }, 'max_tool_calls'],
    ['top_logprobs a numeric string', { model: 'm', input: 'x', top_logprobs: '2' }, 'top_logprobs'],
    ['max_tool_calls not whole', { model: 'm', input: 'x', max_tool_calls: 1.5 }, 'max_tool_calls'],
    [
      'too much metadata',
      { model: 'm', input: 'x', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) },
      'metadata',
    ],
    ['metadata value too long', { model: 'm', input: 'x', metadata: { k: 'v'.repeat(513) } }, 'metadata.k'],
    ['truncation unknown', { model: 'm', input: 'x', truncation: 'sometimes' }, 'truncation'],
    ['easy message with a bad role', { model: 'm', input: [{ role: 'robot', content: 'x' }] }, 'input.0.role'],
    ['item without type or role', { model: 'm', input: [{ content: 'x' }] }, 'input.0'],
    ['tool without type', { model: 'm', input: 'x', tools: [{ name: 'f' }] }, 'tools.0.type'],
    ['metadata a list', { model: 'm', input: 'x', metadata: ['x'] }, 'metadata'],
    ['metadata a number', { model: 'm', input: 'x', metadata: 5 }, 'metadata'],
    ['metadata with a number value', { model: 'm', input: 'x', metadata: { n: 5 } }, 'metadata.n'],
    [
      'metadata with a key over 64 characters',
      { model: 'm', input: 'x', metadata: { ['k'.repeat(65)]: 'v' } },
      `metadata.${'k'.repeat(65)}`,
    ],
    ['text a number', { model: 'm', input: 'x', text: 5 }, 'text'],
    ['text.format a number', { model: 'm', input: 'x', text: { format: 5 } }, 'text.format'],
    ['text.format of an unknown type', { model: 'm', input: 'x', text: { format: { type: 'yaml' } } }, 'text.format.type'],
    ['reasoning a number', { model: 'm', input: 'x', reasoning: 5 }, 'reasoning'],
    ['reasoning.effort unknown', { model: 'm', input: 'x', reasoning: { effort: 'ultra' } }, 'reasoning.effort'],
    ['tool_choice unknown', { model: 'm', input: 'x', tool_choice: 'bogus' }, 'tool_choice'],
    ['tool_choice.name a number', { model: 'm', input: 'x', tool_choice: { type: 'function', name: 5 } }, 'tool_choice.name'],
    [
      'tool_choice.server_label a number',
      { model: 'm', input: 'x', tool_choice: { type: 'mcp', server_label: 5 } },
      'tool_choice.server_label',
    ],
    ['include unknown', { model: 'm', input: 'x', include: ['bogus'] }, 'include.0'],
    ['tool of an unknown type', { model: 'm', input: 'x', tools: [{ type: 'unknown_type' }] }, 'tools.0.type'],
    [
      'input item of an unknown type',
      { model: 'm', input: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { type: 'bogus' }] },
      'input.2.type',
    ],
    ['function_call_output without call_id', { model: 'm', input: [{ type: 'function_call_output', output: 'x' }] }, 'input.0.call_id'],
    ['function_call without name', { model: 'm', input: [{ type: 'function_call', call_id: 'c', arguments: '{}' }] }, 'input.0.name'],
  ])('%s → 400 naming the field', async (_name, body, param) => {
    const r = await post(JSON.stringify(body))
    expect(r.status).toBe(400)
    expect(r.body.error).toMatchObject({ type: 'invalid_request_error', param })
    expect(typeof r.body.error.message).toBe('string')
  })

  test('the message says what is expected', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ truncation: 'sometimes' }, `Invalid value for 'truncation': expected "auto" or "disabled"`],
      [{ text: 5 }, `Invalid value for 'text': expected an object or null`],
      [
        { reasoning: { effort: 'ultra' } },
        `Invalid value for 'reasoning.effort': unknown reasoning effort: expected one of none, minimal, low, medium, high, xhigh, max`,
      ],
      [{ input: [{ type: 'function_call_output', output: 'x' }] }, `Missing required parameter: 'input.0.call_id'.`],
    ]
    for (const [extra, message] of cases)
      expect((await post(JSON.stringify({ model: 'm', input: 'x', ...extra }))).body.error.message).toBe(message)
  })

  test('a rejected value is neither stored nor sent upstream', async () => {
    const before = up.requestsTo('/v1/responses').length
    const r = await post(JSON.stringify({ model: 'm', input: [{ type: 'bogus', text: 'x' }] }))
    expect(r.status).toBe(400)
    expect(r.body.error.message).toContain('unknown item type')
    expect(up.requestsTo('/v1/responses').length).toBe(before)
  })

  test('unknown top-level fields and every known value stay accepted', async () => {
    const r = await post(
      JSON.stringify({
        model: 'test-model',
        input: [
          { type: 'message', role: 'user', content: 'hi' },
          { type: 'reasoning', id: 'rs_1', summary: [], content: null, encrypted_content: null },
        ],
        reasoning: { effort: 'xhigh', summary: 'auto' },
        text: { format: { type: 'json_schema', name: 'title', schema: { type: 'object' } }, verbosity: 'low' },
        tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'function', name: 'f' }] },
        tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }, { type: 'tool_search' }],
        include: ['reasoning.encrypted_content', 'message.output_text.logprobs'],
        metadata: { ['k'.repeat(64)]: 'v'.repeat(512) },
        a_field_from_a_newer_client: { anything: true },
      }),
    )
    expect({ status: r.status, error: r.body.error ?? null }).toEqual({ status: 200, error: null })
  })

  test('an accepted body reaches the upstream as sent: unknown fields at every level, in their order', async () => {
    const tool = { type: 'function', name: 'f', parameters: { type: 'object' }, strict: false, x_vendor: { a: [1, 2] } }
    const text = { format: { type: 'json_schema', name: 'title', schema: { type: 'object' }, x_extra: 1 }, verbosity: 'low' }
    const r = await post(
      JSON.stringify({
        z_first_unknown: 'kept',
        model: 'test-model',
        input: 'hi',
        tools: [tool],
        text,
        reasoning: { effort: 'low', x_budget: 7 },
        a_field_from_a_newer_client: { nested: { deep: [null, true] } },
      }),
    )
    expect(r.status).toBe(200)
    const sent = up.requestsTo('/v1/responses').at(-1)!.body
    expect(sent.z_first_unknown).toBe('kept')
    expect(sent.a_field_from_a_newer_client).toEqual({ nested: { deep: [null, true] } })
    expect(Object.keys(sent.tools[0])).toEqual(Object.keys(tool))
    expect(sent.tools[0]).toEqual(tool)
    expect(sent.text).toEqual(text)
    expect(sent.reasoning).toEqual({ effort: 'low', x_budget: 7 })
  })

  test.each([
    ['malformed JSON', '{"model": "m", '],
    ['empty body', ''],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
  ])('%s → 400, no model call', async (_name, raw) => {
    const before = up.requestsTo('/v1/responses').length
    const r = await post(raw)
    expect(r.status).toBe(400)
    expect(r.body.error.type).toBe('invalid_request_error')
    expect(up.requestsTo('/v1/responses').length).toBe(before)
  })

  test('a wrong method on the collection is a 405', async () => {
    const r = await fetch(`${gw.baseURL}/responses`, { method: 'PUT' })
    expect(r.status).toBe(405)
    expect(((await r.json()) as any).error.code).toBe('method_not_allowed')
  })
})
