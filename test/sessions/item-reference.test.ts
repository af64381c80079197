// item_reference inputs ({type:"item_reference", id}) stand for items the tenant has stored: the upstream
// gets the referenced item; an unknown id (or another tenant's) is a 400 naming the input item.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { modelCalls, transcript } from '../support/upstream-view'

describe('item_reference', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: OpenAI
  useGateway({ gateway: { env: { AGENTGATE_API_KEYS: 'alice:key-a,bob:key-b' } } }, (s) => {
    ;({ up, gw } = s)
    client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'key-a', maxRetries: 0 })
  })

  test('references to stored input and output items are replaced by those items for the upstream', async () => {
    up.queue({ text: 'Paris.' })
    const r1 = await client.responses.create({ model: 'test-model', input: 'Capital of France?' })
    const [question] = (await client.responses.inputItems.list(r1.id)).data
    const answer = r1.output[0]!
    up.queue({ text: 'Yes.' })
    const r2 = await client.responses.create({
      model: 'test-model',
      store: false,
      input: [
        { type: 'item_reference', id: question!.id },
        { type: 'item_reference', id: answer.id! },
        { role: 'user', content: 'Sure?' },
      ],
    })
    expect(r2.output_text).toBe('Yes.')
    expect(transcript(modelCalls(up, 'responses').at(-1)!)).toEqual(['user: Capital of France?', 'assistant: Paris.', 'user: Sure?'])
  })

  test('a reference to a conversation item resolves too', async () => {
    const conv = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'remember: blue' }] })
    const [item] = (await client.conversations.items.list(conv.id)).data
    up.queue({ text: 'Blue.' })
    await client.responses.create({
      model: 'test-model',
      input: [
        { type: 'item_reference', id: item!.id! },
        { role: 'user', content: 'Which colour?' },
      ],
    })
    expect(transcript(modelCalls(up, 'responses').at(-1)!)).toEqual(['user: remember: blue', 'user: Which colour?'])
  })

  test('an unknown id is a 400 naming the input item, and nothing is stored or sent', async () => {
    const calls = modelCalls(up, 'responses').length
    const err = await rejectionOf(
      client.responses.create({
        model: 'test-model',
        input: [
          { role: 'user', content: 'hi' },
          { type: 'item_reference', id: 'msg_nope' },
        ],
      }),
    )
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'input.1', code: 'item_not_found' })
    expect(err.error.message).toContain('msg_nope')
    expect(modelCalls(up, 'responses').length).toBe(calls)
  })

  test("another tenant's item does not resolve", async () => {
    up.queue({ text: 'secret' })
    const r = await client.responses.create({ model: 'test-model', input: 'alice only' })
    const bob = new OpenAI({ baseURL: gw.baseURL, apiKey: 'key-b', maxRetries: 0 })
    const err = await rejectionOf(bob.responses.create({ model: 'test-model', input: [{ type: 'item_reference', id: r.output[0]!.id! }] }))
    expect(err.error).toMatchObject({ param: 'input.0', code: 'item_not_found' })
  })

  test('references in items added to a conversation resolve as well', async () => {
    up.queue({ text: 'noted' })
    const r = await client.responses.create({ model: 'test-model', input: 'a fact' })
    const conv = await client.conversations.create({})
    await client.conversations.items.create(conv.id, { items: [{ type: 'item_reference', id: r.output[0]!.id! }] })
    const listed = (await client.conversations.items.list(conv.id)).data as any[]
    expect(listed.map((i) => [i.type, i.role, i.content[0].text])).toEqual([['message', 'assistant', 'noted']])
    const err = await rejectionOf(client.conversations.items.create(conv.id, { items: [{ type: 'item_reference', id: 'msg_nope' }] }))
    expect(err.error).toMatchObject({ param: 'items.0', code: 'item_not_found' })
  })
})
