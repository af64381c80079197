// OIDC bearer tokens: the issuer's discovery document, its JWKS (cached, refreshed on an unknown `kid` at most once
// per REFRESH_INTERVAL_MS), and the check of one token — signature (RS256, ES256, EdDSA), `iss`, `aud`, `exp`/`nbf`
// with a small clock skew, `azp` when present — down to the tenant named by the configured claim. Signatures and
// claims are checked by `jose`; what is ours is the key cache and the mapping to 401/503 errors. A token never goes
// into a log line or an error message. `jose` is loaded with the first token or key fetch: a gateway without an
// issuer never loads it.
import type { JSONWebKeySet, JWTPayload } from 'jose'
import { ApiError } from './errors'
import type { Logger } from './log'

type Jose = typeof import('jose')
let joseModule: Promise<Jose> | null = null
const loadJose = (): Promise<Jose> => (joseModule ??= import('jose'))

/** Signature algorithms accepted; `none` and the HMAC family (a shared secret an IdP does not publish) never are. */
export const OIDC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA', 'Ed25519'] as const
/** Clock skew allowed on exp/nbf/iat, seconds. */
export const CLOCK_SKEW_S = 30
/** The shortest time between two JWKS (or discovery) fetches caused by unknown key ids or failures. */
export const REFRESH_INTERVAL_MS = 30_000
/** The shortest time between two attempts after a failed fetch. */
export const RETRY_INTERVAL_MS = 5_000
/** How long fetched keys are used before they are fetched again (a failed refetch keeps the old keys). */
export const JWKS_MAX_AGE_MS = 10 * 60_000
const FETCH_TIMEOUT_MS = 5_000
const MAX_DOCUMENT_BYTES = 1024 * 1024

/** Three base64url segments (the third empty for alg:none): what a compact JWS looks like. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token)
}

export interface OidcOptions {
  issuer: string
  /** accepted audiences: the token's `aud` must contain one of them; an `azp` must be one of them */
  audiences: readonly string[]
  /** claim whose value is the tenant (default sub) */
  tenantClaim: string
  logger: Logger
  fetch?: typeof fetch
  /** unix ms */
  clock?: () => number
}

/** Who a valid token stands for. */
export interface TokenPrincipal {
  tenant: string
  /** unix ms of `exp`, null when the token has none */
  expiresAt: number | null
}

export interface OidcVerifier {
  readonly issuer: string
  /** Verifies a compact JWT: its principal, or ApiError 401 (bad token) / 503 (keys unavailable). */
  verify(token: string): Promise<TokenPrincipal>
  /** Fetches discovery and keys now (start-up), logging a warning on failure instead of throwing. */
  warm(): Promise<void>
}

/** 401 for a bad bearer token, RFC 6750: `WWW-Authenticate: Bearer error="invalid_token"` and OpenAI's error shape. */
export function invalidToken(description: string): ApiError {
  return new ApiError(401, `Invalid bearer token: ${description}.`, 'invalid_request_error', 'invalid_token').withHeaders({
    'www-authenticate': `Bearer realm="agentgate", error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"`,
  })
}

function keysUnavailable(why: string): ApiError {
  return new ApiError(
    503,
    `The identity provider's signing keys could not be fetched (${why}); try again shortly.`,
    'server_error',
    'identity_provider_unavailable',
  ).withHeaders({ 'retry-after': '30' })
}

class FetchFailed extends Error {}

export function createOidcVerifier(opts: OidcOptions): OidcVerifier {
  const doFetch = opts.fetch ?? fetch
  const clock = opts.clock ?? Date.now
  const issuer = opts.issuer
  const audiences = new Set(opts.audiences)

  let jwksUri: string | null = null
  let keys: { set: ReturnType<Jose['createLocalJWKSet']>; kids: Set<string>; fetchedAt: number } | null = null
  /** when the last fetch failed, and when an unknown kid last caused one (unix ms) */
  let lastFailure = -Infinity
  let lastFailureReason = ''
  let lastUnknownKidFetch = -Infinity
  let inFlight: Promise<void> | null = null

  async function getJson(url: string, what: string): Promise<Record<string, unknown>> {
    let res: Response
    try {
      res = await doFetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        redirect: 'follow',
      })
    } catch (e) {
      const err = e as NodeJS.ErrnoException | null
      throw new FetchFailed(`${what} unreachable: ${err?.code ?? err?.name ?? 'error'}`)
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {})
      throw new FetchFailed(`${what} answered ${res.status}`)
    }
    const text = await res.text()
    if (text.length > MAX_DOCUMENT_BYTES) throw new FetchFailed(`${what} is too large`)
    try {
      const v = JSON.parse(text)
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v
    } catch {}
    throw new FetchFailed(`${what} is not a JSON object`)
  }

  async function load(): Promise<void> {
    try {
      await loadOnce()
    } catch (e) {
      lastFailure = clock()
      lastFailureReason = (e as Error)?.message ?? String(e)
      throw e
    }
  }

  async function loadOnce(): Promise<void> {
    if (jwksUri === null) {
      const doc = await getJson(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`, 'discovery document')
      // OIDC Discovery §4.3: the document's issuer must be exactly the one configured (no mix-up with another IdP).
      if (doc.issuer !== issuer)
        throw new FetchFailed(`discovery document names issuer ${JSON.stringify(doc.issuer)}, not ${JSON.stringify(issuer)}`)
      if (typeof doc.jwks_uri !== 'string') throw new FetchFailed('discovery document has no jwks_uri')
      jwksUri = doc.jwks_uri
    }
    const jwks = await getJson(jwksUri, 'JWKS')
    if (!Array.isArray(jwks.keys)) throw new FetchFailed('JWKS has no keys array')
    const set = (await loadJose()).createLocalJWKSet(jwks as unknown as JSONWebKeySet)
    const kids = new Set((jwks.keys as { kid?: unknown }[]).map((k) => k?.kid).filter((k): k is string => typeof k === 'string'))
    keys = { set, kids, fetchedAt: clock() }
    opts.logger.debug('OIDC keys fetched', { issuer, keys: (jwks.keys as unknown[]).length })
  }

  /** One fetch at a time; callers share it. */
  function refresh(): Promise<void> {
    inFlight ??= load().finally(() => (inFlight = null))
    return inFlight
  }

  /**
   * The keys to verify a token with key id `kid`. Fetched again when they are older than JWKS_MAX_AGE_MS, or when the
   * kid is unknown (a rotation) — that at most once per REFRESH_INTERVAL_MS, so tokens with made-up kids cannot make
   * us hammer the IdP; after a failed fetch, the next waits RETRY_INTERVAL_MS. A failed fetch keeps the old keys.
   */
  async function keysFor(kid: string | undefined) {
    const now = clock()
    const known = keys !== null && (kid === undefined || keys.kids.has(kid))
    const stale = keys !== null && now - keys.fetchedAt > JWKS_MAX_AGE_MS
    if (known && !stale) return keys!.set
    let mayFetch = now - lastFailure >= RETRY_INTERVAL_MS
    if (keys !== null && !known) {
      mayFetch &&= now - lastUnknownKidFetch >= REFRESH_INTERVAL_MS
      if (mayFetch) lastUnknownKidFetch = now
    }
    if (mayFetch || inFlight) {
      try {
        await refresh()
      } catch (e) {
        if (!(e instanceof FetchFailed)) throw e
        opts.logger.warn('OIDC keys could not be fetched', { issuer, reason: e.message })
        // Old keys still verify tokens signed with them; only a token no cached key fits is a 503.
        if (keys === null || !(kid === undefined || keys.kids.has(kid))) throw keysUnavailable(e.message)
      }
    } else if (keys === null) {
      throw keysUnavailable(lastFailureReason)
    }
    return keys!.set
  }

  async function verify(token: string): Promise<TokenPrincipal> {
    const jose = await loadJose()
    let header: ReturnType<Jose['decodeProtectedHeader']>
    try {
      header = jose.decodeProtectedHeader(token)
    } catch {
      throw invalidToken('the token is not a well-formed JWT')
    }
    if (typeof header.alg !== 'string' || !(OIDC_ALGORITHMS as readonly string[]).includes(header.alg))
      throw invalidToken(`signature algorithm ${JSON.stringify(header.alg ?? null)} is not accepted`)
    const set = await keysFor(typeof header.kid === 'string' ? header.kid : undefined)
    let payload: JWTPayload
    try {
      ;({ payload } = await jose.jwtVerify(token, set, {
        issuer,
        audience: [...audiences],
        algorithms: [...OIDC_ALGORITHMS],
        clockTolerance: CLOCK_SKEW_S,
        // An access token without exp would never expire (RFC 9068 §2.2 requires it).
        requiredClaims: ['exp'],
        currentDate: new Date(clock()),
      }))
    } catch (e) {
      throw invalidToken(describeFailure(jose.errors, e))
    }
    if (payload.azp !== undefined && (typeof payload.azp !== 'string' || !audiences.has(payload.azp)))
      throw invalidToken('the authorized party (azp) is not an accepted audience')
    const value = payload[opts.tenantClaim]
    if (
      (typeof value !== 'string' && typeof value !== 'number') ||
      String(value) === '' ||
      String(value).length > 256 ||
      /[\u0000-\u001f]/.test(String(value))
    )
      throw invalidToken(`the token has no usable ${opts.tenantClaim} claim`)
    return { tenant: String(value), expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : null }
  }

  return {
    issuer,
    verify,
    async warm() {
      try {
        await refresh()
      } catch (e) {
        opts.logger.warn('OIDC discovery or keys could not be fetched at start-up; retried when a token arrives', {
          issuer,
          reason: (e as Error).message,
        })
      }
    },
  }
}

/** Why jose refused a token, in words safe to show the client (never the token or its claims' values). */
function describeFailure(joseErrors: Jose['errors'], e: unknown): string {
  if (e instanceof joseErrors.JWTExpired) return 'the token has expired'
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'iss':
        return 'unexpected issuer'
      case 'aud':
        return 'unexpected audience'
      case 'nbf':
        return e.reason === 'missing' ? 'the token has no nbf claim' : 'the token is not valid yet'
      case 'iat':
        return 'the token was issued in the future'
      default:
        return e.reason === 'missing' ? `the token has no ${e.claim} claim` : `the ${e.claim} claim is invalid`
    }
  }
  if (e instanceof joseErrors.JWKSNoMatchingKey) return 'no signing key of the issuer matches the token'
  if (e instanceof joseErrors.JWKSMultipleMatchingKeys) return 'the token does not name its signing key'
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed'
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return 'signature algorithm not accepted'
  if (e instanceof joseErrors.JWTInvalid || e instanceof joseErrors.JWSInvalid) return 'the token is malformed'
  return 'the token could not be verified'
}
