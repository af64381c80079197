// Web search run by the gateway, through the openai SDK and the scripted upstream: the model calls the search
// function, the gateway searches (a scriptable provider here: hangs, failures and what it was asked are in the test's
// hands) and calls the model again with the results — one response, `web_search_call` items and their events, over
// both upstream wire APIs, streamed and not; and the bounds of a multi-round turn (rounds, calls, timeout, cancel).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { WebSearchOptions, WebSearchProvider, WebSearchSource } from '../../src/websearch'
import { startFakeSearxng, type FakeSearch } from '../support/fake-searxng'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { collect } from '../support/sse'
import { modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'
import { waitFor } from '../support/wait'
import { openSocket } from '../support/ws-client'

const RESULTS: WebSearchSource[] = [
  { url: 'https://bun.sh/', title: 'Bun', snippet: 'A fast JavaScript runtime.' },
  { url: 'https://docs.bun.sh/install', title: 'Install Bun', snippet: 'npm install -g bun' },
]

/** A provider the test scripts: what it answers (or that it never answers), and every search it got. */
class ScriptedSearch implements WebSearchProvider {
  readonly kind = 'searxng' as const
  searches: { query: string; opts: WebSearchOptions | undefined }[] = []
  hang = false
  results = RESULTS
  search(query: string, opts?: WebSearchOptions): Promise<WebSearchSource[]> {
    this.searches.push({ query, opts })
    if (!this.hang) return Promise.resolve(this.results)
    // Never answers; ends only when the gateway gives up on it.
    return new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }))
  }
}

const search = (query: string, call_id?: string) => ({ name: 'web_search', arguments: JSON.stringify({ query }), call_id })
const lastCall = (up: FakeUpstream, api: 'responses' | 'chat') => modelCalls(up, api).at(-1)!

for (const api of UPSTREAM_APIS) {
  describe(`web search run by the gateway (upstream API ${api})`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: OpenAI
    const provider = new ScriptedSearch()
    useGateway(
      {
        gateway: {
          env: { AGENTGATE_UPSTREAM_API: api, AGENTGATE_MAX_TOOL_ROUNDS: '3', AGENTGATE_TOOL_CALL_TIMEOUT_MS: '300' },
          webSearch: provider,
        },
      },
      (s) => ({ up, gw, client } = s),
    )

    test('a search and the final answer come back in one response, the model seeing the results as the call output', async () => {
      provider.hang = false
      up.queue({ functionCalls: [search('bun runtime')], usage: { input_tokens: 10, output_tokens: 4 } })
      up.queue({ text: 'Bun is a JavaScript runtime.', usage: { input_tokens: 30, output_tokens: 6 } })
      const before = modelCalls(up, api).length
      const r = await client.responses.create({ model: 'test-model', input: 'What is Bun?', tools: [{ type: 'web_search' }] })
      expect(r.status).toBe('completed')
      expect(r.output.map((i) => i.type)).toEqual(['web_search_call', 'message'])
      const call = r.output[0] as any
      expect(call.id).toMatch(/^ws_/)
      expect(call.status).toBe('completed')
      expect(call.action).toEqual({ type: 'search', query: 'bun runtime' })
      expect(r.output_text).toBe('Bun is a JavaScript runtime.')
      // one response, usage over both model calls
      expect(r.usage).toMatchObject({ input_tokens: 40, output_tokens: 10, total_tokens: 50 })
      expect(modelCalls(up, api).length - before).toBe(2)
      const second = transcript(lastCall(up, api))
      expect(second[0]).toBe('user: What is Bun?')
      expect(second[1]).toBe('call web_search({"query":"bun runtime"})')
      expect(second[2]).toStartWith('function_call_output: Search results for "bun runtime":')
      expect(second[2]).toContain('1. Bun\n   URL: https://bun.sh/\n   A fast JavaScript runtime.')
      expect(provider.searches.at(-1)!.query).toBe('bun runtime')
      // the model got the search as a function, never a hosted tool type
      const tools =
        api === 'chat'
          ? lastCall(up, api).body.tools.map((t: any) => t.function.name)
          : lastCall(up, api).body.tools.map((t: any) => t.name)
      expect(tools).toEqual(['web_search'])
    })

    test('streamed: web_search_call events, one sequence and one output_index series across the rounds', async () => {
      up.queue({ functionCalls: [search('bun release')] })
      up.queue({ text: 'Here you are.' })
      const events = await collect(
        await client.responses.create({ model: 'test-model', input: 'news?', tools: [{ type: 'web_search_preview' }], stream: true }),
      )
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
      const types = events.map((e) => e.type)
      const at = (t: string) => types.indexOf(t)
      expect(types[0]).toBe('response.created')
      expect(at('response.output_item.added')).toBeLessThan(at('response.web_search_call.in_progress'))
      expect(at('response.web_search_call.in_progress')).toBeLessThan(at('response.web_search_call.searching'))
      expect(at('response.web_search_call.searching')).toBeLessThan(at('response.web_search_call.completed'))
      expect(at('response.web_search_call.completed')).toBeLessThan(at('response.output_item.done'))
      expect(types.filter((t) => t.startsWith('response.function_call'))).toEqual([])
      const added = events.filter((e) => e.type === 'response.output_item.added')
      expect(added.map((e) => [e.output_index, e.item.type])).toEqual([
        [0, 'web_search_call'],
        [1, 'message'],
      ])
      const done = events.filter((e) => e.type === 'response.output_item.done')
      expect(done[0].item).toMatchObject({ type: 'web_search_call', status: 'completed', action: { query: 'bun release' } })
      const ws = events.filter((e) => e.type.startsWith('response.web_search_call.'))
      expect(new Set(ws.map((e) => e.item_id))).toEqual(new Set([added[0].item.id]))
      const last = events.at(-1)
      expect(last.type).toBe('response.completed')
      expect(last.response.output.map((i: any) => i.type)).toEqual(['web_search_call', 'message'])
    })

    test('sources are listed when include asks for them, and filters.allowed_domains reach the provider', async () => {
      up.queue({ functionCalls: [search('install bun')] })
      up.queue({ text: 'See the docs.' })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'How do I install Bun?',
        tools: [{ type: 'web_search', filters: { allowed_domains: ['bun.sh'] }, search_context_size: 'low' }],
        include: ['web_search_call.action.sources'],
      })
      const call = r.output[0] as any
      expect(call.action.sources).toEqual(RESULTS.map((s) => ({ type: 'url', url: s.url, title: s.title, snippet: s.snippet })))
      expect(provider.searches.at(-1)!.opts).toMatchObject({ allowedDomains: ['bun.sh'], limit: 3 })
    })

    test('a later turn of the chain gives the model the earlier search as a call and its output', async () => {
      up.queue({ functionCalls: [search('bun version')] })
      up.queue({ text: 'Version 1.' })
      const first = await client.responses.create({
        model: 'test-model',
        input: 'Which version?',
        tools: [{ type: 'web_search' }],
        include: ['web_search_call.action.sources'],
      })
      up.queue({ text: 'You asked about the version.' })
      await client.responses.create({ model: 'test-model', input: 'What did I ask?', previous_response_id: first.id })
      const seen = transcript(lastCall(up, api))
      expect(seen.slice(0, 5)).toEqual([
        'user: Which version?',
        'call web_search({"query":"bun version"})',
        // the results as the model saw them in the first turn, snippets and all
        transcript(modelCalls(up, api).at(-2)!)[2],
        'assistant: Version 1.',
        'user: What did I ask?',
      ])
    })

    test('two searches in one round both run, and a search that hangs past the timeout fails and the model is told', async () => {
      up.queue({ functionCalls: [search('one'), search('two')] })
      up.queue({ text: 'done' })
      const r = await client.responses.create({ model: 'test-model', input: 'two', tools: [{ type: 'web_search' }] })
      expect(r.output.map((i: any) => [i.type, i.action?.query])).toEqual([
        ['web_search_call', 'one'],
        ['web_search_call', 'two'],
        ['message', undefined],
      ])
      provider.hang = true
      try {
        up.queue({ functionCalls: [search('slow')] })
        up.queue({ text: 'The search timed out.' })
        const t = await client.responses.create({ model: 'test-model', input: 'slow', tools: [{ type: 'web_search' }] })
        expect(t.status).toBe('completed')
        expect(t.output[0]).toMatchObject({ type: 'web_search_call', status: 'failed' })
        expect(transcript(lastCall(up, api))[2]).toContain('timed out after 300 ms')
      } finally {
        provider.hang = false
      }
    })

    test('a model that keeps searching stops at --max-tool-rounds: incomplete, reason max_tool_rounds', async () => {
      const before = modelCalls(up, api).length
      for (let i = 0; i < 4; i++) up.queue({ functionCalls: [search(`again ${i}`)] })
      const r = await client.responses.create({ model: 'test-model', input: 'loop', tools: [{ type: 'web_search' }] })
      expect(r.status).toBe('incomplete')
      expect(r.incomplete_details?.reason as string).toBe('max_tool_rounds')
      // 3 rounds of calls ran; the 4th model call's search was not run
      expect(modelCalls(up, api).length - before).toBe(4)
      expect(r.output.map((i: any) => i.status)).toEqual(['completed', 'completed', 'completed', 'failed'])
    })

    test('a round the model did not finish (max_output_tokens) runs none of its calls: the turn ends incomplete', async () => {
      const searched = provider.searches.length
      const before = modelCalls(up, api).length
      up.queue({ functionCalls: [search('cut')], status: 'incomplete' })
      const r = await client.responses.create({ model: 'test-model', input: 'cut', tools: [{ type: 'web_search' }] })
      expect(r.status).toBe('incomplete')
      expect(r.incomplete_details?.reason).toBe('max_output_tokens')
      expect(r.output.map((i: any) => [i.type, i.status])).toEqual([['web_search_call', 'failed']])
      expect(provider.searches.length).toBe(searched)
      expect(modelCalls(up, api).length - before).toBe(1)
    })

    test("the gateway's function never takes a client tool's name: a client function called web_search stays the client's", async () => {
      const clientTool = { type: 'function' as const, name: 'web_search', parameters: { type: 'object' }, strict: false }
      up.queue({ functionCalls: [search('mine', 'call_client')] })
      const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [clientTool, { type: 'web_search' }] })
      const names =
        api === 'chat'
          ? lastCall(up, api).body.tools.map((t: any) => t.function.name)
          : lastCall(up, api).body.tools.map((t: any) => t.name)
      expect(names).toEqual(['web_search', 'web_search_2'])
      // a call to `web_search` is the client's function call
      expect(r.output.map((i: any) => [i.type, i.call_id])).toEqual([['function_call', 'call_client']])
      up.queue({ functionCalls: [{ name: 'web_search_2', arguments: '{"query":"ours"}' }] })
      up.queue({ text: 'done' })
      const searched = provider.searches.length
      const ours = await client.responses.create({ model: 'test-model', input: 'y', tools: [clientTool, { type: 'web_search' }] })
      expect(ours.output.map((i: any) => i.type)).toEqual(['web_search_call', 'message'])
      expect(provider.searches.length).toBe(searched + 1)
      expect(transcript(lastCall(up, api))[1]).toBe('call web_search_2({"query":"ours"})')
    })

    test('max_tool_calls: calls past it are not run, and the model then answers without the gateway tools', async () => {
      up.queue({ functionCalls: [search('a'), search('b')] })
      up.queue({ text: 'enough' })
      const searched = provider.searches.length
      const r = await client.responses.create({ model: 'test-model', input: 'cap', tools: [{ type: 'web_search' }], max_tool_calls: 1 })
      expect(r.status).toBe('completed')
      expect(r.output.map((i: any) => i.status)).toEqual(['completed', 'failed', 'completed'])
      expect(provider.searches.length - searched).toBe(1)
      expect(transcript(lastCall(up, api)).at(-1)).toContain('This call was not run: the response reached max_tool_calls (1).')
      expect(lastCall(up, api).body.tools ?? []).toEqual([])
    })

    test('a client tool called with a search ends the turn: the client gets its call, and the search done', async () => {
      up.queue({ functionCalls: [search('weather'), { name: 'get_weather', arguments: '{"city":"Paris"}', call_id: 'call_w' }] })
      const r = await client.responses.create({
        model: 'test-model',
        input: 'weather?',
        tools: [{ type: 'web_search' }, { type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }],
      })
      expect(r.status).toBe('completed')
      expect(r.output.map((i: any) => [i.type, i.status])).toEqual([
        ['web_search_call', 'completed'],
        ['function_call', 'completed'],
      ])
      // the client answers its call; the model then sees both calls with their outputs
      up.queue({ text: 'Sunny.' })
      await client.responses.create({
        model: 'test-model',
        previous_response_id: r.id,
        input: [{ type: 'function_call_output', call_id: 'call_w', output: 'sunny' }],
        tools: [{ type: 'web_search' }, { type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }],
      })
      const seen = transcript(lastCall(up, api))
      expect(seen).toContain('call get_weather({"city":"Paris"})')
      expect(seen).toContain('function_call_output: sunny')
      expect(seen.some((l) => l.startsWith('call web_search('))).toBe(true)
    })
  })
}

describe('web search over WebSocket and in the background', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: OpenAI
  const provider = new ScriptedSearch()
  useGateway({ gateway: { webSearch: provider } }, (s) => ({ up, gw, client } = s))

  test('a WebSocket turn runs the search and answers, in one stream', async () => {
    up.queue({ functionCalls: [search('ws')] })
    up.queue({ text: 'over the socket' })
    const s = await openSocket(gw.url)
    try {
      s.create({ input: 'hi', tools: [{ type: 'web_search' }] })
      const end = await s.terminal()
      expect(end.type).toBe('response.completed')
      expect(end.response.output.map((i: any) => i.type)).toEqual(['web_search_call', 'message'])
      expect(s.frames.map((f) => f.sequence_number)).toEqual(s.frames.map((_, i) => i))
    } finally {
      s.close()
    }
  })

  test('a background turn cancelled during a search stops it, and ends cancelled', async () => {
    provider.hang = true
    try {
      up.queue({ functionCalls: [search('forever')] })
      const r = await client.responses.create({ model: 'test-model', input: 'bg', tools: [{ type: 'web_search' }], background: true })
      const searching = provider.searches.length
      await waitFor('the search to start', () => provider.searches.length >= searching && provider.searches.at(-1)!.query === 'forever')
      const signal = provider.searches.at(-1)!.opts!.signal!
      // while it runs, the stored snapshot shows the call the gateway is making
      const running = await waitFor('a progress snapshot with the search', async () => {
        const got = await client.responses.retrieve(r.id)
        return got.output.length > 0 && got
      })
      expect(running.status).toBe('in_progress')
      expect(running.output[0]).toMatchObject({ type: 'web_search_call', status: 'in_progress', action: { query: 'forever' } })
      const cancelled = await client.responses.cancel(r.id)
      expect(cancelled.status).toBe('cancelled')
      await waitFor('the search to be stopped', () => signal.aborted)
      const stored = await waitFor('the turn to end', async () => {
        const got = await client.responses.retrieve(r.id)
        return got.status !== 'in_progress' && got.status !== 'queued' && got
      })
      expect(stored.status).toBe('cancelled')
    } finally {
      provider.hang = false
    }
  })

  test('a streamed multi-round turn is stored as one event log: resume replays it all, numbered once', async () => {
    up.queue({ functionCalls: [search('resume')] })
    up.queue({ text: 'resumed answer' })
    const live = await collect(
      await client.responses.create({ model: 'test-model', input: 'r', tools: [{ type: 'web_search' }], stream: true, background: true }),
    )
    const id = live[0].response.id
    const replayed = await collect(await client.responses.retrieve(id, { stream: true, starting_after: 2 }))
    expect(replayed).toEqual(live.slice(3))
    expect(replayed.at(-1).response.output.map((i: any) => i.type)).toEqual(['web_search_call', 'message'])
  })

  test('a client that goes away during a search stops it; the response is stored incomplete, the search failed', async () => {
    provider.hang = true
    try {
      up.queue({ functionCalls: [search('gone')] })
      const ctl = new AbortController()
      const res = await fetch(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }], stream: true }),
        signal: ctl.signal,
      })
      const reader = res.body!.getReader()
      let text = ''
      while (!text.includes('response.web_search_call.searching')) text += new TextDecoder().decode((await reader.read()).value)
      const id = text.match(/"id":"(resp_[0-9a-f]+)"/)![1]!
      const signal = provider.searches.at(-1)!.opts!.signal!
      ctl.abort()
      await waitFor('the search to be stopped', () => signal.aborted)
      const stored = await waitFor('the response to leave in_progress', async () => {
        const r = await client.responses.retrieve(id)
        return r.status !== 'in_progress' && r
      })
      expect(stored.status).toBe('incomplete')
      expect(stored.incomplete_details?.reason as string).toBe('client_disconnected')
      expect(stored.output[0]).toMatchObject({ type: 'web_search_call', status: 'failed' })
      expect(stored.output).toHaveLength(1)
    } finally {
      provider.hang = false
    }
  })

  test('without a provider, web_search is left out of the model request, as before', async () => {
    const plain = await startGateway({ upstream: up.url, webSearch: null })
    try {
      const c = new OpenAI({ baseURL: plain.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ text: 'no search here' })
      const r = await c.responses.create({ model: 'test-model', input: 'hi', tools: [{ type: 'web_search' }] })
      expect(r.output_text).toBe('no search here')
      expect(up.requestsTo('/v1/responses').at(-1)!.body.tools).toEqual([])
      up.queue({ text: 'again' })
      await c.responses.create({ model: 'test-model', input: 'hi', tools: [{ type: 'web_search' }] })
      expect(plain.logs.filter((l) => l.includes('tools the gateway cannot run were left out'))).toHaveLength(1)
    } finally {
      await plain.stop()
    }
  })
})

describe('web search through the configured provider (--web-search-url, a fake SearXNG)', () => {
  let up: FakeUpstream
  let gw: TestGateway
  let client: OpenAI
  let searx: FakeSearch
  beforeAll(() => {
    searx = startFakeSearxng({
      results: [
        { url: 'https://bun.sh/blog', title: 'Bun blog', content: 'Release notes.' },
        { url: 'https://example.com/bun', title: 'Off the list', content: 'Elsewhere.' },
      ],
    })
  })
  afterAll(() => searx.close())
  useGateway({ gateway: () => ({ env: { AGENTGATE_WEB_SEARCH_URL: searx.url } }) }, (s) => ({ up, gw, client } = s))

  test('web_search_call with the sources the provider found, allowed_domains honoured, and the model given the results', async () => {
    up.queue({ functionCalls: [search('bun news')] })
    up.queue({ text: 'Bun shipped.' })
    const r = await client.responses.create({
      model: 'test-model',
      input: 'Bun news?',
      tools: [{ type: 'web_search', filters: { allowed_domains: ['bun.sh'] } }],
      include: ['web_search_call.action.sources'],
    })
    expect(r.status).toBe('completed')
    expect(r.output[0]).toMatchObject({
      type: 'web_search_call',
      status: 'completed',
      action: {
        type: 'search',
        query: 'bun news',
        sources: [{ type: 'url', url: 'https://bun.sh/blog', title: 'Bun blog', snippet: 'Release notes.' }],
      },
    })
    expect(searx.searches.at(-1)!.query).toContain('bun news')
    const seen = transcript(up.requestsTo('/v1/responses').at(-1)!)
    expect(seen[2]).toContain('https://bun.sh/blog')
    expect(seen[2]).not.toContain('example.com')
  })

  test('an allowed_domains entry that is no domain name is a 400 naming it, before any model call', async () => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'test-model',
        input: 'x',
        tools: [{ type: 'web_search', filters: { allowed_domains: ['bun.sh', 'not a domain'] } }],
      }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param: 'tools.0.filters.allowed_domains.1' })
    expect(up.requests.length).toBe(before)
  })

  test.each<[string, Record<string, unknown>, string]>([
    ['filters as a string', { filters: 'bun.sh' }, 'tools.0.filters'],
    ['an unknown search_context_size', { search_context_size: 'huge' }, 'tools.0.search_context_size'],
    ['a search_context_size that is a number', { search_context_size: 3 }, 'tools.0.search_context_size'],
  ])('a web_search tool with %s is a 400 naming the field, before any model call', async (_name, extra, param) => {
    const before = up.requests.length
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'x', tools: [{ type: 'web_search', ...extra }] }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error).toMatchObject({ type: 'invalid_request_error', param })
    expect(up.requests.length).toBe(before)
  })

  test('without include, the web_search_call has no sources', async () => {
    up.queue({ functionCalls: [search('bun')] })
    up.queue({ text: 'ok' })
    const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }] })
    expect((r.output[0] as any).action).toEqual({ type: 'search', query: 'bun' })
  })
})

describe('calls of one round run at the same time, at most --tool-call-concurrency', () => {
  /**
   * A provider that logs when each search starts and ends; each waits until `together` searches have started (or the
   * gateway gives up on it).
   */
  function loggingSearch(together: number) {
    const log: string[] = []
    let started = 0
    const provider: WebSearchProvider = {
      kind: 'searxng',
      async search(query, opts) {
        log.push(`start ${query}`)
        started++
        await waitFor(`${together} searches started`, () => started >= together || opts?.signal?.aborted)
        if (opts?.signal?.aborted) throw new Error('stopped')
        log.push(`end ${query}`)
        return RESULTS
      },
    }
    return { provider, log }
  }

  test('the searches of a round overlap (concurrency 4: three wait for each other, and all finish)', async () => {
    const up = startFakeUpstream()
    const { provider, log } = loggingSearch(3)
    const gw = await startGateway({ upstream: up.url, webSearch: provider })
    try {
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ functionCalls: [search('a'), search('b'), search('c')] })
      up.queue({ text: 'three' })
      const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }] })
      expect(r.output.map((i: any) => i.status)).toEqual(['completed', 'completed', 'completed', 'completed'])
      expect(log.slice(0, 3)).toEqual(['start a', 'start b', 'start c'])
    } finally {
      await gw.stop()
      await up.stop()
    }
  })

  test('at most --tool-call-concurrency run at once: with 2, the third starts only once one of the first two ended', async () => {
    const up = startFakeUpstream()
    // a and b end only by timing out, c at once: c's start comes after a stop when only two run at once. (Not
    // loggingSearch: with a and b waiting for three starts, b could see c start — once a timed out — before its own
    // timer fired, on a loaded machine, and end.)
    const log: string[] = []
    const provider: WebSearchProvider = {
      kind: 'searxng',
      async search(query, opts) {
        log.push(`start ${query}`)
        if (query === 'c') {
          log.push('end c')
          return RESULTS
        }
        // logged as the signal fires, not when a poll notices it
        await new Promise<void>((resolve) =>
          opts?.signal?.addEventListener('abort', () => resolve(void log.push(`stop ${query}`)), { once: true }),
        )
        throw new Error('stopped')
      },
    }
    const gw = await startGateway({
      upstream: up.url,
      webSearch: provider,
      env: { AGENTGATE_TOOL_CALL_CONCURRENCY: '2', AGENTGATE_TOOL_CALL_TIMEOUT_MS: '300' },
    })
    try {
      const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
      up.queue({ functionCalls: [search('a'), search('b'), search('c')] })
      up.queue({ text: 'three' })
      const r = await client.responses.create({ model: 'test-model', input: 'x', tools: [{ type: 'web_search' }] })
      expect(r.output.map((i: any) => i.status)).toEqual(['failed', 'failed', 'completed', 'completed'])
      expect(log.slice(0, 2)).toEqual(['start a', 'start b'])
      expect(log.indexOf('start c')).toBeGreaterThan(log.findIndex((l) => l.startsWith('stop ')))
      expect(log).toContain('end c')
    } finally {
      await gw.stop()
      await up.stop()
    }
  })
})
