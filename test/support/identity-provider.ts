// A loopback OpenID provider for the OIDC tests: a discovery document and a JWKS on 127.0.0.1, signing keys made
// here (RS256, ES256, EdDSA) and tokens signed with them by the test through jose. Keys can be rotated, the JWKS can
// be made to fail, and every JWKS fetch is counted (for the cache and its rate limit).
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose'

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA'

export interface SigningKey {
  kid: string
  alg: SigningAlg
  privateKey: CryptoKey
  publicJwk: JWK
}

export interface IdentityProvider {
  /** the issuer URL (also the base of the discovery document) */
  issuer: string
  /** keys the JWKS publishes */
  published: SigningKey[]
  /** JWKS fetches answered so far (any status) */
  jwksFetches: number
  /** discovery document fetches answered so far */
  discoveryFetches: number
  /** when true the JWKS answers 503 */
  jwksDown: boolean
  /** when set, the discovery document names this issuer instead of its own (an IdP mix-up) */
  discoveryIssuer: string | null
  /** A new key of `alg`; `publish` (default true) adds it to the JWKS. */
  newKey(alg?: SigningAlg, publish?: boolean): Promise<SigningKey>
  /** Publishes a new key and drops every older one from the JWKS; returns the new key. */
  rotate(alg?: SigningAlg): Promise<SigningKey>
  /**
   * A signed token: iss, aud, sub, iat and exp (in 5 minutes) unless `claims` says otherwise (undefined removes one);
   * signed with `key` (default the first published key), with its kid unless `kid` is given (null: no kid).
   */
  sign(claims?: Record<string, unknown>, opts?: { key?: SigningKey; kid?: string | null; alg?: string }): Promise<string>
  /** An unsecured token (`alg: none`, empty signature) with the usual claims. */
  unsigned(claims?: Record<string, unknown>): string
  stop(): Promise<void>
}

export const TEST_AUDIENCE = 'agentgate-api'

let kidCounter = 0

export async function startIdentityProvider(opts: { algs?: SigningAlg[] } = {}): Promise<IdentityProvider> {
  const published: SigningKey[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch(req) {
      const path = new URL(req.url).pathname
      if (path === '/.well-known/openid-configuration') {
        idp.discoveryFetches++
        return Response.json({
          issuer: idp.discoveryIssuer ?? idp.issuer,
          jwks_uri: `${idp.issuer}/jwks`,
          id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
        })
      }
      if (path === '/jwks') {
        idp.jwksFetches++
        if (idp.jwksDown) return new Response('unavailable', { status: 503 })
        return Response.json({ keys: idp.published.map((k) => k.publicJwk) })
      }
      return new Response('not found', { status: 404 })
    },
  })

  async function newKey(alg: SigningAlg = 'RS256', publish = true): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const kid = `test-key-${++kidCounter}`
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
    const key = { kid, alg, privateKey, publicJwk }
    if (publish) published.push(key)
    return key
  }

  function baseClaims(claims: Record<string, unknown>): JWTPayload {
    const now = Math.floor(Date.now() / 1000)
    const all: Record<string, unknown> = { iss: idp.issuer, aud: TEST_AUDIENCE, sub: 'user-1', iat: now, exp: now + 300, ...claims }
    for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k]
    return all as JWTPayload
  }

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

  const idp: IdentityProvider = {
    issuer: `http://127.0.0.1:${server.port}`,
    published,
    jwksFetches: 0,
    discoveryFetches: 0,
    jwksDown: false,
    discoveryIssuer: null,
    newKey,
    async rotate(alg = 'RS256') {
      const key = await newKey(alg, false)
      published.splice(0, published.length, key)
      return key
    },
    async sign(claims = {}, o = {}) {
      const key = o.key ?? published[0]
      const header: Record<string, unknown> = { alg: o.alg ?? key.alg, typ: 'JWT' }
      const kid = o.kid === undefined ? key.kid : o.kid
      if (kid !== null) header.kid = kid
      return new SignJWT(baseClaims(claims)).setProtectedHeader(header as any).sign(key.privateKey)
    },
    unsigned(claims = {}) {
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(baseClaims(claims))}.`
    },
    async stop() {
      await server.stop(true)
    },
  }
  for (const alg of opts.algs ?? ['RS256']) await newKey(alg)
  return idp
}
