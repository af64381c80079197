// Each key is a tenant, and a tenant never sees another's objects: for every way of reaching a stored response or
// conversation (retrieve, input items, cancel, delete, resume, previous_response_id, conversation turns, the items
// routes, a WebSocket's previous_response_id) the other tenant gets a 404 — exactly what an unknown id gets, never
// a 403 that would confirm the id exists — and its object is untouched. Background runs and recovery keep the tenant.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { readAnswer } from '../support/answer'
import { openSocket } from '../support/ws-client'
import { waitFor } from '../support/wait'

const KEY_A = 'sk-tenant-a-31b5e0c2'
const KEY_B = 'sk-tenant-b-9a6f7d14'
const KEYS = `team-a:${KEY_A},team-b:${KEY_B}`

let up: FakeUpstream
let gw: TestGateway
let a: OpenAI
let b: OpenAI

beforeAll(async () => {
  up = startFakeUpstream()
  gw = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: KEYS } })
  a = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_A, maxRetries: 0 })
  b = new OpenAI({ baseURL: gw.baseURL, apiKey: KEY_B, maxRetries: 0 })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

/** A raw request as tenant `key`. */
async function as(key: string, method: string, path: string, body?: unknown) {
  const r = await fetch(gw.baseURL + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const { status, json, text } = await readAnswer(r)
  return { status, body: json, text }
}

/** The 404 another tenant gets is the 404 of an id that never existed (same status, code, param, message shape). */
async function expectSameAsUnknown(key: string, method: string, path: string, realId: string, unknownId: string, body?: unknown) {
  const real = await as(key, method, path.replace('{id}', realId), body)
  const unknown = await as(key, method, path.replace('{id}', unknownId), body)
  expect({ path, status: real.status }).toEqual({ path, status: 404 })
  expect(real.body.error.code).toBe(unknown.body.error.code)
  expect(real.body.error.param).toBe(unknown.body.error.param)
  expect(real.body.error.message.replaceAll(realId, 'ID')).toBe(unknown.body.error.message.replaceAll(unknownId, 'ID'))
}

describe('responses', () => {
  let rA: OpenAI.Responses.Response

  beforeAll(async () => {
    up.queue({ text: 'secret answer of team a' })
    rA = await a.responses.create({ model: 'test-model', input: 'team a question' })
  })

  test('retrieve, input_items, cancel, delete and resume by another tenant are 404s, as for an unknown id', async () => {
    const unknown = 'resp_0000000000000000000000000000dead'
    for (const [method, path] of [
      ['GET', '/responses/{id}'],
      ['GET', '/responses/{id}/input_items'],
      ['POST', '/responses/{id}/cancel'],
      ['DELETE', '/responses/{id}'],
      ['GET', '/responses/{id}?stream=true'],
    ] as const)
      await expectSameAsUnknown(KEY_B, method, path, rA.id, unknown)
    // still there, untouched, for its owner
    const again = await a.responses.retrieve(rA.id)
    expect(again.output_text).toBe('secret answer of team a')
    expect((await a.responses.inputItems.list(rA.id)).data).toHaveLength(1)
  })

  test('the SDK of the other tenant gets NotFoundError', async () => {
    expect(await rejectionOf(b.responses.retrieve(rA.id))).toBeInstanceOf(OpenAI.NotFoundError)
    expect(await rejectionOf(b.responses.delete(rA.id))).toBeInstanceOf(OpenAI.NotFoundError)
  })

  test('another tenant cannot chain on it with previous_response_id (404, nothing sent upstream, nothing stored)', async () => {
    const calls = up.requestsTo('/v1/responses').length
    const err = await rejectionOf(b.responses.create({ model: 'test-model', input: 'what did a say?', previous_response_id: rA.id }))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.param).toBe('previous_response_id')
    expect(up.requestsTo('/v1/responses').length).toBe(calls)
    // its owner can
    up.queue({ text: 'chained' })
    const next = await a.responses.create({ model: 'test-model', input: 'go on', previous_response_id: rA.id })
    expect(next.status).toBe('completed')
    const sent = up.requestsTo('/v1/responses').at(-1)!.body.input
    expect(JSON.stringify(sent)).toContain('secret answer of team a')
  })

  test('a streamed response cannot be resumed by another tenant; its owner can', async () => {
    up.queue({ text: 'streamed for a' })
    const stream = await a.responses.create({ model: 'test-model', input: 'stream it', stream: true })
    let id = ''
    for await (const e of stream) if (e.type === 'response.completed') id = e.response.id
    expect((await as(KEY_B, 'GET', `/responses/${id}?stream=true`)).status).toBe(404)
    const resumed = await as(KEY_A, 'GET', `/responses/${id}?stream=true`)
    expect(resumed.status).toBe(200)
    expect(resumed.text).toContain('response.completed')
  })

  test('a background response runs and ends under its tenant; the other tenant can neither see nor cancel it', async () => {
    up.queue({ text: 'one two three four five six seven eight nine ten', delayMs: 40 })
    const queued = await a.responses.create({ model: 'test-model', input: 'background work', background: true })
    expect((await as(KEY_B, 'POST', `/responses/${queued.id}/cancel`)).status).toBe(404)
    expect((await as(KEY_B, 'GET', `/responses/${queued.id}`)).status).toBe(404)
    const done = await waitFor(
      'the background response to complete',
      async () => {
        const r = await a.responses.retrieve(queued.id)
        return r.status === 'completed' ? r : null
      },
      8000,
    )
    expect(done.output_text).toBe('one two three four five six seven eight nine ten')
    const rec = await gw.store.getResponse('team-a', queued.id)
    expect(rec?.tenant).toBe('team-a')
    expect(await gw.store.getResponse('team-b', queued.id)).toBeNull()
  })

  test("a tenant's cancel of its own background response works while the other's does nothing", async () => {
    up.queue({ text: 'slow '.repeat(60), delayMs: 30 })
    const queued = await a.responses.create({ model: 'test-model', input: 'long background work', background: true })
    expect((await as(KEY_B, 'POST', `/responses/${queued.id}/cancel`)).status).toBe(404)
    expect((await a.responses.retrieve(queued.id)).status).not.toBe('cancelled')
    const cancelled = await a.responses.cancel(queued.id)
    expect(cancelled.status).toBe('cancelled')
  })
})

describe('conversations', () => {
  let convA: string

  beforeAll(async () => {
    const c = await a.conversations.create({
      items: [{ type: 'message', role: 'user', content: 'a private note' }],
      metadata: { owner: 'a' },
    })
    convA = c.id
  })

  test('every conversation route of another tenant is a 404, as for an unknown id, and changes nothing', async () => {
    const itemId = (await a.conversations.items.list(convA)).data[0].id!
    const unknown = 'conv_0000000000000000000000000000dead'
    for (const [method, path, body] of [
      ['GET', '/conversations/{id}'],
      ['POST', '/conversations/{id}', { metadata: { owner: 'b' } }],
      ['GET', '/conversations/{id}/items'],
      ['POST', '/conversations/{id}/items', { items: [{ type: 'message', role: 'user', content: 'injected by b' }] }],
      ['GET', `/conversations/{id}/items/${itemId}`],
      ['DELETE', `/conversations/{id}/items/${itemId}`],
      ['DELETE', '/conversations/{id}'],
    ] as const)
      await expectSameAsUnknown(KEY_B, method, path, convA, unknown, body)
    const c = await a.conversations.retrieve(convA)
    expect(c.metadata).toEqual({ owner: 'a' })
    const items = (await a.conversations.items.list(convA)).data as any[]
    expect(items.map((i) => i.content[0].text)).toEqual(['a private note'])
  })

  test('another tenant cannot continue it (404 naming conversation, no model call, nothing stored); its owner can', async () => {
    const calls = up.requestsTo('/v1/responses').length
    const err = await rejectionOf(b.responses.create({ model: 'test-model', input: 'continue', conversation: convA }))
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect(err.param).toBe('conversation')
    expect(up.requestsTo('/v1/responses').length).toBe(calls)
    up.queue({ text: 'continued for a' })
    const r = await a.responses.create({ model: 'test-model', input: 'continue', conversation: convA })
    expect(r.status).toBe('completed')
    expect((await a.conversations.items.list(convA)).data).toHaveLength(3)
  })
})

describe('WebSocket', () => {
  const socket = (key: string) => openSocket(gw.url, { headers: { authorization: `Bearer ${key}` } })

  test("previous_response_id of another tenant's response is an error frame 404; the socket stays usable", async () => {
    up.queue({ text: 'a over http' })
    const rA = await a.responses.create({ model: 'test-model', input: 'for a' })
    const s = await socket(KEY_B)
    const calls = up.requestsTo('/v1/responses').length
    s.create({ previous_response_id: rA.id, input: 'steal' })
    const err = await s.next((f) => f.type === 'error')
    expect(err).toMatchObject({ status: 404, error: { code: 'previous_response_not_found', param: 'previous_response_id' } })
    expect(up.requestsTo('/v1/responses').length).toBe(calls)
    up.queue({ text: 'b over ws' })
    s.create({ input: 'own turn' })
    const done = await s.next((f) => f.type === 'response.completed')
    s.ws.close()
    // the socket's turns are tenant b's
    expect((await b.responses.retrieve(done.response.id)).output_text).toBe('b over ws')
    expect((await as(KEY_A, 'GET', `/responses/${done.response.id}`)).status).toBe(404)
  })

  test("a tenant's socket chains on its own HTTP responses (Codex prewarm flow)", async () => {
    const s = await socket(KEY_A)
    s.create({
      generate: false,
      store: false,
      input: [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'base' }] }],
    })
    const prewarm = await s.next((f) => f.type === 'response.completed')
    up.queue({ text: 'turn one' })
    s.create({ store: false, previous_response_id: prewarm.response.id, input: 'hello' })
    const turn = await s.next((f) => f.type === 'response.completed' && f.response.id !== prewarm.response.id)
    s.ws.close()
    const chain = await gw.store.loadChain('team-a', turn.response.id)
    expect(chain?.responses.map((r) => r.tenant)).toEqual(['team-a', 'team-a'])
    expect(await gw.store.loadChain('team-b', turn.response.id)).toBeNull()
  })
})

test('recovery marks an interrupted turn failed and keeps its tenant', async () => {
  // A turn whose process died: in_progress under team-a, with a lease that has run out.
  up.queue({ text: 'template' })
  const template = (await gw.store.getResponse('team-a', (await a.responses.create({ model: 'test-model', input: 'x' })).id))!
  const now = Date.now()
  const id = 'resp_00000000000000000000000000recov1'
  const rec = {
    ...template,
    id,
    status: 'in_progress' as const,
    response: { ...template.response, id, status: 'in_progress' as const, output: [], completed_at: null, usage: null },
    background: true,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
  }
  await gw.store.createResponse(rec, [], { owner: 'some-host/1/x', expiresAt: now - 1 })
  expect(await gw.store.failInterrupted('The gateway stopped while this response was running.', now)).toContain(rec.id)
  expect((await a.responses.retrieve(rec.id)).status).toBe('failed')
  expect((await as(KEY_B, 'GET', `/responses/${rec.id}`)).status).toBe(404)
})

test('data stored with auth off belongs to the "default" tenant: keyed tenants do not see it, a default:KEY does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-tenants-'))
  try {
    const open = await startGateway({ upstream: up.url, dir })
    const plain = new OpenAI({ baseURL: open.baseURL, apiKey: 'unused', maxRetries: 0 })
    const r = await plain.responses.create({ model: 'test-model', input: 'before auth' })
    await open.stop({ keepDir: true })
    const keyed = await startGateway({ upstream: up.url, dir, env: { AGENTGATE_API_KEYS: `${KEYS},default:sk-default-key-1` } })
    try {
      expect((await fetch(`${keyed.baseURL}/responses/${r.id}`, { headers: { authorization: `Bearer ${KEY_A}` } })).status).toBe(404)
      expect((await fetch(`${keyed.baseURL}/responses/${r.id}`, { headers: { authorization: 'Bearer sk-default-key-1' } })).status).toBe(
        200,
      )
    } finally {
      await keyed.stop({ keepDir: true })
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
