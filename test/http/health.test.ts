// GET /health (liveness) and GET /ready (store open and upstream answering), over real HTTP.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

async function closedPort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  await s.stop(true)
  return port
}

describe('with a live upstream', () => {
  let upstream: FakeUpstream
  let gw: TestGateway
  beforeAll(async () => {
    upstream = startFakeUpstream()
    gw = await startGateway({
      upstream: upstream.url,
      env: { AGENTGATE_CONNECT_TIMEOUT_MS: '300', AGENTGATE_UPSTREAM_KEY: 'sk-ready' },
      logLevel: 'silent',
    })
  })
  afterAll(async () => {
    await gw?.stop()
    await upstream?.stop()
  })

  test('GET /health → 200 {status:"ok", version}', async () => {
    const res = await fetch(gw.url + '/health')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual({ status: 'ok', version: 'test' })
  })

  test('HEAD /health → 200', async () => {
    expect((await fetch(gw.url + '/health', { method: 'HEAD' })).status).toBe(200)
  })

  test('GET /ready → 200 when the store is open and the upstream answers', async () => {
    const res = await fetch(gw.url + '/ready')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ready', store: 'ok', upstream: 'ok' })
    // readiness asks the upstream's model list, with our key
    const probe = upstream.requestsTo('/v1/models').at(-1)!
    expect(probe.headers.authorization).toBe('Bearer sk-ready')
  })

  test('GET /ready → 503 naming the status when the upstream answers with an error', async () => {
    upstream.modelsFault = { fault: 'status', status: 500 }
    try {
      const res = await fetch(gw.url + '/ready')
      expect(res.status).toBe(503)
      const body = (await res.json()) as any
      expect(body).toMatchObject({ status: 'unready', store: 'ok' })
      expect(body.upstream).toContain('500')
    } finally {
      upstream.modelsFault = null
    }
  })

  test('GET /ready → 503 within the connect timeout when the upstream hangs', async () => {
    upstream.modelsFault = { fault: 'slow', delayMs: 3000 }
    try {
      const t0 = performance.now()
      const res = await fetch(gw.url + '/ready')
      expect(performance.now() - t0).toBeLessThan(2000)
      expect(res.status).toBe(503)
      const body = (await res.json()) as any
      expect(body.status).toBe('unready')
      expect(body.upstream).toMatch(/300 ms/)
    } finally {
      upstream.modelsFault = null
    }
  })

  test('/health stays 200 while the upstream is failing', async () => {
    upstream.modelsFault = { fault: 'status', status: 503 }
    try {
      expect((await fetch(gw.url + '/health')).status).toBe(200)
    } finally {
      upstream.modelsFault = null
    }
  })
})

describe('with the upstream down', () => {
  test('GET /ready → 503 with the reason; /health → 200', async () => {
    const gw = await startGateway({ upstream: `http://127.0.0.1:${await closedPort()}/v1`, logLevel: 'silent' })
    try {
      const res = await fetch(gw.url + '/ready')
      expect(res.status).toBe(503)
      const body = (await res.json()) as any
      expect(body).toMatchObject({ status: 'unready', store: 'ok' })
      expect(body.upstream).toMatch(/unreachable/)
      expect((await fetch(gw.url + '/health')).status).toBe(200)
    } finally {
      await gw.stop()
    }
  })

  test('GET /ready turns 503 when a running upstream stops', async () => {
    const upstream = startFakeUpstream()
    const gw = await startGateway({ upstream: upstream.url, logLevel: 'silent' })
    try {
      expect((await fetch(gw.url + '/ready')).status).toBe(200)
      await upstream.stop()
      const down = await fetch(gw.url + '/ready')
      expect(down.status).toBe(503)
      expect(((await down.json()) as any).upstream).toMatch(/unreachable/)
    } finally {
      await gw.stop()
    }
  })
})

describe('with the store closed', () => {
  test('GET /ready → 503 naming the store', async () => {
    const upstream = startFakeUpstream()
    const gw = await startGateway({ upstream: upstream.url, logLevel: 'silent' })
    try {
      await gw.store.close()
      const res = await fetch(gw.url + '/ready')
      expect(res.status).toBe(503)
      const body = (await res.json()) as any
      expect(body).toMatchObject({ status: 'unready', upstream: 'ok' })
      expect(body.store).toMatch(/store unavailable/)
    } finally {
      await gw.app.stop(true)
      rmSync(gw.dir, { recursive: true, force: true })
      await upstream.stop()
    }
  })
})
