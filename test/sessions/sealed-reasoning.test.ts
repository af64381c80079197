// Sealed reasoning (include: ["reasoning.encrypted_content"]): a store:false client gets its reasoning
// items with gateway-sealed encrypted_content and sends them back; the upstream then sees the original
// reasoning again — over both upstream APIs, driven by the openai SDK. Tampered, foreign or unknown-key
// content is a 400 invalid_encrypted_content.
import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import type { ResponseInputItem } from 'openai/resources/responses/responses'
import type { FakeUpstream, RecordedRequest } from '../support/fake-upstream'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { modelCalls, UPSTREAM_APIS } from '../support/upstream-view'

/** The reasoning texts the upstream was given, in order, in either wire format. */
function reasoningSent(req: RecordedRequest): string[] {
  if (Array.isArray(req.body.messages))
    return req.body.messages.filter((m: any) => typeof m.reasoning_content === 'string').map((m: any) => m.reasoning_content)
  return req.body.input.filter((i: any) => i.type === 'reasoning').map((i: any) => (i.content ?? []).map((p: any) => p.text).join(''))
}

const SEALED = ['reasoning.encrypted_content'] as const

for (const api of UPSTREAM_APIS) {
  describe(`upstream API ${api}`, () => {
    let up: FakeUpstream
    let client: OpenAI
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api } } }, (s) => ({ up, client } = s))

    /** A store:false turn that reasoned; returns its output as a client would keep it. */
    async function reasonedTurn(input: ResponseInputItem[], reasoning: string, text: string) {
      up.queue({ reasoning, text })
      const r = await client.responses.create({ model: 'test-model', input, store: false, include: [...SEALED] })
      return r.output
    }

    test('a store:false client keeps its reasoning across turns through encrypted_content', async () => {
      const first: ResponseInputItem[] = [{ role: 'user', content: 'What is 6 times 7?' }]
      const out1 = await reasonedTurn(first, 'Six sevens make forty-two.', '42')
      const rs = out1.find((i) => i.type === 'reasoning')!
      expect(rs.encrypted_content).toStartWith('ags1.')
      // The SDKs' clients (and OpenAI's own contract) send back id, summary and encrypted_content: not the text.
      const { content: _dropped, ...sentBack } = rs as any
      const msg = out1.find((i) => i.type === 'message')!
      up.queue({ text: 'Yes.' })
      await client.responses.create({
        model: 'test-model',
        store: false,
        include: [...SEALED],
        input: [...first, sentBack, msg as ResponseInputItem, { role: 'user', content: 'Sure?' }],
      })
      const seen = modelCalls(up, api).at(-1)!
      expect(reasoningSent(seen)).toEqual(['Six sevens make forty-two.'])
      // The token is the gateway's: it never goes upstream.
      expect(JSON.stringify(seen.body)).not.toContain('ags1.')
    })

    test('the sealed text wins over reasoning text the client changed', async () => {
      const out = await reasonedTurn([{ role: 'user', content: 'q' }], 'the real reasoning', 'a')
      const rs = out.find((i) => i.type === 'reasoning') as any
      const msg = out.find((i) => i.type === 'message') as ResponseInputItem
      up.queue({ text: 'ok' })
      // (A chat upstream gets reasoning with the assistant message it preceded.)
      await client.responses.create({
        model: 'test-model',
        store: false,
        input: [
          { role: 'user', content: 'q' },
          { ...rs, content: [{ type: 'reasoning_text', text: 'forged' }] },
          msg,
          { role: 'user', content: 'next' },
        ],
      })
      expect(reasoningSent(modelCalls(up, api).at(-1)!)).toEqual(['the real reasoning'])
    })

    test('without the include, reasoning items carry no encrypted_content', async () => {
      up.queue({ reasoning: 'hmm', text: 'a' })
      const r = await client.responses.create({ model: 'test-model', input: 'q', store: false })
      expect((r.output.find((i) => i.type === 'reasoning') as any).encrypted_content ?? null).toBeNull()
    })

    test('stored output and the streamed item carry the same sealed content', async () => {
      up.queue({ reasoning: 'streamed thoughts', text: 'a' })
      const stream = await client.responses.create({ model: 'test-model', input: 'q', include: [...SEALED], stream: true })
      let done: any
      let final: any
      for await (const ev of stream) {
        if (ev.type === 'response.output_item.done' && ev.item.type === 'reasoning') done = ev.item
        if (ev.type === 'response.completed') final = ev.response
      }
      const stored = await client.responses.retrieve(final.id)
      const storedRs = stored.output.find((i) => i.type === 'reasoning') as any
      expect(storedRs.encrypted_content).toBe(done.encrypted_content)
      expect(final.output.find((i: any) => i.type === 'reasoning').encrypted_content).toBe(done.encrypted_content)
    })

    test('tampered encrypted_content is a 400 invalid_encrypted_content naming the item', async () => {
      const out = await reasonedTurn([{ role: 'user', content: 'q' }], 'secret thoughts', 'a')
      const rs = out.find((i) => i.type === 'reasoning') as any
      const token: string = rs.encrypted_content
      const flipped = token.slice(0, -5) + (token.at(-5) === 'A' ? 'B' : 'A') + token.slice(-4)
      const calls = modelCalls(up, api).length
      const err = await rejectionOf(
        client.responses.create({
          model: 'test-model',
          store: false,
          input: [
            { role: 'user', content: 'q' },
            { ...rs, encrypted_content: flipped },
          ],
        }),
      )
      expect(err).toBeInstanceOf(OpenAI.BadRequestError)
      expect(err.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_encrypted_content',
        param: 'input.1.encrypted_content',
      })
      for (const junk of ['not-a-token', 'ags1.0000000000000000.AAAA'])
        expect(
          (await rejectionOf(client.responses.create({ model: 'test-model', store: false, input: [{ ...rs, encrypted_content: junk }] })))
            .error.code,
        ).toBe('invalid_encrypted_content')
      expect(modelCalls(up, api).length).toBe(calls)
    })
  })
}

describe('sealing keys', () => {
  const env = (extra: Record<string, string>) => ({ AGENTGATE_API_KEYS: 'alice:key-a,bob:key-b', ...extra })
  const sdk = (gw: TestGateway, key: string) => new OpenAI({ baseURL: gw.baseURL, apiKey: key, maxRetries: 0 })
  const b64 = () => randomBytes(32).toString('base64')

  async function sealedItem(up: FakeUpstream, gw: TestGateway, key = 'key-a') {
    up.queue({ reasoning: 'private', text: 'a' })
    const r = await sdk(gw, key).responses.create({ model: 'test-model', input: 'q', store: false, include: [...SEALED] })
    return r.output.find((i) => i.type === 'reasoning') as any
  }
  const sendBack = (gw: TestGateway, item: any, key = 'key-a') =>
    sdk(gw, key).responses.create({ model: 'test-model', store: false, input: [item, { role: 'user', content: 'go on' }] })

  test("another tenant's sealed reasoning does not open", async () => {
    const up = startFakeUpstream()
    const gw = await startGateway({ upstream: up.url, env: env({}) })
    try {
      const item = await sealedItem(up, gw, 'key-a')
      expect((await rejectionOf(sendBack(gw, item, 'key-b'))).error.code).toBe('invalid_encrypted_content')
      await sendBack(gw, item, 'key-a')
      expect(reasoningSent(up.requestsTo('/v1/responses').at(-1)!)).toEqual(['private'])
    } finally {
      await gw.stop()
      await up.stop()
    }
  })

  test('without configured keys one is generated once into the home directory (mode 0600) and survives a restart', async () => {
    const up = startFakeUpstream()
    let gw = await startGateway({ upstream: up.url })
    const dir = gw.dir
    try {
      const item = await sealedItem(up, gw, 'unused')
      const file = join(dir, 'sealing.key')
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const before = await Bun.file(file).text()
      await gw.stop({ keepDir: true })
      gw = await startGateway({ upstream: up.url, dir })
      expect(await Bun.file(file).text()).toBe(before)
      await sendBack(gw, item, 'unused')
      expect(reasoningSent(up.requestsTo('/v1/responses').at(-1)!)).toEqual(['private'])
    } finally {
      await gw.stop()
      await up.stop()
    }
  })

  test('keys rotate: the first key seals, older keys still open, a removed key no longer does', async () => {
    const up = startFakeUpstream()
    const [oldKey, newKey] = [b64(), b64()]
    let gw = await startGateway({ upstream: up.url, env: env({ AGENTGATE_SEALING_KEYS: oldKey }) })
    const dir = gw.dir
    try {
      const old = await sealedItem(up, gw)
      await gw.stop({ keepDir: true })
      gw = await startGateway({ upstream: up.url, dir, env: env({ AGENTGATE_SEALING_KEYS: `${newKey},${oldKey}` }) })
      await sendBack(gw, old)
      expect(reasoningSent(up.requestsTo('/v1/responses').at(-1)!)).toEqual(['private'])
      const fresh = await sealedItem(up, gw)
      expect(fresh.encrypted_content.split('.')[1]).not.toBe(old.encrypted_content.split('.')[1])
      await gw.stop({ keepDir: true })
      gw = await startGateway({ upstream: up.url, dir, env: env({ AGENTGATE_SEALING_KEYS: newKey }) })
      await sendBack(gw, fresh)
      expect((await rejectionOf(sendBack(gw, old))).error.code).toBe('invalid_encrypted_content')
    } finally {
      await gw.stop()
      await up.stop()
    }
  })
})
