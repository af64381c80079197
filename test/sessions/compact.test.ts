// POST /v1/responses/compact through the openai SDK (client.responses.compact), over both upstream APIs: the
// upstream model writes the summary (asked with our instructions), the answer keeps the user messages and ends
// with one sealed compaction item, and that item — sent back inline or kept in a chain — reaches the upstream as
// the user messages plus the summary instead of everything before it.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { COMPACTION_INSTRUCTIONS, SUMMARY_PREFIX } from '../../src/engine/compaction'
import type { FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { useGateway } from '../support/suite'
import { instructionsSent, modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'

const SUMMARY = 'The user asked three questions about primes; all were answered.'

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let client: OpenAI
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, client } = s))
    const last = () => modelCalls(up, api).at(-1)!

    async function chain(turns: number, prefix = 'question'): Promise<string> {
      let prev: string | undefined
      for (let i = 1; i <= turns; i++) {
        up.queue({ text: `answer ${i}` })
        prev = (await client.responses.create({ model: 'test-model', input: `${prefix} ${i}`, previous_response_id: prev })).id
      }
      return prev!
    }

    test('a previous_response_id chain is compacted into its user messages and one compaction item, summarised by the upstream', async () => {
      const prev = await chain(3)
      up.queue({ text: SUMMARY, usage: { input_tokens: 120, output_tokens: 15 } })
      const compacted = await client.responses.compact({ model: 'test-model', previous_response_id: prev })
      expect(compacted.object).toBe('response.compaction')
      expect(compacted.id).toStartWith('resp_')
      expect(compacted.usage).toMatchObject({ input_tokens: 120, output_tokens: 15, total_tokens: 135 })
      const out = compacted.output as any[]
      expect(out.slice(0, 3).map((i) => [i.type, i.role, i.content[0].text])).toEqual(
        [1, 2, 3].map((n) => ['message', 'user', `question ${n}`]),
      )
      expect(out).toHaveLength(4)
      expect(out[3]).toEqual({
        type: 'compaction',
        id: expect.stringMatching(/^cmp_/),
        encrypted_content: expect.stringMatching(/^ags1\./),
      })
      expect(JSON.stringify(out)).not.toContain('primes')
      // The summarising call: our instructions, the whole history, a request for the summary, no tools.
      const call = last()
      expect(instructionsSent(call)).toBe(COMPACTION_INSTRUCTIONS)
      expect(transcript(call).slice(0, 6)).toEqual([
        'user: question 1',
        'assistant: answer 1',
        'user: question 2',
        'assistant: answer 2',
        'user: question 3',
        'assistant: answer 3',
      ])
      expect(transcript(call)).toHaveLength(7)
      expect(call.body.tools).toBeUndefined()
    })

    test('compact → continue: the upstream gets the user messages and the summary in place of the history', async () => {
      const prev = await chain(2)
      up.queue({ text: SUMMARY })
      const compacted = await client.responses.compact({ model: 'test-model', previous_response_id: prev })
      up.queue({ text: 'continuing' })
      const next = await client.responses.create({
        model: 'test-model',
        input: [...(compacted.output as ResponseInputItem[]), { role: 'user', content: 'and now?' }],
      })
      expect(next.output_text).toBe('continuing')
      const expected = ['user: question 1', 'user: question 2', `user: ${SUMMARY_PREFIX}\n\n${SUMMARY}`, 'user: and now?']
      expect(transcript(last())).toEqual(expected)
      // Kept in a chain, the compaction item keeps standing for what it replaced.
      up.queue({ text: 'still going' })
      await client.responses.create({ model: 'test-model', previous_response_id: next.id, input: 'more' })
      expect(transcript(last())).toEqual([...expected, 'assistant: continuing', 'user: more'])
    })

    test('inline input is compacted too, after the chain when both are given', async () => {
      const prev = await chain(1, 'chained')
      up.queue({ text: SUMMARY })
      const compacted = await client.responses.compact({
        model: 'test-model',
        previous_response_id: prev,
        input: [
          { role: 'user', content: 'inline question' },
          { role: 'assistant', content: 'inline answer' },
        ],
      })
      expect((compacted.output as any[]).filter((i) => i.type === 'message').map((i) => i.content[0].text)).toEqual([
        'chained 1',
        'inline question',
      ])
      expect(transcript(last()).slice(0, 4)).toEqual([
        'user: chained 1',
        'assistant: answer 1',
        'user: inline question',
        'assistant: inline answer',
      ])
    })

    test('compacting a compacted history summarises the earlier summary and keeps one compaction item', async () => {
      up.queue({ text: 'first summary' })
      const one = await client.responses.compact({ model: 'test-model', input: 'first question' })
      up.queue({ text: 'second summary' })
      const two = await client.responses.compact({
        model: 'test-model',
        input: [...(one.output as ResponseInputItem[]), { role: 'user', content: 'second question' }],
      })
      expect(transcript(last()).slice(0, 3)).toEqual([
        'user: first question',
        `user: ${SUMMARY_PREFIX}\n\nfirst summary`,
        'user: second question',
      ])
      expect((two.output as any[]).map((i) => i.type)).toEqual(['message', 'message', 'compaction'])
      up.queue({ text: 'ok' })
      await client.responses.create({ model: 'test-model', input: two.output as ResponseInputItem[] })
      expect(transcript(last())).toEqual(['user: first question', 'user: second question', `user: ${SUMMARY_PREFIX}\n\nsecond summary`])
    })

    test('a 300-turn chain is compacted and continued', async () => {
      const prev = await chain(300, 'turn')
      up.queue({ text: SUMMARY })
      const compacted = await client.responses.compact({ model: 'test-model', previous_response_id: prev })
      expect(transcript(last())).toHaveLength(601)
      expect(compacted.output).toHaveLength(301)
      up.queue({ text: 'next' })
      await client.responses.create({
        model: 'test-model',
        store: false,
        input: [...(compacted.output as ResponseInputItem[]), { role: 'user', content: 'turn 301' }],
      })
      const sent = transcript(last())
      expect(sent).toHaveLength(302)
      expect(sent.filter((l) => l.startsWith('assistant:'))).toEqual([])
      expect(sent.at(-2)).toBe(`user: ${SUMMARY_PREFIX}\n\n${SUMMARY}`)
      // 300 turns over HTTP: room for a busy machine (a bound, not a speed check).
    }, 120_000)

    test('a tampered compaction item is a 400 invalid_encrypted_content naming it', async () => {
      up.queue({ text: SUMMARY })
      const compacted = await client.responses.compact({ model: 'test-model', input: 'q' })
      const item = (compacted.output as any[]).at(-1)
      const forged = { ...item, encrypted_content: item.encrypted_content.slice(0, -3) + 'xyz' }
      const err = await rejectionOf(client.responses.create({ model: 'test-model', input: [{ role: 'user', content: 'q' }, forged] }))
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toMatchObject({ code: 'invalid_encrypted_content', param: 'input.1.encrypted_content' })
      // Nor does a token the gateway never made open.
      const asCompaction = { type: 'compaction', encrypted_content: 'ags1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }
      expect((await rejectionOf(client.responses.compact({ model: 'test-model', input: [asCompaction as any] }))).error.code).toBe(
        'invalid_encrypted_content',
      )
    })

    test('an upstream that writes no summary is a 502, and an unknown chain a 404', async () => {
      up.queue({ text: '' })
      const err = await rejectionOf(client.responses.compact({ model: 'test-model', input: 'q' }))
      expect(err.status).toBe(502)
      expect(err.error.code).toBe('compaction_failed')
      expect((await rejectionOf(client.responses.compact({ model: 'test-model', previous_response_id: 'resp_nope' }))).status).toBe(404)
    })
  })
}
