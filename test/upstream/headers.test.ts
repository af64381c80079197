// Which headers cross the gateway in each direction (SPEC.md "Header handling", STACK.md §6).
import { describe, expect, test } from 'bun:test'
import { stripForClient, toUpstreamHeaders } from '../../src/upstream/headers'

const names = (h: Headers) => [...h.keys()].sort()

describe('toUpstreamHeaders', () => {
  // [header, value, forwarded?]
  const rows: [string, string, boolean][] = [
    // hop-by-hop (RFC 9110 §7.6.1) and proxy headers
    ['connection', 'keep-alive', false],
    ['keep-alive', 'timeout=5', false],
    ['proxy-authenticate', 'Basic', false],
    ['proxy-authorization', 'Basic eA==', false],
    ['proxy-connection', 'keep-alive', false],
    ['te', 'trailers', false],
    ['trailer', 'x-checksum', false],
    ['transfer-encoding', 'chunked', false],
    ['upgrade', 'websocket', false],
    // the upstream gets its own host, length and credentials
    ['host', 'gateway.example:9000', false],
    ['content-length', '42', false],
    ['authorization', 'Bearer client-key', false],
    ['cookie', 'session=1', false],
    // curl's 100-continue was answered by the gateway, which already has the body
    ['expect', '100-continue', false],
    // WebSocket handshake headers never go upstream
    ['sec-websocket-key', 'dGhlIHNhbXBsZSBub25jZQ==', false],
    ['sec-websocket-version', '13', false],
    // everything else passes
    ['content-type', 'application/json', true],
    ['accept', 'text/event-stream', true],
    ['accept-encoding', 'gzip', true],
    ['x-request-id', 'req-123', true],
    ['openai-beta', 'responses=experimental', true],
    ['openai-organization', 'org-1', true],
    ['x-codex-turn-metadata', '{"turn":1}', true],
    ['x-codex-beta-features', 'a,b', true],
    ['session_id', 'sess-1', true],
    ['user-agent', 'codex_cli_rs/0.169.0', true],
    ['x-stainless-lang', 'js', true],
  ]
  for (const [name, value, forwarded] of rows) {
    test(`${name} is ${forwarded ? 'forwarded' : 'dropped'}`, () => {
      const out = toUpstreamHeaders(new Headers({ [name]: value }), null)
      expect(out.get(name)).toBe(forwarded ? value : null)
    })
  }

  test('headers named in Connection are dropped too', () => {
    const out = toUpstreamHeaders(
      new Headers({ connection: 'close, X-Hop-One ,x-hop-two', 'x-hop-one': '1', 'x-hop-two': '2', 'x-kept': '3' }),
      null,
    )
    expect(names(out)).toEqual(['x-kept'])
  })

  test('the configured upstream key replaces the client authorization', () => {
    const out = toUpstreamHeaders(new Headers({ authorization: 'Bearer client-key', accept: 'application/json' }), 'sk-upstream')
    expect(out.get('authorization')).toBe('Bearer sk-upstream')
    expect(out.get('accept')).toBe('application/json')
  })

  test('without an upstream key no authorization is sent at all', () => {
    expect(toUpstreamHeaders(new Headers({ authorization: 'Bearer client-key' }), null).has('authorization')).toBe(false)
  })

  test('a plain record works too; undefined values are skipped; names are case-insensitive', () => {
    const out = toUpstreamHeaders(
      { 'Content-Type': 'application/json', Authorization: 'Bearer x', 'X-Missing': undefined, 'X-Request-Id': 'r1' },
      'k',
    )
    expect(Object.fromEntries(out)).toEqual({ 'content-type': 'application/json', 'x-request-id': 'r1', authorization: 'Bearer k' })
  })

  test("our request id replaces the client's", () => {
    const out = toUpstreamHeaders(new Headers({ 'x-request-id': 'client-1', accept: 'application/json' }), null, 'req_ours')
    expect(out.get('x-request-id')).toBe('req_ours')
    expect(out.get('accept')).toBe('application/json')
  })

  test('does not modify its input', () => {
    const incoming = new Headers({ authorization: 'Bearer client', connection: 'x-a', 'x-a': '1' })
    toUpstreamHeaders(incoming, 'k')
    expect(names(incoming)).toEqual(['authorization', 'connection', 'x-a'])
  })
})

describe('stripForClient', () => {
  const rows: [string, string, boolean][] = [
    ['connection', 'keep-alive', false],
    ['keep-alive', 'timeout=5', false],
    ['transfer-encoding', 'chunked', false],
    ['upgrade', 'h2c', false],
    ['proxy-authenticate', 'Basic', false],
    ['trailer', 'x-checksum', false],
    // recomputed by Bun for the body it actually sends
    ['content-length', '123', false],
    ['date', 'Mon, 01 Jan 2024 00:00:00 GMT', false],
    ['server', 'uvicorn', false],
    // kept
    ['content-type', 'text/event-stream', true],
    ['content-encoding', 'gzip', true],
    ['cache-control', 'no-cache', true],
    ['retry-after', '7', true],
    ['x-ratelimit-remaining-requests', '0', true],
    ['x-request-id', 'up-1', true],
    ['openai-processing-ms', '12', true],
    ['set-cookie', 'a=b', true],
  ]
  for (const [name, value, kept] of rows) {
    test(`${name} is ${kept ? 'kept' : 'dropped'}`, () => {
      expect(stripForClient(new Headers({ [name]: value })).get(name)).toBe(kept ? value : null)
    })
  }

  test('several headers named in Connection, next to other hop-by-hop ones, are all dropped', () => {
    const out = stripForClient(
      new Headers({
        connection: 'x-upstream-hop, x-other-hop',
        'x-upstream-hop': '1',
        'x-other-hop': '2',
        'keep-alive': 'timeout=5',
        date: 'Mon, 01 Jan 2024 00:00:00 GMT',
        'content-type': 'application/json',
      }),
    )
    expect(names(out)).toEqual(['content-type'])
  })

  test('it edits the headers it is given (the upstream Response goes back to the client as it is)', () => {
    const upstream = new Headers({ connection: 'close', server: 'uvicorn', 'content-type': 'application/json' })
    expect(stripForClient(upstream)).toBe(upstream)
    expect(names(upstream)).toEqual(['content-type'])
  })

  test('one header named in Connection is dropped', () => {
    const out = stripForClient(new Headers({ connection: 'x-upstream-hop', 'x-upstream-hop': '1', 'content-type': 'application/json' }))
    expect(names(out)).toEqual(['content-type'])
  })
})

test('several set-cookie headers all reach the client', () => {
  const h = new Headers()
  h.append('set-cookie', 'a=1')
  h.append('set-cookie', 'b=2')
  h.append('x-multi', '1')
  h.append('x-multi', '2')
  const out = stripForClient(h)
  expect(out.getSetCookie()).toEqual(['a=1', 'b=2'])
  expect(out.get('x-multi')).toBe('1, 2')
})
