// `include` on conversation item listing: reasoning.encrypted_content gives the conversation's reasoning items
// their sealed text (which opens again as input); without it they carry none — as OpenAI lists them.
import { describe, expect, test } from 'bun:test'
import type OpenAI from 'openai'
import type { FakeUpstream } from '../support/fake-upstream'
import { useGateway } from '../support/suite'

describe('conversation items with include', () => {
  let up: FakeUpstream
  let client: OpenAI
  useGateway({}, (s) => ({ up, client } = s))

  async function conversationWithReasoning(include: boolean) {
    const conv = await client.conversations.create({})
    up.queue({ reasoning: 'weighing the options', text: 'option B' })
    await client.responses.create({
      model: 'test-model',
      conversation: conv.id,
      input: 'A or B?',
      include: include ? ['reasoning.encrypted_content'] : [],
    })
    return conv.id
  }
  const reasoningOf = (items: any[]) => items.find((i) => i.type === 'reasoning')

  test('listing with include carries the sealed reasoning, listing without it does not', async () => {
    for (const sealedAtTurn of [true, false]) {
      const conv = await conversationWithReasoning(sealedAtTurn)
      const plain = reasoningOf((await client.conversations.items.list(conv)).data)
      expect(plain.encrypted_content ?? null).toBeNull()
      const listed = reasoningOf((await client.conversations.items.list(conv, { include: ['reasoning.encrypted_content'] })).data)
      expect(listed.encrypted_content).toStartWith('ags1.')
      const one: any = await client.conversations.items.retrieve(listed.id, {
        conversation_id: conv,
        include: ['reasoning.encrypted_content'],
      })
      expect(one.encrypted_content).toStartWith('ags1.')
      // The listed token opens like any other: a store:false client can send the item back.
      const { content: _c, ...item } = listed
      up.queue({ text: 'ok' })
      await client.responses.create({
        model: 'test-model',
        store: false,
        input: [item, { type: 'message', role: 'assistant', content: 'option B' }, { role: 'user', content: 'why?' }],
      })
      const sent = up.requestsTo('/v1/responses').at(-1)!.body.input
      expect(sent[0]).toMatchObject({ type: 'reasoning', content: [{ type: 'reasoning_text', text: 'weighing the options' }] })
    }
  })
})
