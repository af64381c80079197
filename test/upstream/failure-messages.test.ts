// Every way a call to the upstream can break, against small real servers on loopback, ends in an ApiError
// whose message says what happened in our words and names the call (credentials redacted), keeping the
// runtime's error code and never its text (Bun's say "pass `verbose: true` … to fetch()").
import { afterEach, describe, expect, test } from 'bun:test'
import net from 'node:net'
import { ApiError } from '../../src/errors'
import { createUpstreamClient, withIdleTimeout } from '../../src/upstream/client'
import { describeCall, errorCode, reasonOf } from '../../src/upstream/failure'

const RUNTIME_TEXT = /verbose|fetch\(\)|For more information|Is the computer able|socket connection was closed|getaddrinfo/

const servers: net.Server[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/** A raw TCP server that does `onRequest(socket)` once it has the request head; resolves with its port. */
async function rawServer(onRequest: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer((s) => {
    s.on('error', () => {})
    s.once('data', () => onRequest(s))
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return (server.address() as net.AddressInfo).port
}

async function closedPort(): Promise<number> {
  const port = await rawServer(() => {})
  servers.pop()!.close()
  return port
}

const client = (baseUrl: string) =>
  createUpstreamClient({ baseUrl, apiKey: null, connectTimeoutMs: 2000, firstByteTimeoutMs: 2000, idleTimeoutMs: 2000 })

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).message).not.toMatch(RUNTIME_TEXT)
    return e as ApiError
  }
  throw new Error('expected the call to fail')
}

/** Reads a response body the way the adapters do (through withIdleTimeout) and returns what it failed with. */
async function bodyFailure(baseUrl: string): Promise<ApiError> {
  const c = client(baseUrl)
  const res = await c.call({ method: 'POST', path: '/responses', kind: 'generate' })
  const body = withIdleTimeout(res.body!, 2000, describeCall('POST', `${baseUrl}/responses`))
  return failure(new Response(body).text())
}

const SSE_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n'
const FIRST_EVENT = 'data: {"type":"response.created"}\n\n'
const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`

describe('before the upstream answers: 502 upstream_unreachable naming the call', () => {
  test('nothing listens on the port', async () => {
    const port = await closedPort()
    const e = await failure(client(`http://127.0.0.1:${port}/v1`).call({ path: '/models' }))
    expect(e.status).toBe(502)
    expect(e.errorCode).toBe('upstream_unreachable')
    expect(e.message).toBe(
      `upstream unreachable (GET http://127.0.0.1:${port}/v1/models): the upstream refused the connection (ECONNREFUSED)`,
    )
  })

  test('the host name does not resolve', async () => {
    const e = await failure(client('http://agentgate-no-such-host.invalid/v1').call({ path: '/models' }))
    expect(e.message).toMatch(
      /^upstream unreachable \(GET http:\/\/agentgate-no-such-host\.invalid\/v1\/models\): the upstream host name (does not resolve|could not be looked up) \((ENOTFOUND|EAI_AGAIN|DNSException)\)$/,
    )
  })

  test('the connection is closed before any answer', async () => {
    const port = await rawServer((s) => s.destroy())
    const e = await failure(client(`http://127.0.0.1:${port}/v1`).call({ method: 'POST', path: '/responses' }))
    expect(e.message).toBe(
      `upstream unreachable (POST http://127.0.0.1:${port}/v1/responses): the upstream closed the connection before answering (ECONNRESET)`,
    )
  })

  test('https to a port that speaks plain HTTP: the TLS handshake fails', async () => {
    const port = await rawServer((s) => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n'))
    const e = await failure(client(`https://127.0.0.1:${port}/v1`).call({ path: '/models' }))
    expect(e.message).toStartWith(`upstream unreachable (GET https://127.0.0.1:${port}/v1/models): `)
    expect(e.message).toMatch(/TLS|closed the connection/)
  })

  test('credentials in the upstream URL are not repeated in the message', async () => {
    const port = await closedPort()
    const e = await failure(client(`http://agent:s3cret-pw@127.0.0.1:${port}/v1`).call({ path: '/models' }))
    expect(e.message).toContain(`GET http://***@127.0.0.1:${port}/v1/models`)
    expect(e.message).not.toContain('s3cret')
    expect(e.message).not.toContain('agent:')
  })

  test('no headers within the time allowed: 504 naming the call', async () => {
    const port = await rawServer(() => {})
    const c = createUpstreamClient({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: null,
      connectTimeoutMs: 100,
      firstByteTimeoutMs: 100,
      idleTimeoutMs: 100,
    })
    const e = await failure(c.call({ path: '/models' }))
    expect(e.status).toBe(504)
    expect(e.message).toBe(`upstream did not answer within 100 ms (GET http://127.0.0.1:${port}/v1/models)`)
  })
})

describe('while the body streams: 502 upstream_error naming the call', () => {
  test('the connection is reset mid-stream', async () => {
    const port = await rawServer((s) => {
      s.write(SSE_HEAD + chunk(FIRST_EVENT))
      setTimeout(() => s.resetAndDestroy(), 30)
    })
    const e = await bodyFailure(`http://127.0.0.1:${port}/v1`)
    expect(e.status).toBe(502)
    expect(e.errorCode).toBe('upstream_error')
    expect(e.message).toBe(
      `upstream stream failed (POST http://127.0.0.1:${port}/v1/responses): the upstream closed the connection mid-stream (ECONNRESET)`,
    )
  })

  test('the connection is closed mid-stream (FIN, no last chunk)', async () => {
    const port = await rawServer((s) => {
      s.write(SSE_HEAD + chunk(FIRST_EVENT))
      setTimeout(() => s.end(), 30)
    })
    const e = await bodyFailure(`http://127.0.0.1:${port}/v1`)
    expect(e.message).toBe(
      `upstream stream failed (POST http://127.0.0.1:${port}/v1/responses): the upstream closed the connection mid-stream (ECONNRESET)`,
    )
  })

  test('a malformed chunk', async () => {
    const port = await rawServer((s) => {
      s.write(SSE_HEAD + chunk(FIRST_EVENT) + 'zz\r\nnot a chunk\r\n')
      setTimeout(() => s.end(), 30)
    })
    const e = await bodyFailure(`http://127.0.0.1:${port}/v1`)
    expect(e.message).toStartWith(`upstream stream failed (POST http://127.0.0.1:${port}/v1/responses): `)
    expect(e.message).toMatch(/malformed HTTP body \(InvalidHTTPResponse\)|closed the connection mid-stream/)
  })

  test('a stream that goes silent: 504', async () => {
    const port = await rawServer((s) => s.write(SSE_HEAD + chunk(FIRST_EVENT)))
    const c = createUpstreamClient({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: null,
      connectTimeoutMs: 2000,
      firstByteTimeoutMs: 2000,
      idleTimeoutMs: 100,
    })
    const res = await c.call({ method: 'POST', path: '/responses' })
    const e = await failure(
      new Response(withIdleTimeout(res.body!, 100, describeCall('POST', `http://127.0.0.1:${port}/v1/responses`))).text(),
    )
    expect(e.status).toBe(504)
    expect(e.message).toBe(`upstream stream idle for 100 ms (POST http://127.0.0.1:${port}/v1/responses)`)
  })
})

describe('the mapping itself', () => {
  test('an error without a known code still gets our words, and odd codes are not echoed', () => {
    expect(reasonOf(null, 'connect')).toBe('the connection to the upstream failed')
    expect(reasonOf(null, 'stream')).toBe('the upstream stream broke off')
    expect(errorCode({ code: 'ECONNRESET' })).toBe('ECONNRESET')
    expect(errorCode({ cause: { code: 'CERT_HAS_EXPIRED' } })).toBe('CERT_HAS_EXPIRED')
    expect(errorCode({ code: 'not a code: pass verbose' })).toBeNull()
    expect(reasonOf('CERT_HAS_EXPIRED', 'connect')).toBe("the upstream's TLS certificate was not accepted")
    expect(reasonOf('DEPTH_ZERO_SELF_SIGNED_CERT', 'connect')).toBe("the upstream's TLS certificate was not accepted")
  })
})
