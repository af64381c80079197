// Errors that name what failed on the upstream side: the upstream's URL (credentials redacted) in 502/504
// messages, a fix for a base URL without /v1, and an unknown model answered with the models the upstream
// serves — through the openai SDK, SSE and the WebSocket mode, for both upstream adapters.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { openSocket } from '../support/ws-client'

/** vLLM's answer to a model it does not serve (vllm/entrypoints/openai serving: _check_model → 404 NotFoundError). */
const vllmUnknownModel = (model: string) => ({
  error: { message: `The model \`${model}\` does not exist.`, type: 'NotFoundError', param: 'model', code: 404 },
})
/** The same from vLLM releases that answered without the `error` envelope. */
const olderVllmUnknownModel = (model: string) => ({
  object: 'error',
  message: `The model \`${model}\` does not exist.`,
  type: 'NotFoundError',
  param: null,
  code: 404,
})

let up: FakeUpstream

beforeAll(() => {
  up = startFakeUpstream({
    models: [
      { id: 'Qwen/Qwen3-8B', max_model_len: 32768 },
      { id: 'test-model', max_model_len: 32768 },
    ],
  })
})
afterAll(async () => {
  await up.stop()
})

async function withGateway(upstream: string, run: (gw: TestGateway, client: OpenAI) => Promise<void>, env: Record<string, string> = {}) {
  const gw = await startGateway({ upstream, env })
  try {
    await run(gw, new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }))
  } finally {
    await gw.stop()
  }
}

describe.each(['responses', 'chat'])('--upstream-api %s', (api) => {
  const env = { AGENTGATE_UPSTREAM_API: api }
  const path = api === 'chat' ? '/chat/completions' : '/responses'

  test('an unknown model → 404 model_not_found listing the models the upstream serves', async () => {
    await withGateway(
      up.url,
      async (_gw, client) => {
        up.queue({ fault: 'status', status: 404, body: vllmUnknownModel('Qwen3-8B') })
        const err = await rejectionOf(client.responses.create({ model: 'Qwen3-8B', input: 'hi' }))
        expect(err.status).toBe(404)
        expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'model' })
        expect(err.error.message).toStartWith('The model `Qwen3-8B` does not exist on the upstream. It serves: Qwen/Qwen3-8B, test-model.')
      },
      env,
    )
  })

  test('the older vLLM shape, on a stream and over WebSocket, too; the list is fetched once and cached', async () => {
    await withGateway(
      up.url,
      async (gw, client) => {
        const listsBefore = up.requestsTo('/v1/models').length
        up.queue({ fault: 'status', status: 404, body: olderVllmUnknownModel('nope') })
        const events: any[] = []
        const err = await rejectionOf(
          (async () => {
            for await (const e of await client.responses.create({ model: 'nope', input: 'hi', stream: true })) events.push(e)
          })(),
        ).catch((e) => e)
        const failed = events.find((e) => e.type === 'response.failed' || e.type === 'error')
        const message = failed?.response?.error?.message ?? failed?.message ?? err?.error?.message ?? err?.message
        expect(message).toContain('The model `nope` does not exist on the upstream')
        expect(message).toContain('It serves: Qwen/Qwen3-8B, test-model.')

        up.queue({ fault: 'status', status: 404, body: vllmUnknownModel('nope') })
        const ws = await openSocket(gw.url)
        ws.create({ model: 'nope', input: 'hi' })
        await ws.next((f) => f.type === 'error' || f.type === 'response.failed', 5_000, 'error frame')
        ws.close()
        expect(JSON.stringify(ws.frames)).toContain('It serves: Qwen/Qwen3-8B, test-model.')
        expect(up.requestsTo('/v1/models').length - listsBefore).toBe(1)
      },
      env,
    )
  })

  test('a base URL without /v1 whose upstream answers 404 → 502 saying to add /v1', async () => {
    const base = up.url.replace(/\/v1$/, '')
    await withGateway(
      base,
      async (_gw, client) => {
        const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'hi' }))
        expect(err.status).toBe(502)
        expect(err.error.code).toBe('upstream_route_not_found')
        expect(err.error.message).toContain(`upstream answered 404 (POST ${base}${path})`)
        expect(err.error.message).toContain(`does not end in /v1`)
        expect(err.error.message).toContain(`try --upstream ${base}/v1`)
      },
      env,
    )
  })
})

describe('the upstream URL in 502/504 messages', () => {
  test('an unreachable upstream is named, its credentials redacted', async () => {
    const dead = startFakeUpstream()
    const port = dead.port
    await dead.stop()
    await withGateway(`http://agent:hunter2-pw@127.0.0.1:${port}/v1`, async (_gw, client) => {
      const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'anyone?' }))
      expect(err.status).toBe(502)
      expect(err.error.message).toStartWith(
        `upstream unreachable (POST http://***@127.0.0.1:${port}/v1/responses): the upstream refused the connection (ECONNREFUSED)`,
      )
      expect(err.error.message).not.toContain('hunter2')
      const models = await fetch(`${_gw.baseURL}/models`)
      expect(models.status).toBe(502)
      expect(((await models.json()) as any).error.message).toBe(
        `upstream unreachable (GET http://***@127.0.0.1:${port}/v1/models): the upstream refused the connection (ECONNREFUSED)`,
      )
    })
  })

  test('a slow upstream: the 504 names it', async () => {
    await withGateway(
      up.url,
      async (_gw, client) => {
        up.queue({ fault: 'slow', delayMs: 600 })
        const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'hi' }))
        expect(err.status).toBe(504)
        expect(err.error.message).toStartWith(`upstream did not answer within 200 ms (POST ${up.url}/responses)`)
      },
      { AGENTGATE_FIRST_BYTE_TIMEOUT_MS: '200' },
    )
  })

  test('an upstream 500 names the call and keeps its message', async () => {
    await withGateway(up.url, async (_gw, client) => {
      up.queue({ fault: 'status', status: 500, body: { error: { message: 'CUDA out of memory' } } })
      const err = await rejectionOf(client.responses.create({ model: 'test-model', input: 'hi' }))
      expect(err.status).toBe(502)
      expect(err.error.message).toStartWith(`upstream answered 500 (POST ${up.url}/responses): CUDA out of memory`)
    })
  })
})
