// Signatures of the thinking blocks the gateway hands out: the reasoning text itself plus an HMAC under a key only
// the gateway holds, so a thinking block a client sends back is turned into model context only when it is ours
// and unchanged. The text rides inside the signature, so it survives clients that drop or blank `thinking`
// (Claude Code asks for display "omitted").
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

const PREFIX = 'ag1.'

export interface ThinkingSigner {
  sign(text: string): string
  /** The reasoning text of a signature this gateway made, or null (another key, altered, not ours). */
  open(signature: string): string | null
}

export function thinkingSigner(key: Uint8Array): ThinkingSigner {
  const mac = (text: string) => createHmac('sha256', key).update('thinking\0').update(text).digest()
  return {
    sign: (text) => `${PREFIX}${Buffer.from(text).toString('base64url')}.${mac(text).toString('base64url')}`,
    open(signature) {
      if (!signature.startsWith(PREFIX)) return null
      const [body, tag] = signature.slice(PREFIX.length).split('.')
      if (body === undefined || tag === undefined) return null
      const text = Buffer.from(body, 'base64url').toString()
      const want = mac(text)
      const got = Buffer.from(tag, 'base64url')
      return got.length === want.length && timingSafeEqual(got, want) ? text : null
    },
  }
}

/**
 * The gateway's signing key: read from `path`, made (32 random bytes, mode 0600) the first time. Kept on disk so
 * signatures stay valid across restarts; gateways sharing a home share it.
 */
export function loadSigningKey(path: string): Uint8Array {
  if (existsSync(path)) {
    const hex = readFileSync(path, 'utf8').trim()
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex')
  }
  const key = randomBytes(32)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600 })
  chmodSync(path, 0o600)
  return key
}
