// previous_response_id chains, store:false, and surviving a gateway restart — against both upstream
// wire APIs (the fake upstream checks the history it receives, in either format).
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { FakeUpstream } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { startGateway, type TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { instructionsSent, modelCalls, transcript, UPSTREAM_APIS } from '../support/upstream-view'

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let client: OpenAI
    const calls = () => modelCalls(up, api)

    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, gw, client } = s))

    describe('previous_response_id', () => {
      test('a 5-turn chain sends the full ordered history to the upstream on every turn', async () => {
        const expected: string[] = []
        let prev: string | undefined
        for (let turn = 1; turn <= 5; turn++) {
          const answer = `answer ${turn}`
          // The fake upstream checks the history it receives before answering.
          const seen: string[][] = []
          up.queue((req) => {
            seen.push(transcript(req))
            return { text: answer }
          })
          const r = await client.responses.create({ model: 'test-model', input: `question ${turn}`, previous_response_id: prev })
          expected.push(`user: question ${turn}`)
          expect(seen[0]).toEqual(expected)
          expected.push(`assistant: ${answer}`)
          expect(r.previous_response_id).toBe(prev ?? null)
          prev = r.id
        }
      })

      test('instructions are not inherited from earlier turns', async () => {
        const first = await client.responses.create({ model: 'test-model', input: 'hi', instructions: 'Answer in French.' })
        expect(instructionsSent(calls().at(-1)!)).toBe('Answer in French.')
        const second = await client.responses.create({ model: 'test-model', input: 'again', previous_response_id: first.id })
        expect(instructionsSent(calls().at(-1)!)).toBeNull()
        expect(second.instructions).toBeNull()
        const third = await client.responses.create({
          model: 'test-model',
          input: 'once more',
          previous_response_id: second.id,
          instructions: 'Be brief.',
        })
        expect(instructionsSent(calls().at(-1)!)).toBe('Be brief.')
        expect(third.instructions).toBe('Be brief.')
      })

      test('a tool call and its output round-trip through the chain', async () => {
        up.queue({ functionCalls: [{ name: 'lookup', arguments: '{"q":"x"}', call_id: 'call_7' }] })
        const r1 = await client.responses.create({
          model: 'test-model',
          input: 'look it up',
          tools: [{ type: 'function', name: 'lookup', parameters: null, strict: false }],
        })
        up.queue({ text: 'found it' })
        const r2 = await client.responses.create({
          model: 'test-model',
          previous_response_id: r1.id,
          input: [{ type: 'function_call_output', call_id: 'call_7', output: 'x = 1' }],
        })
        expect(r2.output_text).toBe('found it')
        expect(transcript(calls().at(-1)!)).toEqual(['user: look it up', 'call lookup({"q":"x"})', 'function_call_output: x = 1'])
        const items = await client.responses.inputItems.list(r2.id)
        expect(items.data as unknown[]).toEqual([
          { type: 'function_call_output', call_id: 'call_7', output: 'x = 1', id: expect.stringMatching(/^fco_/) },
        ])
      })

      test('an unknown previous_response_id is a 404 previous_response_not_found', async () => {
        const res = await fetch(`${gw.baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', input: 'x', previous_response_id: 'resp_nope' }),
        })
        expect(res.status).toBe(404)
        expect(await res.json()).toEqual({
          error: {
            message: "Previous response with id 'resp_nope' not found.",
            type: 'invalid_request_error',
            param: 'previous_response_id',
            code: 'previous_response_not_found',
          },
        })
      })

      test('a previous_response_id that is still running is a 400 naming it; once it has finished it can be continued', async () => {
        up.queue({ fault: 'slow', delayMs: 800 })
        const bg = await client.responses.create({ model: 'test-model', input: 'take your time', background: true })
        expect(['queued', 'in_progress']).toContain(String(bg.status))
        const before = calls().length
        const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'and then?', previous_response_id: bg.id }))
        expect(err).toBeInstanceOf(OpenAI.BadRequestError)
        expect(err.error).toMatchObject({
          type: 'invalid_request_error',
          param: 'previous_response_id',
          code: 'previous_response_in_progress',
          message: expect.stringContaining('still running'),
        })
        // Refused before anything ran or was stored: no model call beyond the background one.
        expect(calls().length).toBeLessThanOrEqual(before + 1)
        let done = bg
        for (let i = 0; i < 200 && (done.status === 'queued' || done.status === 'in_progress'); i++) {
          await Bun.sleep(25)
          done = await client.responses.retrieve(bg.id)
        }
        expect(done.status).toBe('completed')
        const seen: string[][] = []
        up.queue((req) => {
          seen.push(transcript(req))
          return { text: 'continued' }
        })
        const next = await client.responses.create({ model: 'test-model', input: 'and then?', previous_response_id: bg.id })
        expect(next.status).toBe('completed')
        expect(seen[0]).toEqual(['user: take your time', 'assistant: slow answer', 'user: and then?'])
      })

      test('a chain whose ancestor was deleted (or pruned by retention) is a 404 naming the missing response, never a partial history', async () => {
        const r1 = await client.responses.create({ model: 'test-model', input: 'first' })
        const r2 = await client.responses.create({ model: 'test-model', input: 'second', previous_response_id: r1.id })
        await client.responses.delete(r1.id)
        const before = calls().length
        const res = await fetch(`${gw.baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', input: 'third', previous_response_id: r2.id }),
        })
        expect(res.status).toBe(404)
        const body = (await res.json()) as any
        expect(body.error).toMatchObject({
          type: 'invalid_request_error',
          param: 'previous_response_id',
          code: 'previous_response_not_found',
        })
        expect(body.error.message).toContain(`'${r1.id}' not found`)
        expect(body.error.message).toContain(r2.id)
        expect(calls().length).toBe(before)
      })

      test('previous_response_id with conversation is a 400', async () => {
        const err = await client.responses
          .create({ model: 'test-model', input: 'x', previous_response_id: 'resp_a', conversation: 'conv_b' })
          .catch((e) => e)
        expect(err).toBeInstanceOf(OpenAI.BadRequestError)
        expect(err.error).toMatchObject({ type: 'invalid_request_error', param: 'conversation' })
      })
    })

    describe('store:false', () => {
      test('keeps nothing: not retrievable, not chainable, no rows', async () => {
        const r = await client.responses.create({ model: 'test-model', input: 'secret', store: false })
        expect((r as unknown as { store: boolean }).store).toBe(false)
        expect(r.status).toBe('completed')
        expect(await rejectionOf(client.responses.retrieve(r.id))).toBeInstanceOf(OpenAI.NotFoundError)
        expect(await rejectionOf(client.responses.create({ model: 'test-model', input: 'x', previous_response_id: r.id }))).toBeInstanceOf(
          OpenAI.NotFoundError,
        )
        expect(await gw.store.getResponse('default', r.id)).toBeNull()
      })

      test('can still continue from a stored response', async () => {
        const stored = await client.responses.create({ model: 'test-model', input: 'kept' })
        const r = await client.responses.create({ model: 'test-model', input: 'not kept', previous_response_id: stored.id, store: false })
        expect(transcript(calls().at(-1)!)).toEqual(['user: kept', 'assistant: Hello from the fake upstream.', 'user: not kept'])
        expect(await gw.store.getResponse('default', r.id)).toBeNull()
      })
    })

    describe('delete', () => {
      test('removes the response and its items; a second delete is a 404', async () => {
        const r = await client.responses.create({ model: 'test-model', input: 'to be deleted' })
        const res = await fetch(`${gw.baseURL}/responses/${r.id}`, { method: 'DELETE' })
        expect(await res.json()).toEqual({ id: r.id, object: 'response', deleted: true })
        expect(await rejectionOf(client.responses.retrieve(r.id))).toBeInstanceOf(OpenAI.NotFoundError)
        expect(await rejectionOf(client.responses.inputItems.list(r.id))).toBeInstanceOf(OpenAI.NotFoundError)
        expect(await rejectionOf(client.responses.delete(r.id))).toBeInstanceOf(OpenAI.NotFoundError)
      })
    })

    describe('restart', () => {
      test('a chain continues after the gateway restarts on the same database file', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'agentgate-restart-'))
        try {
          let g = await startGateway({ upstream: up.url, dir, env: { AGENTGATE_UPSTREAM_API: api } })
          let c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
          const r1 = await c.responses.create({ model: 'test-model', input: 'before restart' })
          await g.stop()
          g = await startGateway({ upstream: up.url, dir, env: { AGENTGATE_UPSTREAM_API: api } })
          c = new OpenAI({ baseURL: g.baseURL, apiKey: 'unused', maxRetries: 0 })
          expect((await c.responses.retrieve(r1.id)).output_text).toBe('Hello from the fake upstream.')
          up.queue({ text: 'after restart' })
          const r2 = await c.responses.create({ model: 'test-model', input: 'after', previous_response_id: r1.id })
          expect(r2.output_text).toBe('after restart')
          expect(transcript(calls().at(-1)!)).toEqual(['user: before restart', 'assistant: Hello from the fake upstream.', 'user: after'])
          await g.stop()
        } finally {
          rmSync(dir, { recursive: true, force: true })
        }
      })
    })
  })
}
