// JSON turns ask the upstream for its whole answer (stream:false): nobody sees their events as they come, so one JSON
// body replaces an event per token. What the client gets and what is stored must not tell the two apart: a JSON turn
// answers what a streamed turn of the same model answer completes with. Both upstream wire APIs.
import { describe, expect, test } from 'bun:test'
import type { FakeUpstream, Reply, TurnScript } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { modelCalls, UPSTREAM_APIS } from '../support/upstream-view'
import { sseBody } from '../support/sse'

/** A Response with its own ids and times replaced by placeholders (in order of appearance), for comparing two turns. */
function shape(r: unknown): unknown {
  const ids = new Map<string, string>()
  const json = JSON.stringify(r, (k, v) => (k === 'created_at' || k === 'completed_at' ? (v === null ? null : 'time') : v))
  return JSON.parse(
    json.replace(/"((?:resp|msg|fc|rs|ctc)_[0-9a-f]{32})"/g, (_, id: string) => {
      if (!ids.has(id)) ids.set(id, `id${ids.size}`)
      return `"${ids.get(id)}"`
    }),
  )
}

const SCRIPTS: [string, TurnScript][] = [
  ['text', { text: 'A plain answer in a few words.', usage: { input_tokens: 9, output_tokens: 7 } }],
  [
    'reasoning and text',
    { reasoning: 'The user wants a number.', text: 'Forty-two.', usage: { input_tokens: 9, output_tokens: 12, reasoning_tokens: 5 } },
  ],
  [
    'function calls',
    {
      functionCalls: [
        { name: 'get_weather', arguments: '{"location":"Paris"}', call_id: 'call_weather' },
        { name: 'get_time', arguments: '{}', call_id: 'call_time' },
      ],
    },
  ],
  ['cut short', { text: 'An answer cut off at its', status: 'incomplete' }],
]

const TOOLS = ['get_weather', 'get_time'].map((name) => ({ type: 'function', name, parameters: { type: 'object', properties: {} } }))

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, gw } = s))
    const post = (body: Record<string, unknown>) =>
      fetch(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', tools: TOOLS, ...body }),
      })
    const lastCall = () => modelCalls(up, api).at(-1)!

    test('a JSON turn asks the upstream for its whole answer; streamed and background turns ask for a stream', async () => {
      up.queue({ text: 'whole' })
      expect((await post({ input: 'json' })).status).toBe(200)
      expect(lastCall().body.stream).toBe(false)
      expect(lastCall().body).not.toHaveProperty('stream_options')
      expect(lastCall().headers.accept).toBe('application/json')

      up.queue({ text: 'streamed' })
      await (await post({ input: 'sse', stream: true })).text()
      expect(lastCall().body.stream).toBe(true)
      expect(lastCall().headers.accept).toBe('text/event-stream')
      if (api === 'chat') expect(lastCall().body.stream_options).toEqual({ include_usage: true })

      // A background turn's progress is visible while it runs (GET, resume): it streams, though its answer is JSON.
      up.queue({ text: 'in the background' })
      const queued = (await (await post({ input: 'bg', background: true })).json()) as { id: string }
      for (let i = 0; i < 200; i++) {
        const r = (await (await fetch(`${gw.baseURL}/responses/${queued.id}`)).json()) as { status: string }
        if (r.status === 'completed') break
        await Bun.sleep(10)
      }
      expect(lastCall().body.stream).toBe(true)
    })

    for (const [name, script] of SCRIPTS)
      test(`a JSON turn answers and stores what a streamed turn completes with: ${name}`, async () => {
        up.queue(script)
        const answer = await post({ input: 'same question' })
        expect(answer.headers.get('content-type')).toBe('application/json;charset=utf-8')
        const json = (await answer.json()) as { id: string }
        up.queue(script)
        const events = await sseBody(await post({ input: 'same question', stream: true }))
        const last = events.at(-1)
        expect(['response.completed', 'response.incomplete']).toContain(last.type)
        expect(shape(json)).toEqual(shape(last.response))
        const stored = await (await fetch(`${gw.baseURL}/responses/${json.id}`)).json()
        expect(stored).toEqual(json)
        const input = (await (await fetch(`${gw.baseURL}/responses/${json.id}/input_items`)).json()) as { data: unknown[] }
        expect(input.data).toHaveLength(1)
      })

    test('an upstream that streams anyway is read as the stream it is', async () => {
      // as a server that ignores stream:false would: the events of a whole turn, as SSE
      const frames =
        api === 'chat'
          ? [
              { data: { id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'streamed ' } }] } },
              {
                data: {
                  id: 'c',
                  object: 'chat.completion.chunk',
                  choices: [{ index: 0, delta: { content: 'anyway' }, finish_reason: 'stop' }],
                },
              },
              { data: '[DONE]' },
            ]
          : [
              {
                event: 'response.output_item.added',
                data: {
                  type: 'response.output_item.added',
                  output_index: 0,
                  item: { id: 'm', type: 'message', role: 'assistant', status: 'in_progress', content: [] },
                },
              },
              {
                event: 'response.output_text.delta',
                data: { type: 'response.output_text.delta', output_index: 0, item_id: 'm', content_index: 0, delta: 'streamed anyway' },
              },
              {
                event: 'response.completed',
                data: {
                  type: 'response.completed',
                  response: {
                    status: 'completed',
                    output: [
                      {
                        id: 'm',
                        type: 'message',
                        role: 'assistant',
                        status: 'completed',
                        content: [{ type: 'output_text', text: 'streamed anyway', annotations: [] }],
                      },
                    ],
                  },
                },
              },
            ]
      up.queue({ cassette: { status: 200, sse: frames } } as Reply)
      const r = (await (await post({ input: 'json' })).json()) as any
      expect(lastCall().body.stream).toBe(false)
      expect(r.status).toBe('completed')
      expect(r.output[0].content[0].text).toBe('streamed anyway')
    })

    test('a whole answer with an empty body fails the turn as an empty answer, stored as failed', async () => {
      for (const chunked of [false, true]) {
        up.queue({ fault: 'raw', contentType: 'application/json', body: '', chunked })
        const res = await post({ input: 'json' })
        const body = (await res.json()) as { error: { code: string; message: string } }
        expect({ status: res.status, code: body.error.code }).toEqual({ status: 502, code: 'upstream_bad_response' })
        expect(body.error.message).toContain('upstream answered with an empty body')
        const id = body.error.message.match(/stored as failed response (resp_[0-9a-f]+)/)![1]
        const stored = (await (await fetch(`${gw.baseURL}/responses/${id}`)).json()) as { status: string; error: { code: string } }
        expect({ status: stored.status, code: stored.error.code }).toEqual({ status: 'failed', code: 'upstream_bad_response' })
      }
    })
  })
}
