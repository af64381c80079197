// The Conversations API through the real HTTP surface, with the openai SDK as the client: objects exactly as
// OpenAI's, items with gateway ids, pagination, limits, bad ids.
import { beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({ gateway: { logLevel: 'warn' } }, (s) => ({ up, gw, client } = s))

const raw = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${gw.baseURL}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: r.status, body: (await r.json()) as any }
}
const userMessage = (text: string) => ({ type: 'message' as const, role: 'user' as const, content: text })

describe('conversations', () => {
  test('create answers the conversation object: conv_ id, created_at in seconds, metadata', async () => {
    const before = Math.floor(Date.now() / 1000)
    const c = await client.conversations.create({ metadata: { topic: 'demo' } })
    expect(Object.keys(c).sort()).toEqual(['created_at', 'id', 'metadata', 'object'])
    expect(c.id).toMatch(/^conv_[0-9a-f]{32}$/)
    expect(c.object).toBe('conversation')
    expect(c.metadata).toEqual({ topic: 'demo' })
    expect(c.created_at).toBeGreaterThanOrEqual(before)
    expect(c.created_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000))
  })

  test('create with nothing gives empty metadata and no items', async () => {
    const c = await client.conversations.create()
    expect(c.metadata).toEqual({})
    expect((await client.conversations.items.list(c.id)).data).toEqual([])
  })

  test('retrieve returns what create returned', async () => {
    const c = await client.conversations.create({ metadata: { a: '1' } })
    expect(await client.conversations.retrieve(c.id)).toEqual(c)
  })

  test('update replaces the metadata as a whole', async () => {
    const c = await client.conversations.create({ metadata: { a: '1', b: '2' } })
    const u = await client.conversations.update(c.id, { metadata: { c: '3' } })
    expect(u).toEqual({ ...c, metadata: { c: '3' } })
    expect(await client.conversations.retrieve(c.id)).toEqual(u)
  })

  test('delete answers the deleted marker; the conversation is gone for every route', async () => {
    const c = await client.conversations.create({ items: [userMessage('hi')] })
    expect(await client.conversations.delete(c.id)).toEqual({ id: c.id, object: 'conversation.deleted', deleted: true })
    expect(await rejectionOf(client.conversations.retrieve(c.id))).toBeInstanceOf(OpenAI.NotFoundError)
    expect(await rejectionOf(client.conversations.delete(c.id))).toBeInstanceOf(OpenAI.NotFoundError)
    expect(await rejectionOf(client.conversations.update(c.id, { metadata: {} }))).toBeInstanceOf(OpenAI.NotFoundError)
    expect(await rejectionOf(client.conversations.items.list(c.id))).toBeInstanceOf(OpenAI.NotFoundError)
    expect(await rejectionOf(client.conversations.items.create(c.id, { items: [userMessage('x')] }))).toBeInstanceOf(OpenAI.NotFoundError)
  })

  test('an unknown id is a 404 in the OpenAI shape, naming the conversation', async () => {
    const err = await rejectionOf(client.conversations.retrieve('conv_nope'))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.error).toEqual({
      message: "Conversation with id 'conv_nope' not found.",
      type: 'invalid_request_error',
      param: null,
      code: 'conversation_not_found',
    })
  })
})

describe('limits and bad bodies', () => {
  test('21 initial items are a 400 naming items; 20 are fine', async () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => userMessage(`m${i}`))
    const err = await rejectionOf(client.conversations.create({ items: items(21) }))
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'items' })
    const c = await client.conversations.create({ items: items(20) })
    expect((await client.conversations.items.list(c.id, { limit: 100 })).data).toHaveLength(20)
  })

  test('appending 21 items is a 400 too, and appends nothing', async () => {
    const c = await client.conversations.create()
    const err = await rejectionOf(
      client.conversations.items.create(c.id, { items: Array.from({ length: 21 }, (_, i) => userMessage(`m${i}`)) }),
    )
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error.param).toBe('items')
    expect((await client.conversations.items.list(c.id)).data).toEqual([])
  })

  test('metadata over the limits is a 400 naming metadata: 17 pairs, a 65-char key, a 513-char value', async () => {
    const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']))
    for (const metadata of [seventeen, { ['k'.repeat(65)]: 'v' }, { k: 'v'.repeat(513) }]) {
      const err = await rejectionOf(client.conversations.create({ metadata }))
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error.param).toStartWith('metadata')
      const c = await client.conversations.create()
      const upd = await rejectionOf(client.conversations.update(c.id, { metadata }))
      expect(upd).toBeInstanceOf(OpenAI.BadRequestError)
    }
    // exactly at the limits is fine
    const atLimit = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${i}`.padEnd(64, 'k'), 'v'.repeat(512)]))
    expect((await client.conversations.create({ metadata: atLimit })).metadata).toEqual(atLimit)
  })

  test('metadata values must be strings', async () => {
    const { status, body } = await raw('POST', '/conversations', { metadata: { n: 1 } })
    expect(status).toBe(400)
    expect(body.error.param).toBe('metadata.n')
  })

  test('update without metadata is a 400', async () => {
    const c = await client.conversations.create()
    const { status, body } = await raw('POST', `/conversations/${c.id}`, {})
    expect(status).toBe(400)
    expect(body.error.param).toBe('metadata')
  })

  test('a bad item names its place in items', async () => {
    const { status, body } = await raw('POST', '/conversations', { items: [userMessage('ok'), { role: 'robot', content: 'x' }] })
    expect(status).toBe(400)
    expect(body.error).toMatchObject({ param: 'items.1.role', message: expect.stringContaining("'items.1.role'") })
  })

  test('an item of an unknown type or a tool output without call_id is a 400 naming it, on create and on append, and nothing is added', async () => {
    const c = await client.conversations.create()
    for (const [items, param] of [
      [[userMessage('ok'), { type: 'bogus' }], 'items.1.type'],
      [[{ type: 'function_call_output', output: '42' }], 'items.0.call_id'],
    ] as const) {
      const created = await raw('POST', '/conversations', { items })
      expect({ status: created.status, param: created.body.error?.param }).toEqual({ status: 400, param })
      const err = await rejectionOf(client.conversations.items.create(c.id, { items: items as any }))
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error.param).toBe(param)
    }
    expect((await client.conversations.items.list(c.id)).data).toEqual([])
  })

  test('metadata that is not an object is a 400 naming metadata', async () => {
    for (const metadata of [['x'], 5, 'x']) {
      const { status, body } = await raw('POST', '/conversations', { metadata })
      expect({ status, param: body.error?.param }).toEqual({ status: 400, param: 'metadata' })
    }
  })

  test('invalid JSON is a 400', async () => {
    const r = await fetch(`${gw.baseURL}/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"items": [',
    })
    expect(r.status).toBe(400)
    expect(((await r.json()) as any).error.code).toBe('invalid_json')
  })
})

describe('items', () => {
  test('initial items get gateway ids, in order; messages and tool outputs get status completed', async () => {
    const c = await client.conversations.create({
      items: [
        userMessage('first'),
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'second', annotations: [] }] } as any,
        { type: 'function_call_output', call_id: 'call_1', output: '{"ok":true}' },
      ],
    })
    const { data } = await client.conversations.items.list(c.id, { order: 'asc' })
    expect(data).toHaveLength(3)
    expect(data[0]).toEqual({
      type: 'message',
      id: expect.stringMatching(/^msg_/),
      role: 'user',
      status: 'completed',
      content: [{ type: 'input_text', text: 'first' }],
    })
    expect(data[1]).toMatchObject({ type: 'message', id: expect.stringMatching(/^msg_/), role: 'assistant', status: 'completed' })
    expect(data[2]).toEqual({
      type: 'function_call_output',
      id: expect.stringMatching(/^fco_/),
      call_id: 'call_1',
      output: '{"ok":true}',
      status: 'completed',
    })
  })

  test('append returns a list of exactly the new items and adds them at the end', async () => {
    const c = await client.conversations.create({ items: [userMessage('one')] })
    const added = await client.conversations.items.create(c.id, { items: [userMessage('two'), userMessage('three')] })
    expect(added.object).toBe('list')
    expect(added.data.map((i: any) => i.content[0].text)).toEqual(['two', 'three'])
    expect(added).toMatchObject({ first_id: added.data[0].id, last_id: added.data[1].id, has_more: false })
    const all = await client.conversations.items.list(c.id, { order: 'asc' })
    expect(all.data.map((i: any) => i.content[0].text)).toEqual(['one', 'two', 'three'])
  })

  test('retrieve one item by id; unknown items are 404', async () => {
    const c = await client.conversations.create({ items: [userMessage('findme')] })
    const [item] = (await client.conversations.items.list(c.id)).data
    expect(await client.conversations.items.retrieve(item.id!, { conversation_id: c.id })).toEqual(item)
    const err = await rejectionOf(client.conversations.items.retrieve('msg_nope', { conversation_id: c.id }))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.error.code).toBe('item_not_found')
    expect(await rejectionOf(client.conversations.items.retrieve(item.id!, { conversation_id: 'conv_nope' }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    )
  })

  test('delete an item answers the conversation object, and the item is gone', async () => {
    const c = await client.conversations.create({ items: [userMessage('keep'), userMessage('drop')], metadata: { k: 'v' } })
    const [keep, drop] = (await client.conversations.items.list(c.id, { order: 'asc' })).data
    expect(await client.conversations.items.delete(drop.id!, { conversation_id: c.id })).toEqual(c)
    expect((await client.conversations.items.list(c.id)).data).toEqual([keep])
    expect(await rejectionOf(client.conversations.items.delete(drop.id!, { conversation_id: c.id }))).toBeInstanceOf(OpenAI.NotFoundError)
  })
})

describe('listing items', () => {
  let convId: string
  let ids: string[]
  beforeAll(async () => {
    const c = await client.conversations.create({ items: Array.from({ length: 7 }, (_, i) => userMessage(`n${i}`)) })
    convId = c.id
    await client.conversations.items.create(convId, { items: Array.from({ length: 5 }, (_, i) => userMessage(`n${7 + i}`)) })
    ids = (await client.conversations.items.list(convId, { order: 'asc', limit: 100 })).data.map((i) => i.id!)
    expect(ids).toHaveLength(12)
  })

  test('newest first by default, 20 at most, with first_id, last_id and has_more', async () => {
    const { body } = await raw('GET', `/conversations/${convId}/items`)
    expect(body).toMatchObject({ object: 'list', first_id: ids[11], last_id: ids[0], has_more: false })
    expect(body.data.map((i: any) => i.id)).toEqual([...ids].reverse())
  })

  test('limit and after page through every item exactly once, in both orders', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const { body: first } = await raw('GET', `/conversations/${convId}/items?limit=5&order=${order}`)
      expect(first.has_more).toBe(true)
      const seen: string[] = []
      // the SDK's auto-pagination follows last_id with `after`
      for await (const item of client.conversations.items.list(convId, { order, limit: 5 })) seen.push(item.id!)
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse())
    }
  })

  test('before gives the page just before the cursor', async () => {
    const { body } = await raw('GET', `/conversations/${convId}/items?order=asc&before=${ids[5]}&limit=2`)
    expect(body.data.map((i: any) => i.id)).toEqual([ids[3], ids[4]])
  })

  test('bad pagination parameters are 400s naming the parameter', async () => {
    for (const [q, param] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['order=sideways', 'order'],
      ['after=msg_nope', 'after'],
      [`after=${'x'}&before=${'y'}`, 'before'],
    ] as const) {
      const { status, body } = await raw('GET', `/conversations/${convId}/items?${q}`)
      expect({ q, status, param: body.error?.param }).toEqual({ q, status: 400, param })
    }
  })

  test('include is accepted', async () => {
    const { status } = await raw('GET', `/conversations/${convId}/items?include[]=message.output_text.logprobs`)
    expect(status).toBe(200)
  })
})
