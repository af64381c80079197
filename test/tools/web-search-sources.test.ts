// The results of a web search are kept with its stored web_search_call whatever the request's include: a later turn
// of the chain (previous_response_id, conversation) gives the model the results it saw. The client sees them
// (`action.sources`) only when it asks with include: ["web_search_call.action.sources"] — in the answer, its events
// (SSE, WebSocket, background), a retrieval, a replay, input items and conversation items. Through the openai SDK and
// plain HTTP, against a fake SearXNG and the scripted upstream.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import { startFakeSearxng, type FakeSearch } from '../support/fake-searxng'
import type { FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { collect, parseSse } from '../support/sse'
import { transcript } from '../support/upstream-view'
import { waitFor } from '../support/wait'
import { openSocket } from '../support/ws-client'

const SOURCES = 'web_search_call.action.sources'
// Text only the search results carry: where it shows up, the sources did.
const SNIPPET = 'Snippet-7f3a: Bun 1.4 ships a new bundler.'
const search = (query: string) => ({ functionCalls: [{ name: 'web_search', arguments: JSON.stringify({ query }) }] })
const shownSources = (x: unknown) => {
  const text = JSON.stringify(x)
  return text.includes('"sources"') || text.includes('Snippet-7f3a')
}

describe('web search results kept for the chain, sources shown only when include asks for them', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: OpenAI
  let searx: FakeSearch
  const get = async (path: string) => {
    const res = await fetch(`${gw.baseURL}${path}`)
    expect(res.status).toBe(200)
    return res
  }
  const getJson = async (path: string): Promise<any> => (await get(path)).json()
  const lastModelCall = () => up.requestsTo('/v1/responses').at(-1)!

  beforeAll(() => {
    searx = startFakeSearxng({ results: [{ url: 'https://bun.sh/blog/bun-v1.4', title: 'Bun 1.4', content: SNIPPET }] })
  })
  afterAll(() => searx.close())
  useGateway({ gateway: () => ({ env: { AGENTGATE_WEB_SEARCH_URL: searx.url } }) }, (s) => ({ up, gw, client } = s))

  test('a later turn (previous_response_id) without include gives the model the results it saw, not a note', async () => {
    up.queue(search('bun 1.4'), { text: 'Bun 1.4 has a new bundler.' })
    const first = await client.responses.create({ model: 'test-model', input: 'What is new in Bun?', tools: [{ type: 'web_search' }] })
    const given = transcript(lastModelCall())[2]!
    expect(given).toContain(SNIPPET)
    expect(shownSources(first)).toBe(false)
    up.queue({ text: 'The bundler.' })
    await client.responses.create({
      model: 'test-model',
      input: 'And again?',
      previous_response_id: first.id,
      tools: [{ type: 'web_search' }],
    })
    const seen = transcript(lastModelCall())
    expect(seen.slice(0, 4)).toEqual([
      'user: What is new in Bun?',
      'call web_search({"query":"bun 1.4"})',
      given,
      'assistant: Bun 1.4 has a new bundler.',
    ])
  })

  test('a later turn of a conversation without include gives the model the results; its items show sources only with include', async () => {
    const conv = await client.conversations.create()
    up.queue(search('bun conv'), { text: 'Found it.' })
    const first = await client.responses.create({
      model: 'test-model',
      input: 'search',
      conversation: conv.id,
      tools: [{ type: 'web_search' }],
    })
    const given = transcript(lastModelCall())[2]!
    expect(given).toContain(SNIPPET)
    up.queue({ text: 'Still found.' })
    await client.responses.create({ model: 'test-model', input: 'again', conversation: conv.id })
    expect(transcript(lastModelCall()).slice(0, 3)).toEqual(['user: search', 'call web_search({"query":"bun conv"})', given])

    const plain = await getJson(`/conversations/${conv.id}/items?order=asc`)
    expect(plain.data.map((i: any) => i.type)).toContain('web_search_call')
    expect(shownSources(plain)).toBe(false)
    const wsId = (first.output[0] as any).id
    expect(shownSources(await getJson(`/conversations/${conv.id}/items/${wsId}`))).toBe(false)
    const included = await getJson(`/conversations/${conv.id}/items?order=asc&include[]=${SOURCES}`)
    const item = included.data.find((i: any) => i.type === 'web_search_call')
    expect(item.action.sources).toEqual([{ type: 'url', url: 'https://bun.sh/blog/bun-v1.4', title: 'Bun 1.4', snippet: SNIPPET }])
    const one = await getJson(`/conversations/${conv.id}/items/${wsId}?include=${SOURCES}`)
    expect(one.action.sources).toHaveLength(1)
  })

  test('without include no answer, event, retrieval, replay or input item shows the sources; with include each does', async () => {
    up.queue(search('bun stream'), { text: 'Streamed.' })
    const events = await collect(
      await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], stream: true, background: true }),
    )
    expect(events.some((e) => e.type === 'response.web_search_call.completed')).toBe(true)
    expect(shownSources(events)).toBe(false)
    const id = events[0].response.id
    const ws = events.find((e) => e.type === 'response.output_item.done' && e.item.type === 'web_search_call').item
    // the stored response and its event log keep them: a retrieval or a replay asking for them gets them
    expect(shownSources(await client.responses.retrieve(id))).toBe(false)
    const retrieved = await client.responses.retrieve(id, { include: [SOURCES] })
    expect((retrieved.output[0] as any).action.sources[0].snippet).toBe(SNIPPET)
    expect(shownSources(parseSse(await (await get(`/responses/${id}?stream=true`)).text()))).toBe(false)
    const replayed = parseSse(await (await get(`/responses/${id}?stream=true&include[]=${SOURCES}`)).text())
    expect(
      replayed.find((e) => e.type === 'response.output_item.done' && e.item.type === 'web_search_call').item.action.sources,
    ).toHaveLength(1)
    expect(replayed.at(-1).response.output[0].action.sources).toHaveLength(1)

    // an item_reference to the search makes it an input item of the next response
    up.queue({ text: 'Referenced.' })
    const next = await client.responses.create({ model: 'test-model', input: [{ type: 'item_reference', id: ws.id }] as any })
    expect(transcript(lastModelCall())[1]).toContain(SNIPPET)
    expect(shownSources(await getJson(`/responses/${next.id}/input_items`))).toBe(false)
    const inputs = await getJson(`/responses/${next.id}/input_items?include[]=${SOURCES}`)
    expect(inputs.data[0].action.sources).toHaveLength(1)

    up.queue(search('bun live'), { text: 'Live.' })
    const live = await collect(
      await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], stream: true }),
    )
    expect(live.at(-1).response.output[0]).toMatchObject({ type: 'web_search_call', status: 'completed' })
    expect(shownSources(live)).toBe(false)

    // asked for in the request: in the answer and in its events
    up.queue(search('bun sse'), { text: 'With sources.' })
    const withSources = await collect(
      await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], stream: true, include: [SOURCES] }),
    )
    expect(withSources.find((e) => e.type === 'response.output_item.done').item.action.sources).toHaveLength(1)
    expect(withSources.at(-1).response.output[0].action.sources).toHaveLength(1)
  })

  test('over WebSocket, the events show the sources only when the response.create includes them', async () => {
    const s = await openSocket(gw.url)
    try {
      up.queue(search('bun ws'), { text: 'Over the socket.' })
      s.create({ input: 'x', tools: [{ type: 'web_search' }] })
      expect((await s.terminal()).type).toBe('response.completed')
      expect(shownSources(s.frames)).toBe(false)
      up.queue(search('bun ws 2'), { text: 'Again.' })
      s.create({ input: 'y', tools: [{ type: 'web_search' }], include: [SOURCES] })
      const end = await s.terminal(2)
      expect(end.response.output[0].action.sources[0].snippet).toBe(SNIPPET)
    } finally {
      s.close()
    }
  })

  test('a running background response and its cancel show no sources without include', async () => {
    // the answer after the search streams slowly: the stored snapshot shows the finished search meanwhile
    up.queue(search('bun bg'), { text: 'slow answer', chunks: 50, delayMs: 100 })
    const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], background: true })
    const running = await waitFor('the snapshot with the finished search', async () => {
      const got = await client.responses.retrieve(r.id, { include: [SOURCES] })
      return (got.output[0] as any)?.status === 'completed' && got
    })
    expect((running.output[0] as any).action.sources).toHaveLength(1)
    expect(shownSources(await client.responses.retrieve(r.id))).toBe(false)
    const cancelled = await client.responses.cancel(r.id)
    expect(cancelled.status).toBe('cancelled')
    expect(cancelled.output[0]).toMatchObject({ type: 'web_search_call', action: { query: 'bun bg' } })
    expect(shownSources(cancelled)).toBe(false)
  })

  test('a JSON answer without include has no sources; with include it has them, snippets and all', async () => {
    up.queue(search('bun json'), { text: 'Plain.' })
    const plain = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }] })
    expect((plain.output[0] as any).action).toEqual({ type: 'search', query: 'bun json' })
    up.queue(search('bun json 2'), { text: 'Included.' })
    const included = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], include: [SOURCES] })
    expect((included.output[0] as any).action.sources).toEqual([
      { type: 'url', url: 'https://bun.sh/blog/bun-v1.4', title: 'Bun 1.4', snippet: SNIPPET },
    ])
  })
})
