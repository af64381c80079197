// Automatic compaction on create: `context_management: [{type:"compaction", compact_threshold}]` compacts the
// whole context before the model call once its input tokens are past the threshold (the compaction item is the
// turn's first output item), and Codex's `compaction_trigger` input item asks for a compaction answered with that
// item alone — over both upstream APIs.
import { describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { COMPACTION_INSTRUCTIONS, SUMMARY_PREFIX } from '../../src/engine/compaction'
import type { FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { useGateway } from '../support/suite'
import { instructionsSent, modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let client: OpenAI
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, client } = s))
    const calls = () => modelCalls(up, api)

    async function chain(turns: number): Promise<string> {
      let prev: string | undefined
      for (let i = 1; i <= turns; i++) {
        up.queue({ text: `answer number ${i}` })
        prev = (await client.responses.create({ model: 'test-model', input: `question number ${i}`, previous_response_id: prev })).id
      }
      return prev!
    }

    test('compaction fires once the input tokens are past compact_threshold, not at it', async () => {
      const prev = await chain(3)
      const body = { model: 'test-model', previous_response_id: prev, input: 'question number 4' }
      const { input_tokens } = await client.responses.inputTokens.count(body)
      // At the threshold: no compaction, one model call.
      let before = calls().length
      up.queue({ text: 'plain' })
      const atThreshold = await client.responses.create({
        ...body,
        context_management: [{ type: 'compaction', compact_threshold: input_tokens }],
      })
      expect(calls().length - before).toBe(1)
      expect(atThreshold.output.map((i) => i.type)).toEqual(['message'])
      // One token past it: the summary call, then the model call on the compacted context.
      before = calls().length
      up.queue({ text: 'the summary of three questions' }, { text: 'answer number 4' })
      const past = await client.responses.create({
        ...body,
        context_management: [{ type: 'compaction', compact_threshold: input_tokens - 1 }],
      })
      expect(calls().length - before).toBe(2)
      const [summaryCall, modelCall] = calls().slice(-2)
      expect(instructionsSent(summaryCall!)).toBe(COMPACTION_INSTRUCTIONS)
      expect(transcript(modelCall!)).toEqual([
        'user: question number 1',
        'user: question number 2',
        'user: question number 3',
        'user: question number 4',
        `user: ${SUMMARY_PREFIX}\n\nthe summary of three questions`,
      ])
      expect(past.output.map((i) => i.type)).toEqual(['compaction', 'message'])
      expect((past.output[0] as any).encrypted_content).toStartWith('ags1.')
      // The chain goes on from the compacted context.
      up.queue({ text: 'five' })
      await client.responses.create({ model: 'test-model', previous_response_id: past.id, input: 'question number 5' })
      expect(transcript(calls().at(-1)!).slice(-3)).toEqual([
        `user: ${SUMMARY_PREFIX}\n\nthe summary of three questions`,
        'assistant: answer number 4',
        'user: question number 5',
      ])
    })

    test('a streamed turn shows the compaction item first, then the model output', async () => {
      up.queue({ text: 'summary' }, { text: 'streamed answer' })
      const stream = await client.responses.create({
        model: 'test-model',
        input: 'a long question',
        stream: true,
        context_management: [{ type: 'compaction', compact_threshold: 1 }],
      })
      const done: [number, string][] = []
      let final: any
      for await (const ev of stream) {
        if (ev.type === 'response.output_item.done') done.push([ev.output_index, ev.item.type])
        if (ev.type === 'response.completed') final = ev.response
      }
      expect(done).toEqual([
        [0, 'compaction'],
        [1, 'message'],
      ])
      expect(final.output_text).toBe('streamed answer')
      expect((await client.responses.retrieve(final.id)).output.map((i) => i.type)).toEqual(['compaction', 'message'])
    })

    test("Codex's compaction_trigger is answered with exactly one compaction item, which later requests expand", async () => {
      const history: ResponseInputItem[] = [
        { role: 'user', content: 'fix the bug' },
        { role: 'assistant', content: 'fixed it' },
      ]
      const before = calls().length
      up.queue({ text: 'user wanted a bug fixed; done' })
      const r = await client.responses.create({
        model: 'test-model',
        store: false,
        input: [...history, { type: 'compaction_trigger' } as ResponseInputItem],
      })
      expect(calls().length - before).toBe(1)
      expect(instructionsSent(calls().at(-1)!)).toBe(COMPACTION_INSTRUCTIONS)
      expect(r.output).toEqual([
        { type: 'compaction', id: expect.stringMatching(/^cmp_/), encrypted_content: expect.stringMatching(/^ags1\./) },
      ] as any)
      up.queue({ text: 'next step' })
      await client.responses.create({
        model: 'test-model',
        store: false,
        input: [...history, r.output[0] as ResponseInputItem, { role: 'user', content: 'now the tests' }],
      })
      expect(transcript(calls().at(-1)!)).toEqual([
        'user: fix the bug',
        `user: ${SUMMARY_PREFIX}\n\nuser wanted a bug fixed; done`,
        'user: now the tests',
      ])
    })

    test('a compaction_trigger that is not the last input item is a 400', async () => {
      const err = await rejectionOf(
        client.responses.create({
          model: 'test-model',
          input: [{ type: 'compaction_trigger' } as ResponseInputItem, { role: 'user', content: 'x' }],
        }),
      )
      expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'input.0' })
    })

    test('a compaction the upstream cannot write fails the turn', async () => {
      up.queue({ fault: 'status', status: 500 })
      const err = await rejectionOf(
        client.responses.create({ model: 'test-model', input: 'q', context_management: [{ type: 'compaction', compact_threshold: 1 }] }),
      )
      expect(err.status).toBe(502)
    })
  })
}
