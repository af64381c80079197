// The model's context window (the upstream's max_model_len): input that does not fit is a 400
// context_length_exceeded by default (truncation: "disabled"), and with truncation: "auto" the oldest items are
// dropped until it fits — tool calls together with their outputs, the latest user message never.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import { fakeTokenCount, type FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { useGateway } from '../support/suite'
import { transcript } from '../support/upstream-view'

const WINDOW = 2000
/** A user message of n fake-tokenizer tokens (each word one token). */
const words = (tag: string, n: number) => `${tag} ` + 'lorem '.repeat(n - 1).trim()

describe('context window of 2000 tokens (chat upstream)', () => {
  let up: FakeUpstream
  let client: OpenAI
  useGateway(
    { upstream: { models: [{ id: 'test-model', max_model_len: WINDOW }] }, gateway: { env: { AGENTGATE_UPSTREAM_API: 'chat' } } },
    (s) => ({ up, client } = s),
  )
  const modelCalls = () => up.requestsTo('/v1/chat/completions')

  async function longChain(turns: number): Promise<string> {
    let prev: string | undefined
    for (let i = 1; i <= turns; i++) {
      up.queue({ text: `answer ${i}` })
      prev = (await client.responses.create({ model: 'test-model', input: words(`turn${i}`, 300), previous_response_id: prev })).id
    }
    return prev!
  }

  test('by default, input past the window is a 400 context_length_exceeded and the model is not called', async () => {
    const prev = await longChain(6)
    const calls = modelCalls().length
    const err = await rejectionOf(client.responses.create({ model: 'test-model', previous_response_id: prev, input: words('turn7', 300) }))
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'context_length_exceeded', param: 'input' })
    expect(modelCalls().length).toBe(calls)
  })

  test('with truncation "auto" the oldest items are dropped until the input fits', async () => {
    const prev = await longChain(6)
    up.queue({ text: 'fits now' })
    const r = await client.responses.create({
      model: 'test-model',
      previous_response_id: prev,
      input: words('turn7', 300),
      truncation: 'auto',
      instructions: 'Be brief.',
    })
    expect(r.output_text).toBe('fits now')
    const sent = modelCalls().at(-1)!
    expect(fakeTokenCount(sent.body)).toBeLessThanOrEqual(WINDOW)
    const lines = transcript(sent)
    // The newest part of the history, in order, ending with the new message; the instructions stay.
    expect(lines.at(-1)).toStartWith('user: turn7 ')
    expect(lines[0]).toStartWith('user: turn')
    expect(lines.length).toBeLessThan(13)
    expect(lines.length).toBeGreaterThan(4)
    expect(sent.body.messages[0]).toEqual({ role: 'system', content: 'Be brief.' })
  })

  test('a tool call and its output are dropped together', async () => {
    const input: ResponseInputItem[] = [{ role: 'user', content: words('start', 100) }]
    for (let i = 1; i <= 8; i++) {
      input.push({ type: 'function_call', call_id: `call_${i}`, name: 'read', arguments: `{"n":${i}}` })
      input.push({ type: 'function_call_output', call_id: `call_${i}`, output: words(`output${i}`, 250) })
    }
    input.push({ role: 'user', content: 'summarise what you read' })
    up.queue({ text: 'done' })
    await client.responses.create({
      model: 'test-model',
      store: false,
      input,
      truncation: 'auto',
      tools: [{ type: 'function', name: 'read', parameters: { type: 'object' }, strict: false }],
    })
    const messages = modelCalls().at(-1)!.body.messages as any[]
    const called = messages.flatMap((m) => (m.tool_calls ?? []).map((c: any) => c.id))
    const answered = messages.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)
    expect(called.length).toBeGreaterThan(0)
    expect(called.length).toBeLessThan(8)
    expect(answered).toEqual(called)
    expect(called.at(-1)).toBe('call_8')
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'summarise what you read' })
  })

  test('when even the latest message does not fit, truncation "auto" is a 400 too', async () => {
    const err = await rejectionOf(client.responses.create({ model: 'test-model', input: words('huge', 2500), truncation: 'auto' }))
    expect(err.error).toMatchObject({ code: 'context_length_exceeded', param: 'input' })
  })
})
