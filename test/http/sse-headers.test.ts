// The headers of every Server-Sent Events answer (a streamed turn, a background turn streamed, a replay, a streamed
// Messages turn): the stream's own (content type, no caching, no proxy buffering) and the request's id, once, under
// the names each API's clients read. The routes hand their Response to Elysia as it is (http/as-is.ts), with the
// headers the request's hooks gathered moved onto it.
import { describe, expect, test } from 'bun:test'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { parseSse } from '../support/sse'
import { useGateway } from '../support/suite'

const STREAM_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' }

/** The headers a test looks at, as the client got them (a header sent twice would read "a, a"). */
const headersOf = (res: Response, names: string[]) => Object.fromEntries(names.map((n) => [n, res.headers.get(n)]))

describe('SSE answers carry the stream headers and the request id', () => {
  let up: FakeUpstream
  let gw: TestGateway
  useGateway({ gateway: { logLevel: 'warn' } }, (s) => ({ up, gw } = s))

  const post = (path: string, body: unknown, requestId: string) =>
    fetch(gw.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(body),
    })
  const names = ['content-type', 'cache-control', 'x-accel-buffering', 'x-request-id', 'request-id']

  test('a streamed turn, and its replay', async () => {
    up.queue({ text: 'one two three' })
    const res = await post('/v1/responses', { model: 'test-model', input: 'hi', stream: true }, 'req-sse-stream')
    expect(headersOf(res, names)).toEqual({ ...STREAM_HEADERS, 'x-request-id': 'req-sse-stream', 'request-id': null })
    const events = parseSse(await res.text())
    expect(events.at(-1).type).toBe('response.completed')

    const replay = await fetch(`${gw.url}/v1/responses/${events[0].response.id}?stream=true`, {
      headers: { 'x-request-id': 'req-sse-replay' },
    })
    expect(headersOf(replay, names)).toEqual({ ...STREAM_HEADERS, 'x-request-id': 'req-sse-replay', 'request-id': null })
    expect(parseSse(await replay.text())).toEqual(events)
  })

  test('a background turn streamed', async () => {
    up.queue({ text: 'in the background' })
    const res = await post('/v1/responses', { model: 'test-model', input: 'hi', stream: true, background: true }, 'req-sse-bg')
    expect(headersOf(res, names)).toEqual({ ...STREAM_HEADERS, 'x-request-id': 'req-sse-bg', 'request-id': null })
    expect(parseSse(await res.text()).at(-1).type).toBe('response.completed')
  })

  test('a streamed Messages turn: request-id and x-request-id, and the id of the stored response', async () => {
    up.queue({ text: 'hello there' })
    const res = await post(
      '/v1/messages',
      { model: 'test-model', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'hi' }] },
      'req-sse-msg',
    )
    const stored = res.headers.get('x-agentgate-response-id')
    expect(headersOf(res, names)).toEqual({ ...STREAM_HEADERS, 'x-request-id': 'req-sse-msg', 'request-id': 'req-sse-msg' })
    expect(stored).toMatch(/^resp_/)
    expect(parseSse(await res.text()).at(-1).type).toBe('message_stop')
    expect((await gw.store.getResponse('default', stored!))?.requestId).toBe('req-sse-msg')
  })

  test('a streamed turn refused before it starts answers JSON with the request id', async () => {
    const res = await post('/v1/responses', { model: 'test-model', input: 'hi', stream: true, temperature: 'hot' }, 'req-sse-bad')
    expect(res.status).toBe(400)
    expect(headersOf(res, ['content-type', 'x-request-id'])).toEqual({
      'content-type': 'application/json;charset=utf-8',
      'x-request-id': 'req-sse-bad',
    })
  })
})
