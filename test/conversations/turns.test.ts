// POST /v1/responses with `conversation`: the conversation's items are the history, the turn's input and output are
// appended when it completes, and two turns on one conversation are never interleaved (the second gets a 409 while
// the first runs — also when they arrive at two gateway processes sharing the database).
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import type { FakeUpstream, RecordedRequest } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { waitFor } from '../support/wait'
import { useGateway } from '../support/suite'
import type { JsonStore } from '../store/fixtures'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({ gateway: { logLevel: 'warn' } }, (s) => ({ up, gw, client } = s))

/** What the upstream saw, as "role: text" lines. */
function transcript(req: RecordedRequest): string[] {
  return req.body.input.map((i: any) => (i.type === 'message' ? `${i.role}: ${i.content.map((p: any) => p.text).join('')}` : `${i.type}`))
}
const lastUpstream = () => up.requestsTo('/v1/responses').at(-1)!
const itemsOf = async (convId: string) => (await client.conversations.items.list(convId, { order: 'asc', limit: 100 })).data as any[]
const texts = (items: any[]) => items.map((i) => `${i.role}: ${i.content.map((p: any) => p.text).join('')}`)

describe('history and appending', () => {
  test('two turns build the conversation: the model sees its items, then the new input; both turns are appended', async () => {
    const c = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'My name is Ada.' }] })
    up.queue({ text: 'Nice to meet you, Ada.' })
    const r1 = await client.responses.create({ model: 'test-model', input: 'Remember that.', conversation: c.id })
    expect(r1.status).toBe('completed')
    expect(r1.conversation).toEqual({ id: c.id })
    expect(r1.previous_response_id).toBeNull()
    expect(transcript(lastUpstream())).toEqual(['user: My name is Ada.', 'user: Remember that.'])

    up.queue({ text: 'Your name is Ada.' })
    const r2 = await client.responses.create({ model: 'test-model', input: 'What is my name?', conversation: { id: c.id } })
    expect(r2.conversation).toEqual({ id: c.id })
    expect(transcript(lastUpstream())).toEqual([
      'user: My name is Ada.',
      'user: Remember that.',
      'assistant: Nice to meet you, Ada.',
      'user: What is my name?',
    ])

    const items = await itemsOf(c.id)
    expect(texts(items)).toEqual([
      'user: My name is Ada.',
      'user: Remember that.',
      'assistant: Nice to meet you, Ada.',
      'user: What is my name?',
      'assistant: Your name is Ada.',
    ])
    // the same ids as the responses show; every message has a status
    expect(items[2].id).toBe(r1.output[0].id)
    expect(items[4]).toEqual(r2.output[0])
    const r2Input = (await client.responses.inputItems.list(r2.id)).data
    expect(items[3].id).toBe(r2Input[0].id)
    expect(items.every((i) => i.status === 'completed')).toBe(true)
    // retrieve shows the conversation too
    expect((await client.responses.retrieve(r2.id)).conversation).toEqual({ id: c.id })
  })

  test('a streamed turn is appended as well, function calls included', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'Let me look.', functionCalls: [{ name: 'lookup', arguments: '{"q":"x"}', call_id: 'call_9' }] })
    const stream = await client.responses.create({
      model: 'test-model',
      input: 'Look it up',
      conversation: c.id,
      stream: true,
      tools: [{ type: 'function', name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } }, strict: false }],
    })
    let final: any
    for await (const e of stream) if (e.type === 'response.completed') final = e.response
    expect(final.conversation).toEqual({ id: c.id })
    const items = await itemsOf(c.id)
    expect(items.map((i) => i.type)).toEqual(['message', 'message', 'function_call'])
    expect(items[2]).toMatchObject({ call_id: 'call_9', name: 'lookup', arguments: '{"q":"x"}' })

    up.queue({ text: 'Found it.' })
    const r = await client.responses.create({
      model: 'test-model',
      input: [{ type: 'function_call_output', call_id: 'call_9', output: 'result' }],
      conversation: c.id,
    })
    expect(r.output_text).toBe('Found it.')
    expect(lastUpstream().body.input.map((i: any) => i.type)).toEqual(['message', 'message', 'function_call', 'function_call_output'])
    expect((await itemsOf(c.id)).map((i) => i.type)).toEqual(['message', 'message', 'function_call', 'function_call_output', 'message'])
  })

  test('a failed turn appends nothing and frees the conversation', async () => {
    const c = await client.conversations.create({ items: [{ type: 'message', role: 'user', content: 'before' }] })
    up.queue({ fault: 'status', status: 500 })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'this fails', conversation: c.id }))
    expect(err.status).toBe(502)
    expect(texts(await itemsOf(c.id))).toEqual(['user: before'])
    const r = await client.responses.create({ model: 'test-model', input: 'retry', conversation: c.id })
    expect(r.status).toBe('completed')
    expect(texts(await itemsOf(c.id))).toEqual(['user: before', 'user: retry', 'assistant: Hello from the fake upstream.'])
  })

  test('a turn the model cut short (max_output_tokens) is appended with its incomplete output', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'A long answer that was cut', status: 'incomplete' })
    const r = await client.responses.create({ model: 'test-model', input: 'Tell me everything', conversation: c.id })
    expect(r.status).toBe('incomplete')
    const items = await itemsOf(c.id)
    expect(texts(items)).toEqual(['user: Tell me everything', 'assistant: A long answer that was cut'])
    expect(items[1].status).toBe('incomplete')
  })

  test('a turn whose client went away appends nothing', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'a slow answer with many words that takes a while to stream', delayMs: 40 })
    const ctl = new AbortController()
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: ctl.signal,
      body: JSON.stringify({ model: 'test-model', input: 'slow', stream: true, conversation: c.id }),
    })
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value)
    const id = text.match(/"id":"(resp_[0-9a-f]+)"/)![1]
    ctl.abort()
    await waitFor('the response to be incomplete', async () => (await client.responses.retrieve(id)).status === 'incomplete')
    expect(await itemsOf(c.id)).toEqual([])
    // and the conversation is free again
    expect((await client.responses.create({ model: 'test-model', input: 'again', conversation: c.id })).status).toBe('completed')
  })

  test('store:false in a conversation still keeps the turn (the conversation implies storage)', async () => {
    const c = await client.conversations.create()
    const r = await client.responses.create({ model: 'test-model', input: 'kept', conversation: c.id, store: false })
    expect((r as any).store).toBe(true)
    expect((await client.responses.retrieve(r.id)).id).toBe(r.id)
    expect(texts(await itemsOf(c.id))).toEqual(['user: kept', 'assistant: Hello from the fake upstream.'])
  })

  test('a conversation deleted while its turn runs gets nothing appended; the turn still completes', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'slow words for a deleted conversation', delayMs: 30 })
    const pending = client.responses.create({ model: 'test-model', input: 'x', conversation: c.id })
    await Bun.sleep(60)
    await client.conversations.delete(c.id)
    expect((await pending).status).toBe('completed')
    expect(await gw.store.listConversationItems('default', c.id, { limit: 100, order: 'asc' })).toBeNull()
  })
})

describe('bad conversation references', () => {
  test('an unknown conversation is a 404 naming the conversation parameter; nothing is stored', async () => {
    const before = up.requestsTo('/v1/responses').length
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x', conversation: 'conv_nope' }))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.error).toMatchObject({
      param: 'conversation',
      code: 'conversation_not_found',
      message: "Conversation with id 'conv_nope' not found.",
    })
    expect(up.requestsTo('/v1/responses').length).toBe(before)
  })

  test('a deleted conversation is unknown', async () => {
    const c = await client.conversations.create()
    await client.conversations.delete(c.id)
    expect(await rejectionOf(client.responses.create({ model: 'test-model', input: 'x', conversation: c.id }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    )
  })

  test('conversation with previous_response_id is a 400', async () => {
    const c = await client.conversations.create()
    const err = await rejectionOf(
      client.responses.create({ model: 'test-model', input: 'x', conversation: c.id, previous_response_id: 'resp_x' }),
    )
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error.param).toBe('conversation')
  })

  test('an empty conversation id is a 400', async () => {
    const r = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'x', conversation: '' }),
    })
    expect(r.status).toBe(400)
  })
})

describe('concurrent turns on one conversation', () => {
  test('while a turn runs, another turn and item appends get 409 conversation_locked; afterwards it is free', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'one two three four five six seven eight', delayMs: 30 })
    const first = client.responses.create({ model: 'test-model', input: 'first', conversation: c.id })
    await waitFor(
      'the first turn to reach the upstream',
      async () =>
        (await gw.store.listConversationItems('default', c.id, { limit: 1, order: 'asc' })) &&
        up.requestsTo('/v1/responses').at(-1)?.body.input.at(-1)?.content[0].text === 'first',
    )
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'second', conversation: c.id }))
    expect(err).toBeInstanceOf(OpenAI.ConflictError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'conversation_locked', param: 'conversation' })
    expect(err.error.message).toContain(c.id)
    const appendErr = await rejectionOf(
      client.conversations.items.create(c.id, { items: [{ type: 'message', role: 'user', content: 'sneaky' }] }),
    )
    expect(appendErr).toBeInstanceOf(OpenAI.ConflictError)
    expect((await first).status).toBe('completed')
    expect(texts(await itemsOf(c.id))).toEqual(['user: first', 'assistant: one two three four five six seven eight'])
    expect((await client.responses.create({ model: 'test-model', input: 'second', conversation: c.id })).status).toBe('completed')
  })

  test('of many simultaneous turns exactly one runs; the conversation holds exactly its input and output', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'the winner', delayMs: 20 })
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => client.responses.create({ model: 'test-model', input: `racer ${i}`, conversation: c.id })),
    )
    const won = results.filter((r) => r.status === 'fulfilled')
    const lost = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[]
    expect(won).toHaveLength(1)
    expect(lost.every((r) => r.reason instanceof OpenAI.ConflictError)).toBe(true)
    const items = await itemsOf(c.id)
    expect(items).toHaveLength(2)
    expect(items[0].content[0].text).toMatch(/^racer \d$/)
  })

  test('two gateway processes sharing one database never interleave turns on a conversation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-shared-'))
    const a = await startGateway({ upstream: up.url, dir, logLevel: 'warn' })
    const b = await startGateway({ upstream: up.url, dir, logLevel: 'warn' })
    try {
      const ca = new OpenAI({ baseURL: a.baseURL, apiKey: 'unused', maxRetries: 0 })
      const cb = new OpenAI({ baseURL: b.baseURL, apiKey: 'unused', maxRetries: 0 })
      const c = await ca.conversations.create()
      expect((await cb.conversations.retrieve(c.id)).id).toBe(c.id)
      up.queue({ text: 'a slow answer from gateway a', delayMs: 30 })
      const onA = ca.responses.create({ model: 'test-model', input: 'on a', conversation: c.id })
      await Bun.sleep(80)
      expect(await rejectionOf(cb.responses.create({ model: 'test-model', input: 'on b', conversation: c.id }))).toBeInstanceOf(
        OpenAI.ConflictError,
      )
      expect((await onA).status).toBe('completed')
      const r = await cb.responses.create({ model: 'test-model', input: 'on b', conversation: c.id })
      expect(transcript(lastUpstream())).toEqual(['user: on a', 'assistant: a slow answer from gateway a', 'user: on b'])
      expect(r.status).toBe('completed')
    } finally {
      await a.stop({ keepDir: true })
      await b.stop({ keepDir: true })
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a turn whose process died (expired lease) does not hold the conversation', async () => {
    const c = await client.conversations.create()
    // A turn that took the lock in a process that is gone: its lease expired long ago.
    const store: JsonStore = gw.store
    const started = await store.startConversationTurn(
      {
        id: 'resp_dead',
        tenant: 'default',
        status: 'in_progress',
        model: 'test-model',
        request: {},
        response: {},
        error: null,
        previousResponseId: null,
        conversationId: c.id,
        background: false,
        createdAt: 1,
        updatedAt: 1,
        completedAt: null,
        requestId: null,
      },
      [],
      { owner: 'elsewhere/1/x', expiresAt: Date.now() - 1 },
    )
    expect(started.ok).toBe(true)
    expect((await client.responses.create({ model: 'test-model', input: 'after the crash', conversation: c.id })).status).toBe('completed')
  })
})
