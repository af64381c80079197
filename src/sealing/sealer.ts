// Sealed content: what the gateway hands a client in `encrypted_content` (reasoning items, compaction
// items) and takes back later. AES-256-GCM with a random 96-bit IV; the token names the key that sealed
// it (so keys rotate: the first key seals, every key opens) and binds the tenant and purpose as
// additional authenticated data, so a token opens only for the tenant it was made for. Pure apart from
// the random IV.

// node:crypto (AES-GCM) is loaded on the first seal or open, not at start: loading it costs about 3 ms, and most
// turns seal nothing. The key ids are hashed with Bun's native hasher.
let nodeCrypto: typeof import('node:crypto') | undefined
const aesGcm = () => (nodeCrypto ??= require('node:crypto') as typeof import('node:crypto'))

/** What a token was made for: a reasoning item's text or a compaction summary. A token of one never opens as the other. */
export type SealPurpose = 'reasoning' | 'compaction'

export interface SealingKey {
  /** derived from the key (not secret): names the key in a token */
  id: string
  key: Uint8Array
}

const VERSION = 'ags1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** A key's id: the first 8 bytes of its SHA-256, hex. Tells keys apart without saying anything about them. */
export function keyId(key: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(key).digest('hex').slice(0, 16)
}

export function sealingKey(key: Uint8Array): SealingKey {
  if (key.length !== 32) throw new Error(`a sealing key is 32 bytes, got ${key.length}`)
  return { id: keyId(key), key }
}

export interface Sealer {
  /** The token for `payload` (any JSON), for this tenant and purpose. */
  seal(tenant: string, purpose: SealPurpose, payload: unknown): string
  /** The payload, or null when the token is malformed, tampered with, sealed for another tenant or purpose, or by a key we no longer have. */
  open(tenant: string, purpose: SealPurpose, token: string): unknown | null
}

export function createSealer(keys: SealingKey[]): Sealer {
  if (keys.length === 0) throw new Error('a sealer needs at least one key')
  const byId = new Map(keys.map((k) => [k.id, k]))
  const sealWith = keys[0]!
  const aad = (tenant: string, purpose: SealPurpose) => Buffer.from(`agentgate\u0000${VERSION}\u0000${purpose}\u0000${tenant}`, 'utf8')
  return {
    seal(tenant, purpose, payload) {
      const iv = crypto.getRandomValues(Buffer.alloc(IV_BYTES))
      const cipher = aesGcm().createCipheriv('aes-256-gcm', sealWith.key, iv)
      cipher.setAAD(aad(tenant, purpose))
      const body = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()])
      return `${VERSION}.${sealWith.id}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
    },
    open(tenant, purpose, token) {
      if (typeof token !== 'string') return null
      const [version, id, data, ...rest] = token.split('.')
      if (version !== VERSION || rest.length || !id || !data) return null
      const key = byId.get(id)
      if (!key) return null
      const raw = Buffer.from(data, 'base64url')
      if (raw.length < IV_BYTES + TAG_BYTES) return null
      try {
        const decipher = aesGcm().createDecipheriv('aes-256-gcm', key.key, raw.subarray(0, IV_BYTES))
        decipher.setAAD(aad(tenant, purpose))
        decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES))
        const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()])
        return JSON.parse(plain.toString('utf8'))
      } catch {
        // Authentication failed (tampered, another tenant's, another purpose's) or not JSON: either way it does not open.
        return null
      }
    },
  }
}
