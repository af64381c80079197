// Upstream failures and client disconnects end in a clean error and a stored failed/incomplete response.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { startGateway, type TestGateway } from '../support/gateway'
import { collect } from '../support/sse'
import { waitFor } from '../support/wait'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({}, (s) => ({ up, gw, client } = s))

describe('upstream errors before streaming', () => {
  test('a 500 from the upstream → 502 for a JSON request, and a stored failed response', async () => {
    up.queue({ fault: 'status', status: 500, body: { error: { message: 'CUDA out of memory', type: 'InternalServerError', code: 500 } } })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'boom' }))
    expect(err.status).toBe(502)
    expect(err.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error', param: null })
    expect(err.error.message).toContain('CUDA out of memory')
    const id = err.error.message.match(/resp_[0-9a-f]+/)[0]
    const stored = await client.responses.retrieve(id)
    expect(stored.status).toBe('failed')
    expect(stored.error?.message).toContain('CUDA out of memory')
  })

  test('a 500 from the upstream on a stream → response.failed with the message, stored as failed', async () => {
    up.queue({ fault: 'status', status: 500, body: { error: { message: 'engine dead' } } })
    const events = await collect(await client.responses.create({ model: 'test-model', input: 'boom', stream: true }))
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.failed'])
    const failed = events.at(-1).response
    expect(failed.status).toBe('failed')
    expect(failed.error.message).toContain('engine dead')
    expect((await client.responses.retrieve(failed.id)).status).toBe('failed')
  })

  test('a 400 from the upstream is the client’s problem: passed on as a 400', async () => {
    up.queue({
      fault: 'status',
      status: 400,
      body: { object: 'error', message: "This model's maximum context length is 32768 tokens", type: 'BadRequestError', code: 400 },
    })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'too long' }))
    expect(err.status).toBe(400)
    expect(err.error.message).toContain('maximum context length')
  })

  test('a 429 from the upstream keeps its status and its Retry-After', async () => {
    up.queue({ fault: 'status', status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '3' } })
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x' }))
    expect(err.status).toBe(429)
    expect(err.error.type).toBe('rate_limit_error')
    expect(err.headers.get('retry-after')).toBe('3')
  })

  test('an upstream slower than the first-byte timeout → 504 and a stored failed response', async () => {
    const g = await startGateway({ upstream: up.url, env: { AGENTGATE_FIRST_BYTE_TIMEOUT_MS: '200' } })
    try {
      const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ fault: 'slow', delayMs: 1500 })
      const err = await rejectionOf(c.responses.create({ model: 'test-model', input: 'hurry' }))
      expect(err.status).toBe(504)
      expect(err.error.code).toBe('upstream_timeout')
      const id = err.error.message.match(/resp_[0-9a-f]+/)[0]
      expect((await c.responses.retrieve(id)).status).toBe('failed')
    } finally {
      await g.stop()
    }
  })

  test('an unreachable upstream → 502 and a stored failed response; the gateway keeps serving', async () => {
    const dead = startFakeUpstream()
    const deadUrl = dead.url
    await dead.stop()
    const g = await startGateway({ upstream: deadUrl })
    try {
      const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
      const err = await rejectionOf(c.responses.create({ model: 'test-model', input: 'anyone?' }))
      expect(err.status).toBe(502)
      expect(err.error.code).toBe('upstream_unreachable')
      const id = err.error.message.match(/resp_[0-9a-f]+/)[0]
      expect((await c.responses.retrieve(id)).status).toBe('failed')
      expect((await fetch(`${g.url}/health`)).status).toBe(200)
    } finally {
      await g.stop()
    }
  })
})

describe('upstream failures mid-stream', () => {
  test('a dropped connection → response.failed, stored failed with the partial output', async () => {
    up.queue({ fault: 'drop', afterEvents: 6 })
    const events = await collect(await client.responses.create({ model: 'test-model', input: 'tell me', stream: true }))
    expect(events.at(-1).type).toBe('response.failed')
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const failed = events.at(-1).response
    expect(failed.error.code).toBe('upstream_error')
    const stored = await client.responses.retrieve(failed.id)
    expect(stored.status).toBe('failed')
    expect(stored.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
    expect((stored.output[0] as any).content[0].text.length).toBeGreaterThan(0)
  })

  describe('a dropped connection is told in our words (no runtime hint) to every client and in the stored response', () => {
    const expected = () => `upstream stream failed (POST ${up.url}/responses): the upstream closed the connection mid-stream (ECONNRESET)`
    const noRuntimeText = (message: string) =>
      expect(message).not.toMatch(/verbose|fetch\(\)|socket connection was closed unexpectedly|For more information/)

    test('SSE: the response.failed event and the stored response', async () => {
      up.queue({ fault: 'drop', afterEvents: 6 })
      const events = await collect(await client.responses.create({ model: 'test-model', input: 'tell me', stream: true }))
      const failed = events.at(-1).response
      expect(failed.error).toEqual({ code: 'upstream_error', message: expected() })
      const stored = await client.responses.retrieve(failed.id)
      expect(stored.error).toEqual({ code: 'upstream_error', message: expected() } as any)
      noRuntimeText(JSON.stringify(stored))
    })

    test('HTTP JSON: the 502 body and the stored response', async () => {
      up.queue({ fault: 'drop', afterEvents: 6 })
      const res = await fetch(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'tell me' }),
      })
      expect(res.status).toBe(502)
      const body = (await res.json()) as any
      expect(body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_error' })
      expect(body.error.message).toStartWith(expected())
      noRuntimeText(body.error.message)
      const id = body.error.message.match(/resp_[0-9a-f]+/)[0]
      expect((await client.responses.retrieve(id)).error?.message).toBe(expected())
    })
  })

  test('a malformed event → response.failed naming the problem', async () => {
    up.queue({ fault: 'malformed', afterEvents: 4 })
    const events = await collect(await client.responses.create({ model: 'test-model', input: 'x', stream: true }))
    expect(events.at(-1).type).toBe('response.failed')
    expect(events.at(-1).response.error.message).toContain('not valid JSON')
  })

  test('an SSE line over --max-sse-line-bytes → response.failed, and the gateway keeps serving', async () => {
    const g = await startGateway({ upstream: up.url, env: { AGENTGATE_MAX_SSE_LINE_BYTES: '4096' } })
    try {
      const c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ text: 'z'.repeat(10_000), chunks: 1 })
      const events = await collect(await c.responses.create({ model: 'test-model', input: 'x', stream: true }))
      expect(events.at(-1).type).toBe('response.failed')
      expect(events.at(-1).response.error.message).toContain('longer than 4096 bytes')
      up.queue({ text: 'small' })
      expect((await c.responses.create({ model: 'test-model', input: 'again' })).output_text).toBe('small')
    } finally {
      await g.stop()
    }
  })

  test('a stream that ends without a terminal event → failed, not completed', async () => {
    up.queue({
      fault: 'raw',
      contentType: 'text/event-stream',
      body: 'event: response.created\ndata: {"type":"response.created","response":{}}\n\n',
    })
    const r = await rejectionOf(client.responses.create({ model: 'test-model', input: 'x' }))
    expect(r.status).toBe(502)
    expect(r.error.message).toContain('closed the stream before the response was complete')
  })
})

describe('client disconnect', () => {
  /** Starts a streamed turn, reads until its first text delta, then goes away; returns the response id. */
  async function leaveStreamAfterFirstDelta(): Promise<string> {
    const ctl = new AbortController()
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'slow', stream: true }),
      signal: ctl.signal,
    })
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('response.output_text.delta')) text += new TextDecoder().decode((await reader.read()).value)
    ctl.abort()
    return text.match(/"id":"(resp_[0-9a-f]+)"/)![1]
  }

  test('a client that goes away mid-stream leaves a stored incomplete response, and the upstream is cancelled', async () => {
    up.queue({ text: 'this is a slow answer with many words in it that takes a while', delayMs: 40 })
    const id = await leaveStreamAfterFirstDelta()
    const stored = await waitFor('the response to leave in_progress', async () => {
      const r = await client.responses.retrieve(id)
      return r.status !== 'in_progress' ? r : null
    })
    expect(stored.status).toBe('incomplete')
    expect(stored.incomplete_details as unknown).toEqual({ reason: 'client_disconnected' })
    expect(stored.output[0]).toMatchObject({ type: 'message', status: 'incomplete' })
  })

  test('a client that goes away stops the turn there: the upstream is not read to its end', async () => {
    // 60 words, 30 ms apart: read to its end, the stored message would hold them all
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`)
    up.queue({ text: words.join(' '), delayMs: 30 })
    const id = await leaveStreamAfterFirstDelta()
    const stored = await waitFor('the response to leave in_progress', async () => {
      const r = await client.responses.retrieve(id)
      return r.status !== 'in_progress' ? r : null
    })
    expect(stored.status).toBe('incomplete')
    const message = stored.output[0] as { content: { text: string }[] }
    const kept = message.content[0]!.text.split(/\s+/).filter(Boolean).length
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(words.length / 2)
  })

  test('the stored event log of an interrupted stream ends with its terminal event', async () => {
    up.queue({ text: 'another slow answer with quite a few words', delayMs: 40 })
    const id = await leaveStreamAfterFirstDelta()
    await waitFor('the response to be incomplete', async () =>
      (await client.responses.retrieve(id)).status === 'incomplete' ? true : null,
    )
    const events = await gw.store.listEvents(id, -1)
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    expect(events.at(-1)!.type).toBe('response.incomplete')
  })
})
