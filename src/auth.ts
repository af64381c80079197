// API keys and tenants: which keys the gateway accepts, the tenant each one stands for, and the check every request
// (HTTP and the WebSocket upgrade) goes through — beside them, OIDC bearer tokens (src/oidc.ts) when an issuer is
// configured. Keys are held only as sha256 digests and compared in constant time; no key or token, and no part of
// one, ever goes into a log line or an error message.
import { ApiError } from './errors'
import type { Logger } from './log'
import { createOidcVerifier, looksLikeJwt, type OidcVerifier } from './oidc'
import { DEFAULT_TENANT } from './store/types'
// The path by routing's rule (request.url is a bare target without a valid Host; new URL() would throw)
import { pathOf } from './http/request-url'

/** What a tenant may be called (also the part before the first ':' in `TENANT:KEY`). */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const HASHED = /^sha256:([0-9a-fA-F]{64})$/

/** One accepted key: its sha256 digest (32 bytes) and its tenant. */
export interface ApiKeyEntry {
  tenant: string
  digest: Buffer
}

/** A key spec that cannot be used. The message never contains the key. */
export class ApiKeySpecError extends Error {}

// Bun's native hasher and the global crypto.timingSafeEqual, not node:crypto: loading that module costs every start
// about 3 ms, and a gateway without keys never hashes one.
export function sha256(text: string | Uint8Array): Buffer {
  return new Bun.CryptoHasher('sha256').update(text).digest()
}

/** Whether two digests are equal, in time that does not depend on where they differ (crypto.timingSafeEqual). */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  // timingSafeEqual throws on different lengths; sha256 digests never differ in length, but stay constant-time anyway.
  if (a.byteLength !== b.byteLength) return crypto.timingSafeEqual(a, a) && false
  return crypto.timingSafeEqual(a, b)
}

/**
 * Whether two secrets are equal, in time that depends on neither their contents nor where they first differ: both
 * are hashed to 32 bytes and the digests compared in constant time, so secrets of different lengths are compared
 * too, never rejected early.
 */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  return digestsEqual(sha256(a), sha256(b))
}

/** The tenant of a key configured without one: stable, and says nothing useful about the key. */
export function derivedTenant(digest: Buffer): string {
  return `key-${digest.toString('hex').slice(0, 8)}`
}

/**
 * Parses one key spec: `KEY`, `TENANT:KEY`, `sha256:<64 hex>` or `TENANT:sha256:<64 hex>` (the hashed forms keep the
 * key itself out of config files). Without a tenant, the tenant is derived from the key (derivedTenant). A key that
 * contains ':' must be written with its tenant. Returns the plaintext key too when the spec has it (the Codex launcher
 * passes it on), null for the hashed forms.
 */
export function parseApiKeySpec(raw: string): ApiKeyEntry & { key: string | null } {
  const spec = raw.trim()
  if (spec === '') throw new ApiKeySpecError('an API key is empty')
  let tenant: string | null = null
  let rest = spec
  if (!spec.startsWith('sha256:')) {
    const colon = spec.indexOf(':')
    if (colon >= 0) {
      const name = spec.slice(0, colon)
      if (!TENANT_NAME.test(name))
        throw new ApiKeySpecError(
          `the part before the first ':' must be a tenant name (1-64 letters, digits, '.', '_' or '-', starting with a letter or digit); a key that contains ':' needs an explicit TENANT: prefix`,
        )
      tenant = name
      rest = spec.slice(colon + 1)
    }
  }
  let digest: Buffer
  let key: string | null = null
  if (rest.startsWith('sha256:')) {
    const m = HASHED.exec(rest)
    if (!m) throw new ApiKeySpecError(`a hashed key must be written sha256:<64 hex digits>${tenant ? ` (tenant ${tenant})` : ''}`)
    digest = Buffer.from(m[1], 'hex')
  } else {
    if (rest === '') throw new ApiKeySpecError(`the API key of tenant ${tenant} is empty`)
    if (/\s/.test(rest)) throw new ApiKeySpecError(`an API key must not contain whitespace${tenant ? ` (tenant ${tenant})` : ''}`)
    digest = sha256(rest)
    key = rest
  }
  return { tenant: tenant ?? derivedTenant(digest), digest, key }
}

/** Builds the key table: one entry per distinct key. The same key for two tenants, or two keys deriving one name, is an error. */
export function keyTable(specs: readonly string[]): ApiKeyEntry[] {
  const byDigest = new Map<string, ApiKeyEntry>()
  const derivedBy = new Map<string, string>()
  for (const spec of specs) {
    const e = parseApiKeySpec(spec)
    const hex = e.digest.toString('hex')
    const seen = byDigest.get(hex)
    if (seen && seen.tenant !== e.tenant)
      throw new ApiKeySpecError(`the same API key is configured for tenants ${seen.tenant} and ${e.tenant}`)
    if (seen) continue
    if (e.tenant === derivedTenant(e.digest)) {
      const other = derivedBy.get(e.tenant)
      if (other !== undefined && other !== hex)
        throw new ApiKeySpecError(`two API keys derive the same tenant name ${e.tenant}; give one of them an explicit TENANT: prefix`)
      derivedBy.set(e.tenant, hex)
    }
    byDigest.set(hex, { tenant: e.tenant, digest: e.digest })
  }
  return [...byDigest.values()]
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i

/** Who a request stands for: its tenant and, for a token, when the token expires (unix ms; null for API keys). */
export interface Principal {
  tenant: string
  expiresAt: number | null
}

export interface Auth {
  /** whether any key is configured or OIDC is on (otherwise every request is DEFAULT_TENANT) */
  readonly enabled: boolean
  /** the distinct tenants of the configured keys */
  readonly tenants: string[]
  /** number of distinct keys */
  readonly keyCount: number
  /** the OIDC issuer whose tokens are accepted, or null */
  readonly issuer: string | null
  /**
   * Checks `Authorization: Bearer …` — an API key, or with OIDC on a JWT — and remembers the principal for this
   * request. ApiError 401 when auth is on and the credential is missing or bad; 503 when the IdP's keys are unavailable.
   */
  authenticate(request: Request): Promise<Principal>
  /**
   * The request's tenant: the one authenticate() found for it, or (never authenticated) its API key's. Takes the
   * request or its headers (Bun hands out the same Headers object for a request every time).
   */
  tenantOf(request: Request | Headers): string
  /** The request's principal, as tenantOf. */
  principalOf(request: Request | Headers): Principal
  /**
   * The principal authenticate() found for this request — never a second look at its credential (DEFAULT_TENANT's
   * with auth off). A request that was not authenticated is a 401: only open routes are, and they have no caller.
   */
  callerOf(request: Request): Principal
}

export function createAuth(specs: readonly string[], oidc: OidcVerifier | null = null): Auth {
  const entries = keyTable(specs)
  const enabled = entries.length > 0 || oidc !== null
  const principals = new WeakMap<Headers, Principal>()
  const open: Principal = { tenant: DEFAULT_TENANT, expiresAt: null }
  const credential = oidc ? 'an API key or a token' : 'an API key'

  /** The tenant of a presented key, or null. Its digest is compared with every entry, whatever matched first. */
  function lookup(token: string): string | null {
    const d = sha256(token)
    let tenant: string | null = null
    for (const e of entries) if (digestsEqual(d, e.digest)) tenant = e.tenant
    return tenant
  }

  /** The bearer credential of a request; 401 when missing or malformed. */
  function bearer(headers: Headers, xApiKey = false): string {
    const header = headers.get('authorization')
    // Anthropic's clients send the key as x-api-key (Claude Code with ANTHROPIC_API_KEY): taken on their routes only.
    const apiKey = xApiKey ? headers.get('x-api-key')?.trim() : undefined
    if ((header === null || header.trim() === '') && apiKey) return apiKey
    if (header === null || header.trim() === '')
      throw unauthorized(
        oidc
          ? "Missing credentials. Send an API key or an access token as 'Authorization: Bearer …'."
          : "Missing API key. Send it in the Authorization header as 'Authorization: Bearer YOUR_KEY'.",
      )
    const m = BEARER.exec(header)
    if (!m) throw unauthorized(`Malformed Authorization header: expected 'Bearer' and ${credential}.`)
    return m[1]
  }

  /** The principal of an API key; null when the credential is not one. */
  function byKey(token: string): Principal | null {
    if (entries.length === 0) return null
    const tenant = lookup(token)
    return tenant === null ? null : { tenant, expiresAt: null }
  }

  function keyOnly(headers: Headers): Principal {
    if (!enabled) return open
    const token = bearer(headers)
    const p = byKey(token)
    if (p) return p
    throw oidc && looksLikeJwt(token) ? unauthorized('This request was not authenticated.') : unauthorized('Incorrect API key provided.')
  }

  function principalOf(request: Request | Headers): Principal {
    const headers = request instanceof Headers ? request : request.headers
    return principals.get(headers) ?? keyOnly(headers)
  }

  return {
    enabled,
    tenants: [...new Set(entries.map((e) => e.tenant))],
    keyCount: entries.length,
    issuer: oidc?.issuer ?? null,
    async authenticate(request) {
      const seen = principals.get(request.headers)
      if (seen) return seen
      let p: Principal
      if (!enabled) p = open
      else {
        const token = bearer(request.headers, ANTHROPIC_PATH.test(pathOf(request.url)))
        // A bearer that is a known key is a key; anything else shaped like a JWT is a token when OIDC is on.
        const key = byKey(token)
        if (key) p = key
        else if (oidc && looksLikeJwt(token)) p = await oidc.verify(token)
        else throw unauthorized('Incorrect API key provided.')
      }
      principals.set(request.headers, p)
      return p
    },
    principalOf,
    tenantOf: (request) => principalOf(request).tenant,
    callerOf(request) {
      if (!enabled) return open
      const p = principals.get(request.headers)
      if (!p) throw unauthorized('This request was not authenticated.')
      return p
    },
  }
}

/**
 * The Auth a config describes: its API keys and, with --oidc-issuer, a verifier for the issuer's tokens (its keys
 * fetched at once, in the background, so the first token does not wait for discovery).
 */
export function authFromConfig(
  config: { apiKeys: readonly string[]; oidcIssuer: string | null; oidcAudience: readonly string[]; oidcTenantClaim: string },
  logger: Logger,
): Auth {
  const oidc = config.oidcIssuer
    ? createOidcVerifier({ issuer: config.oidcIssuer, audiences: config.oidcAudience, tenantClaim: config.oidcTenantClaim, logger })
    : null
  if (oidc) void oidc.warm()
  return createAuth(config.apiKeys, oidc)
}

/** The Anthropic Messages routes, where `x-api-key` carries the key as Anthropic's clients send it. */
const ANTHROPIC_PATH = /^\/v1\/messages(?:\/|$)/

/** 401 in OpenAI's shape (its type for a bad key is invalid_request_error, code invalid_api_key). */
function unauthorized(message: string): ApiError {
  return new ApiError(401, message, 'invalid_request_error', 'invalid_api_key').withHeaders({
    'www-authenticate': 'Bearer realm="agentgate"',
  })
}

/** Whether `host` (a --host value) only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase()
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1'
}

/**
 * The start-up line about auth: on (how many keys, which tenants — never a key); off on loopback (the default: only
 * this machine can connect); or off on any other address, which is a warning — the gateway still starts, as asked.
 */
export function logAuthMode(
  logger: Logger,
  auth: Pick<Auth, 'enabled' | 'keyCount' | 'tenants'> & { issuer?: string | null },
  host: string,
): void {
  if (auth.enabled && auth.issuer)
    logger.info('auth on: every /v1 route needs an API key or an OIDC token', {
      keys: auth.keyCount,
      tenants: auth.tenants,
      oidc_issuer: auth.issuer,
    })
  else if (auth.enabled) logger.info('auth on: every /v1 route needs an API key', { keys: auth.keyCount, tenants: auth.tenants })
  else if (isLoopbackHost(host))
    logger.info('auth off: no API keys configured, every client is tenant "default"; listening on loopback only', { host })
  else
    logger.warn(
      `WARNING: auth off on a non-loopback address: anyone who can reach ${host} can use the upstream and read every stored response. Configure --api-key or --api-keys-file, or listen on 127.0.0.1.`,
      { host },
    )
}
