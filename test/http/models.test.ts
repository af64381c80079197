import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { DEFAULT_BASE_INSTRUCTIONS } from '../../src/codex/catalog'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { codexCatalogProblems } from '../codex/codex-model-info'

const CODEX = '?client_version=0.169.0'

describe('GET /v1/models', () => {
  let upstream: FakeUpstream
  let gw: TestGateway

  beforeAll(async () => {
    upstream = startFakeUpstream({
      models: [
        { id: 'test-model', max_model_len: 32768 },
        { id: 'vision-model', max_model_len: 8192, capabilities: { vision: true } },
      ],
    })
    gw = await startGateway({ upstream: upstream.url, logLevel: 'silent' })
  })
  afterAll(async () => {
    await gw.stop()
    await upstream.stop()
  })

  test('without client_version the upstream list comes back unchanged', async () => {
    const direct = await (await fetch(`${upstream.url}/models`)).json()
    const res = await fetch(`${gw.baseURL}/models`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual(direct)
  })

  test('other query parameters reach the upstream as sent', async () => {
    await (await fetch(`${gw.baseURL}/models?limit=5&x=y`)).arrayBuffer()
    expect(upstream.requestsTo('/v1/models').at(-1)!.search).toBe('?limit=5&x=y')
  })

  test('an upstream error status on the plain list is passed through as is', async () => {
    upstream.modelsFault = { fault: 'status', status: 503, body: { error: { message: 'loading', type: 'ServiceUnavailable', code: 503 } } }
    try {
      const res = await fetch(`${gw.baseURL}/models`)
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ error: { message: 'loading', type: 'ServiceUnavailable', code: 503 } })
    } finally {
      upstream.modelsFault = null
    }
  })

  test('the plain list: the upstream sees our request id and the client gets it back, even when the upstream has its own', async () => {
    upstream.modelsFault = {
      fault: 'raw',
      contentType: 'application/json',
      body: '{"object":"list","data":[]}',
      headers: { 'x-request-id': 'upstream-id' },
    }
    try {
      const res = await fetch(`${gw.baseURL}/models`, { headers: { 'x-request-id': 'models-mine-1' } })
      expect(res.headers.get('x-request-id')).toBe('models-mine-1')
      expect(await res.json()).toEqual({ object: 'list', data: [] })
      expect(upstream.requestsTo('/v1/models').at(-1)!.headers['x-request-id']).toBe('models-mine-1')
    } finally {
      upstream.modelsFault = null
    }
  })

  test('with client_version the list is the Codex catalog, with an ETag', async () => {
    const res = await fetch(`${gw.baseURL}/models${CODEX}`, { headers: { originator: 'codex_exec', authorization: 'Bearer client-key' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.headers.get('etag')).toMatch(/^"[^"]+"$/)
    const body: any = await res.json()
    expect(codexCatalogProblems(body)).toEqual([])
    expect(body.models).toHaveLength(2)
    expect(body.models[0]).toMatchObject({
      slug: 'test-model',
      display_name: 'test-model',
      context_window: 32768,
      max_context_window: 32768,
      input_modalities: ['text'],
    })
    expect(body.models[1]).toMatchObject({ slug: 'vision-model', context_window: 8192, input_modalities: ['text', 'image'] })
    expect(body.models[0].base_instructions).toBe(DEFAULT_BASE_INSTRUCTIONS)

    // the upstream was asked for its plain list: no client_version, no client credentials
    const sent = upstream.requestsTo('/v1/models').at(-1)!
    expect(sent.search).toBe('')
    expect(sent.headers.authorization).toBeUndefined()
  })

  test('a matching If-None-Match gets 304 with the same ETag; a stale one gets the catalog', async () => {
    const first = await fetch(`${gw.baseURL}/models${CODEX}`)
    const etag = first.headers.get('etag')!
    await first.arrayBuffer()

    const again = await fetch(`${gw.baseURL}/models${CODEX}`, { headers: { 'if-none-match': etag } })
    expect(again.status).toBe(304)
    expect(again.headers.get('etag')).toBe(etag)
    expect(await again.text()).toBe('')
    // our conditional header is not the upstream's business
    expect(upstream.requestsTo('/v1/models').at(-1)!.headers['if-none-match']).toBeUndefined()

    const stale = await fetch(`${gw.baseURL}/models${CODEX}`, { headers: { 'if-none-match': '"something-else"' } })
    expect(stale.status).toBe(200)
    expect(stale.headers.get('etag')).toBe(etag)
    expect(((await stale.json()) as any).models).toHaveLength(2)
  })

  test('an upstream error status on the Codex path is a 502 naming that status', async () => {
    upstream.modelsFault = {
      fault: 'status',
      status: 500,
      body: { error: { message: 'engine dead', type: 'InternalServerError', code: 500 } },
    }
    try {
      const res = await fetch(`${gw.baseURL}/models${CODEX}`)
      expect(res.status).toBe(502)
      const body: any = await res.json()
      expect(body).toEqual({
        error: { message: expect.stringContaining('500'), type: 'upstream_error', param: null, code: 'upstream_error' },
      })
      expect(body.error.message).toContain('engine dead')
      expect(body.error.message).toStartWith(`upstream answered 500 (GET ${upstream.url}/models): `)
    } finally {
      upstream.modelsFault = null
    }
  })

  test('an upstream answer that is not a model list is a 502', async () => {
    upstream.modelsFault = { fault: 'raw', contentType: 'text/html', body: '<html>proxy login</html>' }
    try {
      const res = await fetch(`${gw.baseURL}/models${CODEX}`)
      expect(res.status).toBe(502)
      expect(((await res.json()) as any).error).toMatchObject({
        type: 'upstream_error',
        code: 'upstream_invalid_response',
        message: expect.stringContaining(`not JSON (GET ${upstream.url}/models)`),
      })
    } finally {
      upstream.modelsFault = null
    }
  })

  test('the openai SDK lists the models', async () => {
    const client = new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 })
    const ids: string[] = []
    for await (const m of client.models.list()) ids.push(m.id)
    expect(ids).toEqual(['test-model', 'vision-model'])
  })

  test('the OpenAPI document describes the route with both shapes and the error bodies', async () => {
    const doc: any = await (await fetch(`${gw.url}/docs/json`)).json()
    const op = doc.paths?.['/v1/models']?.get
    expect(op?.tags).toContain('models')
    expect(op.parameters.map((p: any) => p.name)).toContain('client_version')
    expect(JSON.stringify(op.responses['200'])).toContain('CodexCatalog')
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '502', '504']))
  })
})

describe('GET /v1/models with the upstream down', () => {
  let gw: TestGateway
  beforeAll(async () => {
    // a port nobody listens on: start a server, note its port, stop it
    const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response('') })
    const port = s.port
    await s.stop(true)
    gw = await startGateway({ upstream: `http://127.0.0.1:${port}/v1`, logLevel: 'silent' })
  })
  afterAll(async () => {
    await gw.stop()
  })

  for (const [name, query] of [
    ['plain list', ''],
    ['Codex catalog', CODEX],
  ]) {
    test(`${name}: 502 with the error shape`, async () => {
      const res = await fetch(`${gw.baseURL}/models${query}`)
      expect(res.status).toBe(502)
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining('upstream unreachable'),
          type: 'upstream_error',
          param: null,
          code: 'upstream_unreachable',
        },
      })
    })
  }
})

describe('GET /v1/models with per-model overrides in config.toml', () => {
  let upstream: FakeUpstream
  let gw: TestGateway
  let dir: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentgate-models-'))
    writeFileSync(join(dir, 'coder.md'), 'You are a terse Go programmer.\n')
    writeFileSync(
      join(dir, 'config.toml'),
      [
        '[models."test-model"]',
        'display_name = "Test Model"',
        'context_window = 16384',
        `base_instructions_file = ${JSON.stringify(join(dir, 'coder.md'))}`,
        'default_reasoning_level = "high"',
        '',
      ].join('\n'),
    )
    upstream = startFakeUpstream()
    gw = await startGateway({ upstream: upstream.url, dir, logLevel: 'silent' })
  })
  afterAll(async () => {
    await gw.stop()
    await upstream.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('the catalog carries the configured values', async () => {
    const body: any = await (await fetch(`${gw.baseURL}/models${CODEX}`)).json()
    expect(codexCatalogProblems(body)).toEqual([])
    expect(body.models[0]).toMatchObject({
      slug: 'test-model',
      display_name: 'Test Model',
      context_window: 16384,
      max_context_window: 32768,
      base_instructions: 'You are a terse Go programmer.\n',
      default_reasoning_level: 'high',
    })
  })

  test('the plain list is not affected by overrides', async () => {
    const body: any = await (await fetch(`${gw.baseURL}/models`)).json()
    expect(body.data[0]).toMatchObject({ id: 'test-model', max_model_len: 32768 })
    expect(body.data[0].display_name).toBeUndefined()
  })
})
