// API key specs, the key table, the constant-time compare, the open routes and where keys come from (flags, env,
// config.toml, --api-keys-file with sha256 forms) — and that a bad key is reported without the key in the message.
import { describe, expect, test } from 'bun:test'
import {
  constantTimeEqual,
  createAuth,
  digestsEqual,
  derivedTenant,
  isLoopbackHost,
  keyTable,
  parseApiKeySpec,
  sha256,
} from '../../src/auth'
import { METRICS_ROUTE, OPEN_ROUTES, routeTable } from '../../src/http/routes'
import { useGateway } from '../support/suite'
import type { TestGateway } from '../support/gateway'
import { CONFIG_FLAGS, ConfigError, loadConfig, parseArgs } from '../../src/config'
import { DEFAULT_TENANT } from '../../src/store/types'

const HOME = '/tmp/agentgate-auth-test-home'
const hex = (key: string) => sha256(key).toString('hex')

function resolve(argv: string[] = [], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const { flags } = parseArgs(argv, CONFIG_FLAGS)
  return loadConfig({ flags, env: { AGENTGATE_HOME: HOME, ...env }, readFile: (p) => files[p] ?? null })
}

function configError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    expect((e as Error).message).not.toContain('\n')
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

const bearer = (key: string) => new Headers({ authorization: `Bearer ${key}` })

describe('key specs', () => {
  test('KEY gets a tenant derived from its sha256, stable and without the key in it', () => {
    const e = parseApiKeySpec('sk-alpha-0001')
    expect(e.tenant).toBe(`key-${hex('sk-alpha-0001').slice(0, 8)}`)
    expect(e.tenant).toBe(derivedTenant(sha256('sk-alpha-0001')))
    expect(e.tenant).not.toContain('alpha')
    expect(e.key).toBe('sk-alpha-0001')
    expect(e.digest.equals(sha256('sk-alpha-0001'))).toBe(true)
  })

  test('TENANT:KEY names the tenant; the key may contain further colons', () => {
    expect(parseApiKeySpec('team-a:sk:with:colons')).toMatchObject({ tenant: 'team-a', key: 'sk:with:colons' })
  })

  test('sha256:HEX and TENANT:sha256:HEX hold only the digest; the derived tenant matches the plain form', () => {
    const h = hex('sk-hashed')
    expect(parseApiKeySpec(`sha256:${h}`)).toMatchObject({ tenant: parseApiKeySpec('sk-hashed').tenant, key: null })
    expect(parseApiKeySpec(`sha256:${h.toUpperCase()}`).digest.equals(sha256('sk-hashed'))).toBe(true)
    expect(parseApiKeySpec(`ops:sha256:${h}`)).toMatchObject({ tenant: 'ops', key: null })
  })

  test.each([
    ['empty', ''],
    ['only a tenant', 'team:'],
    ['a bad tenant name', 'bad tenant:secret-1'],
    ['an empty tenant', ':secret-1'],
    ['a short hash', 'sha256:abcd'],
    ['a non-hex hash', `t:sha256:${'z'.repeat(64)}`],
    ['whitespace inside', 'team:sec ret'],
  ])('%s is rejected', (_, spec) => {
    expect(() => parseApiKeySpec(spec)).toThrow()
  })

  test('the same key for two tenants is an error; the same key twice for one tenant counts once', () => {
    expect(() => keyTable(['a:same-key', 'b:same-key'])).toThrow(/tenants a and b/)
    expect(() => keyTable(['a:same-key', `b:sha256:${hex('same-key')}`])).toThrow(/tenants a and b/)
    expect(keyTable(['a:same-key', 'a:same-key', `a:sha256:${hex('same-key')}`])).toHaveLength(1)
    expect(keyTable(['a:k1', 'a:k2']).map((e) => e.tenant)).toEqual(['a', 'a'])
  })
})

describe('constant-time compare', () => {
  test('equal secrets are equal', () => {
    expect(constantTimeEqual('sk-one', 'sk-one')).toBe(true)
    expect(constantTimeEqual(new TextEncoder().encode('sk-one'), 'sk-one')).toBe(true)
  })
  test('unequal secrets of the same length are not', () => {
    expect(constantTimeEqual('sk-one', 'sk-two')).toBe(false)
    // differing only in the last byte: no early exit on a common prefix to rely on
    expect(constantTimeEqual('a'.repeat(64) + 'b', 'a'.repeat(64) + 'c')).toBe(false)
  })
  test('secrets of different lengths are compared (not thrown on) and are not equal', () => {
    expect(constantTimeEqual('sk-one', 'sk-one-longer')).toBe(false)
    expect(constantTimeEqual('', 'x')).toBe(false)
    expect(constantTimeEqual('sk-one', 'sk-on')).toBe(false)
  })
  test('the digest compare the key lookup uses: equal, unequal, different lengths', () => {
    expect(digestsEqual(sha256('k'), sha256('k'))).toBe(true)
    expect(digestsEqual(sha256('k'), sha256('j'))).toBe(false)
    expect(digestsEqual(sha256('k'), sha256('k').subarray(0, 16))).toBe(false)
    expect(digestsEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })
})

describe('createAuth', () => {
  const auth = createAuth(['team-a:key-aaaa-1111', `team-b:sha256:${hex('key-bbbb-2222')}`, 'key-plain-3333'])

  test('each key is its tenant, also from a hashed spec', () => {
    expect(auth.enabled).toBe(true)
    expect(auth.tenantOf(bearer('key-aaaa-1111'))).toBe('team-a')
    expect(auth.tenantOf(bearer('key-bbbb-2222'))).toBe('team-b')
    expect(auth.tenantOf(bearer('key-plain-3333'))).toBe(parseApiKeySpec('key-plain-3333').tenant)
    expect(auth.tenantOf(new Headers({ authorization: 'bearer   key-aaaa-1111  ' }))).toBe('team-a')
    expect(auth.tenants.sort()).toEqual(['team-a', 'team-b', parseApiKeySpec('key-plain-3333').tenant].sort())
  })

  test.each([
    ['no header', new Headers(), 'Missing API key'],
    ['an empty header', new Headers({ authorization: '' }), 'Missing API key'],
    ['another scheme', new Headers({ authorization: 'Basic a2V5LWFhYWEtMTExMQ==' }), 'Malformed'],
    ['Bearer without a key', new Headers({ authorization: 'Bearer' }), 'Malformed'],
    ['two tokens', new Headers({ authorization: 'Bearer key-aaaa-1111 extra' }), 'Malformed'],
    ['a wrong key', bearer('key-aaaa-1112'), 'Incorrect API key'],
    ['a prefix of a key', bearer('key-aaaa'), 'Incorrect API key'],
    ['the hash instead of the key', bearer(hex('key-bbbb-2222')), 'Incorrect API key'],
    ['the key in x-api-key only (not accepted)', new Headers({ 'x-api-key': 'key-aaaa-1111' }), 'Missing API key'],
    ['the key in api-key only (not accepted)', new Headers({ 'api-key': 'key-aaaa-1111' }), 'Missing API key'],
  ])('%s → 401 invalid_api_key', (_, headers, message) => {
    let err: any
    try {
      auth.tenantOf(headers)
    } catch (e) {
      err = e
    }
    expect(err?.status).toBe(401)
    expect(err.toJSON()).toEqual({
      error: { message: expect.stringContaining(message), type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
    })
    expect(err.message).not.toContain('key-aaaa')
    expect(err.headers['www-authenticate']).toStartWith('Bearer')
  })

  test('with no keys every request is the default tenant, whatever it sends', () => {
    const off = createAuth([])
    expect(off.enabled).toBe(false)
    expect(off.tenantOf(new Headers())).toBe(DEFAULT_TENANT)
    expect(off.tenantOf(bearer('anything'))).toBe(DEFAULT_TENANT)
  })
})

describe('open routes (found in the route table of the real app)', () => {
  let gw: TestGateway
  useGateway({}, (s) => ({ gw } = s))
  const isOpen = (p: string, open = OPEN_ROUTES) => routeTable(() => gw.app.routes, open).isOpen(p)
  test.each(['/health', '/health/', '/ready', '/docs', '/docs/', '/docs/json', '/docs/assets/swagger-ui.css'])('%s stays open', (p) =>
    expect(isOpen(p)).toBe(true),
  )
  test.each([
    '/v1/responses',
    '/v1/models',
    '/',
    '/metrics',
    '/healthz',
    '/docs/assets/a/b',
    '/docs/json/x',
    '//v1/responses',
    '/health/../v1/responses',
    '/v1',
  ])('%s needs a key', (p) => expect(isOpen(p)).toBe(false))
  test('/metrics is open when --metrics-public adds it', () => expect(isOpen('/metrics', [...OPEN_ROUTES, METRICS_ROUTE])).toBe(true))
  test('a route is labelled by its pattern; a WebSocket upgrade by the WS route', () => {
    const routes = routeTable(() => gw.app.routes, OPEN_ROUTES)
    expect(routes.routeOf('GET', '/v1/responses/resp_1/input_items')).toBe('/v1/responses/:id/input_items')
    expect(routes.routeOf('GET', '/v1/responses', true)).toBe('/v1/responses')
    expect(routes.routeOf('GET', '/nope')).toBeUndefined()
    expect(routes.methodsFor('/v1/responses/resp_1').sort()).toEqual(['DELETE', 'GET'])
  })
})

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) expect(isLoopbackHost(h)).toBe(true)
  for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com', '10.0.0.1']) expect(isLoopbackHost(h)).toBe(false)
})

describe('where keys come from', () => {
  test('--api-key (repeatable), AGENTGATE_API_KEYS and api_keys in config.toml, flags first', () => {
    expect(resolve(['--api-key', 'a:k-1', '--api-key', 'k-2']).apiKeys).toEqual(['a:k-1', 'k-2'])
    expect(resolve([], { AGENTGATE_API_KEYS: 'a:k-1, b:k-2' }).apiKeys).toEqual(['a:k-1', 'b:k-2'])
    expect(resolve([], {}, { [`${HOME}/config.toml`]: `api_keys = ["a:k-1", "b:sha256:${hex('k-2')}"]` }).apiKeys).toEqual([
      'a:k-1',
      `b:sha256:${hex('k-2')}`,
    ])
  })

  test('--api-keys-file: one spec per line, # comments and blank lines skipped, added to the other keys', () => {
    const file = [
      '# agentgate keys',
      '',
      `team-a:sha256:${hex('key-a')}`,
      '   team-b:key-b   ',
      `sha256:${hex('key-c')}`,
      '  # indented comment',
    ].join('\n')
    const c = resolve(['--api-key', 'team-z:key-z', '--api-keys-file', '/etc/keys'], {}, { '/etc/keys': file })
    expect(c.apiKeysFile).toBe('/etc/keys')
    expect(c.apiKeys).toEqual(['team-z:key-z', `team-a:sha256:${hex('key-a')}`, 'team-b:key-b', `sha256:${hex('key-c')}`])
    const auth = createAuth(c.apiKeys)
    expect(['key-a', 'key-b', 'key-c', 'key-z'].map((k) => auth.tenantOf(bearer(k)))).toEqual([
      'team-a',
      'team-b',
      parseApiKeySpec('key-c').tenant,
      'team-z',
    ])
  })

  test('the file also comes from AGENTGATE_API_KEYS_FILE, and from api_keys_file relative to config.toml', () => {
    expect(resolve([], { AGENTGATE_API_KEYS_FILE: '/k' }, { '/k': 'a:k-1\n' }).apiKeys).toEqual(['a:k-1'])
    expect(resolve([], {}, { [`${HOME}/config.toml`]: 'api_keys_file = "keys.txt"', [`${HOME}/keys.txt`]: 'a:k-1\n' }).apiKeys).toEqual([
      'a:k-1',
    ])
  })

  test('a missing or empty keys file stops start-up (an empty one must not leave the gateway open)', () => {
    expect(configError(() => resolve(['--api-keys-file', '/nope']))).toContain('/nope')
    expect(configError(() => resolve(['--api-keys-file', '/empty'], {}, { '/empty': '# nothing yet\n\n' }))).toContain('has no keys')
  })

  test('a bad key names where it is, never what it is', () => {
    const secret = 'sup3r-s3cret-value'
    const msgs = [
      configError(() => resolve(['--api-keys-file', '/k'], {}, { '/k': `ok:key-1\nbad tenant:${secret}\n` })),
      configError(() => resolve(['--api-key', `bad tenant:${secret}`])),
      configError(() => resolve(['--api-key', `x:${secret}`, '--api-key='])),
      configError(() => resolve([], { AGENTGATE_API_KEYS: `a:${secret},b:${secret}` })),
      configError(() => resolve([], {}, { [`${HOME}/config.toml`]: `api_keys = ["${secret}", 3]` })),
    ]
    expect(msgs[0]).toContain('/k line 2')
    expect(msgs[1]).toContain('--api-key')
    expect(msgs[3]).toContain('tenants a and b')
    for (const m of msgs) expect(m).not.toContain(secret)
  })
})
