// The Anthropic Messages edge with the gateway's web search: Anthropic's web_search server tool runs on the configured
// provider, in a multi-round turn on the same engine, and comes back as Anthropic shows its own searches
// (server_tool_use + web_search_tool_result blocks), streamed and not; sent back in a later request, the search is
// given to the model again as it saw it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import type { WebSearchOptions, WebSearchSource } from '../../src/websearch'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'

const MODEL = 'claude-sonnet-4-6'
const RESULTS: WebSearchSource[] = [{ url: 'https://bun.sh/', title: 'Bun', snippet: 'A fast JavaScript runtime.' }]
const SEARCH_TOOL = { type: 'web_search_20250305', name: 'web_search', max_uses: 3 } as const

for (const api of UPSTREAM_APIS) {
  describe(`Messages with web search (upstream API ${api})`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: Anthropic
    const searches: { query: string; opts?: WebSearchOptions }[] = []
    beforeAll(async () => {
      up = startFakeUpstream()
      gw = await startGateway({
        upstream: up.url,
        env: { AGENTGATE_UPSTREAM_API: api },
        webSearch: {
          kind: 'searxng',
          search: async (query, opts) => {
            searches.push({ query, opts })
            return RESULTS
          },
        },
      })
      client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 })
    })
    afterAll(async () => {
      await gw.stop()
      await up.stop()
    })

    test('the server tool runs on the provider: server_tool_use, web_search_tool_result, then the answer', async () => {
      up.queue({ functionCalls: [{ name: 'web_search', arguments: '{"query":"what is bun"}' }] })
      up.queue({ text: 'Bun is a runtime.' })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 200,
        tools: [{ ...SEARCH_TOOL, allowed_domains: ['bun.sh'] }] as any,
        messages: [{ role: 'user', content: 'What is Bun?' }],
      })
      expect(m.stop_reason).toBe('end_turn')
      expect(m.content.map((b) => b.type)).toEqual(['server_tool_use', 'web_search_tool_result', 'text'])
      const use = m.content[0] as any
      expect(use).toMatchObject({ name: 'web_search', input: { query: 'what is bun' } })
      expect(use.id).toMatch(/^srvtoolu_/)
      const result = m.content[1] as any
      expect(result.tool_use_id).toBe(use.id)
      expect(result.content).toEqual([
        { type: 'web_search_result', url: 'https://bun.sh/', title: 'Bun', encrypted_content: expect.any(String), page_age: null },
      ])
      expect(result.content[0].encrypted_content).not.toContain('fast JavaScript')
      expect((m.content[2] as any).text).toBe('Bun is a runtime.')
      expect(searches.at(-1)).toMatchObject({ query: 'what is bun', opts: { allowedDomains: ['bun.sh'] } })
      expect(transcript(modelCalls(up, api).at(-1)!)[2]).toContain('A fast JavaScript runtime.')

      // the client sends the turn back: the model gets the search again, results and all
      up.queue({ text: 'You asked about Bun.' })
      await client.messages.create({
        model: MODEL,
        max_tokens: 200,
        tools: [SEARCH_TOOL] as any,
        messages: [
          { role: 'user', content: 'What is Bun?' },
          { role: 'assistant', content: m.content as any },
          { role: 'user', content: 'What did I ask?' },
        ],
      })
      const seen = transcript(modelCalls(up, api).at(-1)!)
      expect(seen[1]).toBe('call web_search({"query":"what is bun"})')
      expect(seen[2]).toContain('1. Bun\n   URL: https://bun.sh/\n   A fast JavaScript runtime.')
    })

    test('streamed: the same blocks, in order, and the SDK assembles them', async () => {
      up.queue({ functionCalls: [{ name: 'web_search', arguments: '{"query":"bun"}' }] })
      up.queue({ text: 'Streamed answer.' })
      const stream = client.messages.stream({
        model: MODEL,
        max_tokens: 200,
        tools: [SEARCH_TOOL] as any,
        messages: [{ role: 'user', content: 'Search' }],
      })
      const final = await stream.finalMessage()
      expect(final.content.map((b) => b.type)).toEqual(['server_tool_use', 'web_search_tool_result', 'text'])
      expect((final.content[0] as any).input).toEqual({ query: 'bun' })
      expect(final.stop_reason).toBe('end_turn')
    })
  })
}

describe('Messages with a web search server tool and no provider', () => {
  test('it is left out of the model request, as before', async () => {
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url, webSearch: null })
    try {
      const client = new Anthropic({ baseURL: gw.url, apiKey: 'unused', maxRetries: 0 })
      up.queue({ text: 'no search' })
      const m = await client.messages.create({
        model: MODEL,
        max_tokens: 50,
        tools: [SEARCH_TOOL] as any,
        messages: [{ role: 'user', content: 'hi' }],
      })
      expect(m.content).toEqual([{ type: 'text', text: 'no search' }] as any)
      expect(up.requestsTo('/v1/responses').at(-1)!.body.tools ?? []).toEqual([])
    } finally {
      await gw.stop()
      await up.stop()
    }
  })
})
