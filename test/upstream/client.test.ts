// The upstream HTTP client against small real servers on port 0: URL joining, headers, 502/504 mapping,
// timeouts, idle streams, client aborts and compressed pass-through.
import { afterEach, describe, expect, test } from 'bun:test'
import { gzipSync } from 'node:zlib'
import { ApiError } from '../../src/errors'
import { settle } from '../../src/store/settled-items'
import { createUpstreamClient, OURS_STREAMS_BELOW, transportFor, withIdleTimeout, type UpstreamOptions } from '../../src/upstream/client'
import { openUpstreamStreams } from '../../src/upstream/open-streams'
import { requestBody, wasSent } from '../../src/upstream/request-body'

type Server = ReturnType<typeof Bun.serve>
const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop(true)
})

function serve(fetch: (req: Request) => Response | Promise<Response>): Server {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', idleTimeout: 0, fetch })
  servers.push(s)
  return s
}

function client(baseUrl: string, opts: Partial<UpstreamOptions> = {}) {
  return createUpstreamClient({ baseUrl, apiKey: null, connectTimeoutMs: 2000, firstByteTimeoutMs: 2000, idleTimeoutMs: 2000, ...opts })
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  await s.stop(true)
  return port
}

async function apiError(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    return e as ApiError
  }
  throw new Error('expected an ApiError')
}

const enc = new TextEncoder()

describe("transportFor: our HTTP/1.1 client where it goes, Bun's fetch elsewhere", () => {
  test.each([
    ['http://127.0.0.1:8000/v1', {}, 'http1'],
    ['http://gpu-box:8000', {}, 'http1'],
    // TLS: Bun's fetch
    ['https://api.example.com/v1', {}, 'fetch'],
    // credentials in the URL (fetch sends them as basic auth)
    ['http://agent:pw@127.0.0.1:8000/v1', {}, 'fetch'],
    // a proxy named by the environment, which Bun's fetch honours
    ['http://127.0.0.1:8000/v1', { HTTP_PROXY: 'http://proxy:3128' }, 'fetch'],
    ['http://127.0.0.1:8000/v1', { http_proxy: 'http://proxy:3128' }, 'fetch'],
    ['http://127.0.0.1:8000/v1', { HTTP_PROXY: '' }, 'http1'],
  ] as const)('%s with %j → %s', (url, env, expected) => {
    expect(transportFor(url, env) === fetch ? 'fetch' : 'http1').toBe(expected)
  })
})

test("a whole answer comes through our HTTP/1.1 client; an event stream too while fewer than OURS_STREAMS_BELOW upstream streams are open, through Bun's fetch (which sends its user-agent) past it", async () => {
  const agents: (string | null)[] = []
  const s = serve((req) => {
    if (new URL(req.url).pathname === '/v1/hold')
      // a first event, so the server sends the headers; then the stream stays open
      return new Response(new ReadableStream<Uint8Array>({ start: (ctl) => ctl.enqueue(enc.encode(': open\n\n')) }), {
        headers: { 'content-type': 'text/event-stream' },
      })
    agents.push(req.headers.get('user-agent'))
    return new Response('{}', { headers: { 'content-type': 'application/json' } })
  })
  const c = client(`http://127.0.0.1:${s.port}/v1`)
  const ask = async (stream: boolean | undefined) => {
    agents.length = 0
    await (await c.call({ method: 'POST', path: '/responses', body: '{}', stream })).text()
    return agents[0]?.startsWith('Bun/') ? 'fetch' : 'http1'
  }
  const before = openUpstreamStreams.count
  expect(before).toBeLessThan(OURS_STREAMS_BELOW)
  expect([await ask(false), await ask(true), await ask(undefined)]).toEqual(['http1', 'http1', 'http1'])
  // streams relayed by the pass-through count while they are open (withIdleTimeout)
  const open = await Promise.all(Array.from({ length: OURS_STREAMS_BELOW - before }, () => c.proxy({ path: '/hold', stream: true })))
  expect(openUpstreamStreams.count).toBe(OURS_STREAMS_BELOW)
  expect([await ask(false), await ask(true)]).toEqual(['http1', 'fetch'])
  for (const r of open) await r.body!.cancel()
  expect(openUpstreamStreams.count).toBe(before)
  expect(await ask(true)).toBe('http1')
})

describe('URL joining', () => {
  const rows: [base: string, path: string, search: string, expected: string][] = [
    ['/v1', '/models', '', '/v1/models'],
    ['/v1/', '/models', '', '/v1/models'],
    ['/v1//', '/chat/completions', '?x=1', '/v1/chat/completions?x=1'],
    ['/api/openai/v1', '/responses', '', '/api/openai/v1/responses'],
    ['', '/models', '?client_version=0.1', '/models?client_version=0.1'],
  ]
  for (const [basePath, path, search, expected] of rows) {
    test(`base "${basePath}" + "${path}${search}" → ${expected}`, async () => {
      const s = serve((req) => {
        const u = new URL(req.url)
        return new Response(u.pathname + u.search)
      })
      const c = client(`http://127.0.0.1:${s.port}${basePath}`)
      expect(c.baseUrl).toBe(`http://127.0.0.1:${s.port}${basePath.replace(/\/+$/, '')}`)
      const r = await c.call({ path, search })
      expect(await r.text()).toBe(expected)
    })
  }
})

describe('headers sent upstream', () => {
  test('the upstream key replaces the client key; hop-by-hop and host are not forwarded', async () => {
    let seen: Record<string, string> = {}
    const s = serve((req) => {
      seen = Object.fromEntries(req.headers)
      return new Response('ok')
    })
    const c = client(`http://127.0.0.1:${s.port}/v1`, { apiKey: 'sk-up' })
    await (
      await c.call({
        path: '/models',
        headers: { authorization: 'Bearer client', 'x-request-id': 'r1', 'keep-alive': 'timeout=1', host: 'evil', 'openai-beta': 'x' },
      })
    ).text()
    expect(seen.authorization).toBe('Bearer sk-up')
    expect(seen['x-request-id']).toBe('r1')
    expect(seen['openai-beta']).toBe('x')
    expect(seen['keep-alive']).toBeUndefined()
    expect(seen.host).toBe(`127.0.0.1:${s.port}`)
  })

  test('the request body and method are sent', async () => {
    let got = ''
    const s = serve(async (req) => {
      got = `${req.method} ${await req.text()}`
      return new Response('ok')
    })
    await (
      await client(`http://127.0.0.1:${s.port}`).call({
        method: 'POST',
        path: '/x',
        body: '{"a":1}',
        headers: { 'content-type': 'application/json' },
      })
    ).text()
    expect(got).toBe('POST {"a":1}')
  })

  test('redirects are not followed', async () => {
    const s = serve(() => new Response(null, { status: 307, headers: { location: 'http://127.0.0.1:1/elsewhere' } }))
    const r = await client(`http://127.0.0.1:${s.port}`).call({ path: '/x' })
    expect(r.status).toBe(307)
  })
})

describe('failures become ApiErrors', () => {
  test('connection refused → 502 upstream_unreachable', async () => {
    const port = await closedPort()
    const e = await apiError(client(`http://127.0.0.1:${port}/v1`).call({ path: '/models' }))
    expect(e.status).toBe(502)
    expect(e.toJSON().error).toMatchObject({ type: 'upstream_error', code: 'upstream_unreachable' })
  })

  test('an unresolvable host → 502', async () => {
    const e = await apiError(client('http://agentgate-no-such-host.invalid/v1').call({ path: '/models' }))
    expect(e.status).toBe(502)
  })

  test('slow response headers on a quick call → 504 within connectTimeoutMs', async () => {
    const s = serve(async () => {
      await Bun.sleep(3000)
      return new Response('late')
    })
    const t0 = performance.now()
    const e = await apiError(
      client(`http://127.0.0.1:${s.port}`, { connectTimeoutMs: 150, firstByteTimeoutMs: 5000 }).call({ path: '/models' }),
    )
    const took = performance.now() - t0
    expect(e.status).toBe(504)
    expect(e.toJSON().error.code).toBe('upstream_timeout')
    expect(took).toBeGreaterThanOrEqual(140)
    expect(took).toBeLessThan(1500)
  })

  test('slow response headers on a generate call → 504 within firstByteTimeoutMs', async () => {
    const s = serve(async () => {
      await Bun.sleep(3000)
      return new Response('late')
    })
    const t0 = performance.now()
    const e = await apiError(
      client(`http://127.0.0.1:${s.port}`, { connectTimeoutMs: 5000, firstByteTimeoutMs: 200 }).call({
        method: 'POST',
        path: '/responses',
        body: '{}',
        kind: 'generate',
      }),
    )
    expect(e.status).toBe(504)
    expect(performance.now() - t0).toBeLessThan(1500)
  })

  test('the header timeout does not cut off a slow body once headers arrived', async () => {
    const s = serve(
      () =>
        new Response(
          new ReadableStream({
            async start(ctl) {
              ctl.enqueue(enc.encode('a'))
              await Bun.sleep(300)
              ctl.enqueue(enc.encode('b'))
              ctl.close()
            },
          }),
        ),
    )
    const r = await client(`http://127.0.0.1:${s.port}`, { connectTimeoutMs: 100 }).call({ path: '/x' })
    expect(await r.text()).toBe('ab')
  })

  test('upstream error statuses are returned, not thrown', async () => {
    const s = serve(() => Response.json({ error: { message: 'slow down' } }, { status: 429, headers: { 'retry-after': '3' } }))
    const r = await client(`http://127.0.0.1:${s.port}`).call({ path: '/x' })
    expect(r.status).toBe(429)
    expect(r.headers.get('retry-after')).toBe('3')
  })
})

describe('streams', () => {
  function sseServer(onCancel: () => void, opts: { stallAfter?: number } = {}) {
    return serve(
      () =>
        new Response(
          new ReadableStream({
            async start(ctl) {
              try {
                for (let i = 0; ; i++) {
                  if (opts.stallAfter !== undefined && i >= opts.stallAfter) return
                  ctl.enqueue(enc.encode(`data: ${i}\n\n`))
                  await Bun.sleep(20)
                }
              } catch {
                // enqueue after cancel: the reader went away
              }
            },
            cancel() {
              onCancel()
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    )
  }

  test('an SSE body that goes silent errors after idleTimeoutMs', async () => {
    const s = sseServer(() => {}, { stallAfter: 2 })
    const r = await client(`http://127.0.0.1:${s.port}`, { idleTimeoutMs: 200 }).proxy({ path: '/x', kind: 'generate' })
    const t0 = performance.now()
    let text = ''
    let err: unknown
    try {
      for await (const chunk of r.body!) text += new TextDecoder().decode(chunk)
    } catch (e) {
      err = e
    }
    expect(text).toBe('data: 0\n\ndata: 1\n\n')
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(504)
    expect(performance.now() - t0).toBeLessThan(1500)
  })

  test('withIdleTimeout passes a lively stream through whole', async () => {
    const src = new ReadableStream<Uint8Array>({
      async start(ctl) {
        for (const p of ['a', 'b', 'c']) {
          ctl.enqueue(enc.encode(p))
          await Bun.sleep(30)
        }
        ctl.close()
      },
    })
    expect(await new Response(withIdleTimeout(src, 200)).text()).toBe('abc')
  })

  test('withIdleTimeout: cancelling the output cancels the source', async () => {
    let cancelled: unknown = null
    const src = new ReadableStream<Uint8Array>({ pull: () => Bun.sleep(10_000), cancel: (r) => void (cancelled = r ?? 'cancelled') })
    await withIdleTimeout(src, 5000).cancel('client left')
    expect(cancelled).toBe('client left')
  })

  test('a proxied SSE stream survives a reader that pauses', async () => {
    let upstreamCancelled = false
    const s = sseServer(() => (upstreamCancelled = true))
    const r = await client(`http://127.0.0.1:${s.port}`, { idleTimeoutMs: 5000 }).proxy({ path: '/x', kind: 'generate' })
    const reader = r.body!.getReader()
    await reader.read()
    for (let i = 0; i < 3; i++) {
      await Bun.sleep(100)
      Bun.gc(true)
    }
    let text = ''
    for (let i = 0; i < 3; i++) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('data: ')
    expect(upstreamCancelled).toBe(false)
    await reader.cancel()
  })

  test('a client abort before headers cancels the upstream request', async () => {
    let upstreamAborted = false
    const s = serve(async (req) => {
      req.signal.addEventListener('abort', () => (upstreamAborted = true))
      await Bun.sleep(2000)
      return new Response('late')
    })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 100)
    const e = await apiError(client(`http://127.0.0.1:${s.port}`).call({ path: '/x', signal: ac.signal, kind: 'generate' }))
    expect(e.status).toBe(499)
    for (let i = 0; i < 50 && !upstreamAborted; i++) await Bun.sleep(20)
    expect(upstreamAborted).toBe(true)
  })

  test('a client abort mid-stream cancels the upstream stream', async () => {
    let upstreamCancelled = false
    const s = sseServer(() => (upstreamCancelled = true))
    const ac = new AbortController()
    const r = await client(`http://127.0.0.1:${s.port}`).proxy({ path: '/x', signal: ac.signal, kind: 'generate' })
    const reader = r.body!.getReader()
    await reader.read()
    ac.abort()
    for (let i = 0; i < 25 && !upstreamCancelled; i++) await Bun.sleep(20)
    expect(upstreamCancelled).toBe(true)
    // the reader sees the end too, rather than hanging
    const rest = await Promise.race([
      reader.read().then(
        () => 'ended',
        () => 'errored',
      ),
      Bun.sleep(1000).then(() => 'stuck'),
    ])
    expect(rest).not.toBe('stuck')
  })

  test('cancelling the proxied body cancels the upstream stream', async () => {
    let upstreamCancelled = false
    const s = sseServer(() => (upstreamCancelled = true))
    const r = await client(`http://127.0.0.1:${s.port}`).proxy({ path: '/x', kind: 'generate' })
    const reader = r.body!.getReader()
    await reader.read()
    await reader.cancel()
    for (let i = 0; i < 100 && !upstreamCancelled; i++) await Bun.sleep(20)
    expect(upstreamCancelled).toBe(true)
  })
})

describe('what proxy hands back', () => {
  const answering = (res: Response) => (async () => res) as unknown as typeof fetch

  test("a plain answer is the upstream's own Response (piped natively), its headers filtered in place", async () => {
    const upstream = new Response('{"a":1}', {
      status: 201,
      statusText: 'Made',
      headers: { 'content-type': 'application/json', connection: 'close', server: 'uvicorn', date: 'x', 'x-up': '1' },
    })
    const r = await client('http://127.0.0.1:9/v1', { fetch: answering(upstream) }).proxy({ path: '/x' })
    expect(r).toBe(upstream)
    expect([...r.headers.keys()].sort()).toEqual(['content-type', 'x-up'])
    expect([r.status, r.statusText, await r.text()]).toEqual([201, 'Made', '{"a":1}'])
  })

  test('an event stream is a new Response around the idle watchdog, with the same status and filtered headers', async () => {
    const upstream = new Response('data: 1\n\n', {
      status: 200,
      headers: { 'content-type': 'text/event-stream', 'keep-alive': 'timeout=5' },
    })
    const r = await client('http://127.0.0.1:9/v1', { fetch: answering(upstream) }).proxy({ path: '/x' })
    expect(r).not.toBe(upstream)
    expect([...r.headers.keys()]).toEqual(['content-type'])
    expect(await r.text()).toBe('data: 1\n\n')
  })
})

describe('open event streams (the pass-through gauge)', () => {
  /** A gauge that remembers every step, so a count that goes twice or never is seen. */
  function gauge() {
    const steps: number[] = []
    let open = 0
    return { steps, inc: () => steps.push(++open), dec: () => steps.push(--open) }
  }
  const source = (parts: string[], end: 'close' | 'error' | 'stall') =>
    new ReadableStream<Uint8Array>({
      async start(ctl) {
        for (const p of parts) ctl.enqueue(enc.encode(p))
        if (end === 'close') ctl.close()
        if (end === 'error') ctl.error(new Error('connection reset'))
      },
    })

  test('counted from the headers until it ends, once', async () => {
    const g = gauge()
    const out = withIdleTimeout(source(['a', 'b'], 'close'), 1000, null, g)
    expect(g.steps).toEqual([1])
    expect(await new Response(out).text()).toBe('ab')
    expect(g.steps).toEqual([1, 0])
  })

  test('a stream that fails, goes silent or is cancelled by its reader stops counting, once', async () => {
    for (const [end, ms] of [
      ['error', 1000],
      ['stall', 50],
    ] as const) {
      const g = gauge()
      const failed = await new Response(withIdleTimeout(source(['a'], end), ms, null, g)).text().then(
        () => false,
        () => true,
      )
      expect({ end, failed, steps: g.steps }).toEqual({ end, failed: true, steps: [1, 0] })
    }
    const g = gauge()
    const reader = withIdleTimeout(source(['a', 'b'], 'stall'), 1000, null, g).getReader()
    await reader.read()
    await reader.cancel('client left')
    expect(g.steps).toEqual([1, 0])
  })

  test('proxy counts an event-stream answer only, through the one idle-watchdog stream', async () => {
    const sse = new Response('data: 1\n\n', { headers: { 'content-type': 'text/event-stream' } })
    const g = gauge()
    const r = await client('http://127.0.0.1:9/v1', { fetch: (async () => sse) as unknown as typeof fetch }).proxy({
      path: '/x',
      openStreams: g,
    })
    expect(g.steps).toEqual([1])
    expect(await r.text()).toBe('data: 1\n\n')
    expect(g.steps).toEqual([1, 0])
    const json = Response.json({ a: 1 })
    const plain = gauge()
    await (
      await client('http://127.0.0.1:9/v1', { fetch: (async () => json) as unknown as typeof fetch }).proxy({
        path: '/x',
        openStreams: plain,
      })
    ).text()
    expect(plain.steps).toEqual([])
  })
})

describe('compression', () => {
  const json = JSON.stringify({ hello: 'world', pad: 'x'.repeat(500) })
  const gz = gzipSync(json)
  function gzipServer(seen: { acceptEncoding?: string | null }) {
    return serve((req) => {
      seen.acceptEncoding = req.headers.get('accept-encoding')
      if (!req.headers.get('accept-encoding')?.includes('gzip'))
        return new Response(json, { headers: { 'content-type': 'application/json' } })
      return new Response(gz, { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } })
    })
  }

  test('proxy passes gzip bytes and content-encoding through untouched', async () => {
    const seen: { acceptEncoding?: string | null } = {}
    const s = gzipServer(seen)
    const r = await client(`http://127.0.0.1:${s.port}`).proxy({ path: '/x', headers: { 'accept-encoding': 'gzip' } })
    expect(seen.acceptEncoding).toBe('gzip')
    expect(r.headers.get('content-encoding')).toBe('gzip')
    expect(Buffer.from(await r.arrayBuffer()).equals(gz)).toBe(true)
  })

  test('proxy asks for no compression when the client did not', async () => {
    const seen: { acceptEncoding?: string | null } = {}
    const s = gzipServer(seen)
    const r = await client(`http://127.0.0.1:${s.port}`).proxy({ path: '/x' })
    expect(seen.acceptEncoding ?? null).toBeNull()
    expect(r.headers.get('content-encoding')).toBeNull()
    expect(await r.text()).toBe(json)
  })

  test('call (decompress default) hands the gateway decoded JSON', async () => {
    const seen: { acceptEncoding?: string | null } = {}
    const s = gzipServer(seen)
    const r = await client(`http://127.0.0.1:${s.port}`).call({ path: '/x', headers: { 'accept-encoding': 'br' } })
    expect(await r.json()).toEqual(JSON.parse(json))
  })

  test('call with decompress:false keeps the encoded bytes', async () => {
    const seen: { acceptEncoding?: string | null } = {}
    const s = gzipServer(seen)
    const r = await client(`http://127.0.0.1:${s.port}`).call({ path: '/x', headers: { 'accept-encoding': 'gzip' }, decompress: false })
    expect(r.headers.get('content-encoding')).toBe('gzip')
    expect(Buffer.from(await r.arrayBuffer()).equals(gz)).toBe(true)
  })
})

describe('request bodies', () => {
  test('a body of bytes is copied when the call is made: its buffer may be written over as soon as call() returns', async () => {
    // upstream/request-body.ts lends a chain's body in a buffer it lends again once the call has been made; the bytes
    // sent must be the ones the buffer held at the call, even when the request waits for a connection or a slow server.
    const s = serve(async (req) => new Response(await req.text()))
    const c = client(`http://127.0.0.1:${s.port}`)
    const calls = Array.from({ length: 20 }, (_, i) => {
      const buf = new Uint8Array(300_000).fill(0x61 + i) // large enough to be sent in several writes
      const pending = c.call({ method: 'POST', path: '/echo', body: buf.subarray(0, 200_000), kind: 'generate' })
      buf.fill(0x30)
      return pending.then((r) => r.text()).then((text) => expect(text).toBe(String.fromCharCode(0x61 + i).repeat(200_000)))
    })
    await Promise.all(calls)
  })

  test('a lent body is given back when its call is made, and refused if it is sent again', async () => {
    const s = serve(async (req) => new Response(await req.text()))
    const c = client(`http://127.0.0.1:${s.port}`)
    const body = requestBody({ model: 'm', input: settle([{ type: 'message', role: 'user', content: 'hi' }]) })
    const res = await c.call({ method: 'POST', path: '/echo', body, kind: 'generate' })
    expect(JSON.parse(await res.text()).input[0].content).toBe('hi')
    expect(wasSent(body)).toBe(true)
    await expect(c.call({ method: 'POST', path: '/echo', body, kind: 'generate' })).rejects.toThrow('sent twice')
  })
})
