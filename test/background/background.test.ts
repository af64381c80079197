// background:true through the real HTTP surface with the openai SDK: queued at once, runs in the gateway whatever
// the client does, progress on retrieve, cancel (here and from another process sharing the database).
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import type { FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { waitFor } from '../support/wait'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({}, (s) => ({ up, gw, client } = s))

const WAIT_MS = 8000
const settled = (c: OpenAI, id: string) =>
  waitFor(
    `${id} to settle`,
    async () => {
      const r = await c.responses.retrieve(id)
      return r.status !== 'queued' && r.status !== 'in_progress' ? r : null
    },
    WAIT_MS,
  )
const SLOW =
  'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty'

describe('background responses', () => {
  test('come back at once as queued, then run to completed; retrieve shows the result', async () => {
    up.queue({ text: 'Done in the background.', delayMs: 20 })
    const started = Date.now()
    const r = await client.responses.create({ model: 'test-model', input: 'work', background: true })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(r.status).toBe('queued')
    expect(r.background).toBe(true)
    expect(r.output).toEqual([])
    expect(r.completed_at).toBeNull()
    const done = await settled(client, r.id)
    expect(done.status).toBe('completed')
    expect(done.output_text).toBe('Done in the background.')
    expect(done.background).toBe(true)
    expect(done.usage).not.toBeNull()
  })

  test('retrieve shows in_progress with the output so far while the turn runs', async () => {
    up.queue({ text: SLOW, delayMs: 60 })
    const r = await client.responses.create({ model: 'test-model', input: 'slow work', background: true })
    const partial = await waitFor(
      'output while in_progress',
      async () => {
        const cur = await client.responses.retrieve(r.id)
        // The message item is there from output_item.added, its first part only from content_part.added: wait
        // for some text, not only the item (a snapshot between the two shows the item with no content yet).
        const text = (cur.output[0] as any)?.content?.[0]?.text
        return cur.status === 'in_progress' && text ? cur : null
      },
      WAIT_MS,
    )
    expect(partial.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
    expect(SLOW.startsWith((partial.output[0] as any).content[0].text)).toBe(true)
    expect((await settled(client, r.id)).output_text).toBe(SLOW)
  })

  test('the event log starts created (queued), queued, in_progress and ends completed, numbered without gaps', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'log me', background: true })
    await settled(client, r.id)
    const events = await gw.store.listEvents(r.id, -1)
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    expect(events.slice(0, 3).map((e) => [e.type, 'response' in e ? e.response.status : null])).toEqual([
      ['response.created', 'queued'],
      ['response.queued', 'queued'],
      ['response.in_progress', 'in_progress'],
    ])
    expect(events.at(-1)!.type).toBe('response.completed')
  })

  test('a background stream the client drops keeps running to completion', async () => {
    up.queue({ text: SLOW, delayMs: 20 })
    const ctl = new AbortController()
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: ctl.signal,
      body: JSON.stringify({ model: 'test-model', input: 'stream then leave', background: true, stream: true }),
    })
    expect(res.headers.get('content-type')).toContain('text/event-stream')
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('event: response.queued')
    const id = text.match(/"id":"(resp_[0-9a-f]+)"/)![1]
    ctl.abort()
    const done = await settled(client, id)
    expect(done.status).toBe('completed')
    expect(done.output_text).toBe(SLOW)
  })

  test('a background stream read to the end is the whole turn, queued event included', async () => {
    const stream = await client.responses.create({ model: 'test-model', input: 'stream it all', background: true, stream: true })
    const types: string[] = []
    for await (const e of stream) types.push(e.type)
    expect(types.slice(0, 3)).toEqual(['response.created', 'response.queued', 'response.in_progress'])
    expect(types.at(-1)).toBe('response.completed')
  })

  test('background with store:false is a 400', async () => {
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x', background: true, store: false }))
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'store' })
  })

  test('an upstream failure ends the background response as failed, with the error', async () => {
    up.queue({ fault: 'status', status: 500 })
    const r = await client.responses.create({ model: 'test-model', input: 'x', background: true })
    const done = await settled(client, r.id)
    expect(done.status).toBe('failed')
    expect(done.error).toMatchObject({ code: expect.any(String), message: expect.any(String) })
  })

  test('a background turn in a conversation is appended when it completes', async () => {
    const c = await client.conversations.create()
    up.queue({ text: 'background answer', delayMs: 10 })
    const r = await client.responses.create({ model: 'test-model', input: 'bg in conv', background: true, conversation: c.id })
    expect(r.conversation).toEqual({ id: c.id })
    await settled(client, r.id)
    const items = (await client.conversations.items.list(c.id, { order: 'asc' })).data as any[]
    expect(items.map((i) => i.content[0].text)).toEqual(['bg in conv', 'background answer'])
  })
})

describe('cancel', () => {
  test('stops a running background response: cancelled, output so far kept, upstream call abandoned', async () => {
    up.queue({ text: SLOW, delayMs: 80 })
    const r = await client.responses.create({ model: 'test-model', input: 'cancel me', background: true })
    await waitFor(
      'a stored text delta',
      async () => (await gw.store.listEvents(r.id, -1)).some((e) => e.type === 'response.output_text.delta'),
      WAIT_MS,
    )
    const cancelled = await client.responses.cancel(r.id)
    expect(cancelled.id).toBe(r.id)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.completed_at).toBeNull()
    expect(cancelled.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
    const text = (cancelled.output[0] as any).content[0].text
    expect(text.length).toBeGreaterThan(0)
    expect(text.length).toBeLessThan(SLOW.length)
    // it stays cancelled: the runner stopped and stores nothing more
    const events = await gw.store.listEvents(r.id, -1)
    await Bun.sleep(300)
    expect((await gw.store.listEvents(r.id, -1)).length).toBe(events.length)
    expect(events.map((e) => e.type)).not.toContain('response.completed')
    expect(await client.responses.retrieve(r.id)).toEqual(cancelled)
  })

  test('cancelling a queued/just-started response before the model answers leaves no output', async () => {
    up.queue({ fault: 'slow', delayMs: 400 })
    const r = await client.responses.create({ model: 'test-model', input: 'never mind', background: true })
    const cancelled = await client.responses.cancel(r.id)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.output).toEqual([])
    await Bun.sleep(500)
    expect((await client.responses.retrieve(r.id)).status).toBe('cancelled')
  })

  test('cancelling a finished response is a 409 and leaves it unchanged; cancelling twice is the same', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'quick', background: true })
    const done = await settled(client, r.id)
    const err = await rejectionOf(client.responses.cancel(r.id))
    expect(err).toBeInstanceOf(OpenAI.ConflictError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'response_already_finished' })
    expect(await client.responses.retrieve(r.id)).toEqual(done)

    up.queue({ text: SLOW, delayMs: 50 })
    const r2 = await client.responses.create({ model: 'test-model', input: 'cancel twice', background: true })
    const first = await client.responses.cancel(r2.id)
    expect(await client.responses.cancel(r2.id)).toEqual(first)
  })

  test('cancelling a response that is not a background one is a 400; an unknown id is a 404', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'foreground' })
    const err = await rejectionOf(client.responses.cancel(r.id))
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error.message).toContain('background')
    expect(await rejectionOf(client.responses.cancel('resp_nope'))).toBeInstanceOf(OpenAI.NotFoundError)
  })

  test('a cancelled turn frees its conversation and appends nothing', async () => {
    const c = await client.conversations.create()
    up.queue({ text: SLOW, delayMs: 50 })
    const r = await client.responses.create({ model: 'test-model', input: 'cancel in conv', background: true, conversation: c.id })
    await Bun.sleep(100)
    await client.responses.cancel(r.id)
    expect((await client.conversations.items.list(c.id)).data).toEqual([])
    expect((await client.responses.create({ model: 'test-model', input: 'next', conversation: c.id })).status).toBe('completed')
  })

  test('works when the turn runs in another gateway process sharing the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentgate-shared-'))
    const a = await startGateway({ upstream: up.url, dir })
    const b = await startGateway({ upstream: up.url, dir })
    try {
      const ca = new OpenAI({ baseURL: a.baseURL, apiKey: 'unused', maxRetries: 0 })
      const cb = new OpenAI({ baseURL: b.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ text: SLOW, delayMs: 80 })
      const r = await ca.responses.create({ model: 'test-model', input: 'run on a', background: true })
      await waitFor(
        'a stored text delta',
        async () => (await b.store.listEvents(r.id, -1)).some((e) => e.type === 'response.output_text.delta'),
        WAIT_MS,
      )
      // B does not run it: the cancel is the stored status, which A's runner notices and stops for.
      const cancelled = await cb.responses.cancel(r.id)
      expect(cancelled.status).toBe('cancelled')
      await waitFor(
        'the cancelled turn logged as finished',
        async () => a.logs.some((l) => l.includes('"turn finished"') && l.includes(r.id) && l.includes('"status":"cancelled"')),
        3000,
      )
      const final = await ca.responses.retrieve(r.id)
      expect(final.status).toBe('cancelled')
      expect((final.output[0] as any).content[0].text.length).toBeLessThan(SLOW.length)
      const events = await a.store.listEvents(r.id, -1)
      await Bun.sleep(300)
      expect((await a.store.listEvents(r.id, -1)).length).toBe(events.length)
    } finally {
      await a.stop({ keepDir: true })
      await b.stop({ keepDir: true })
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
