// Where the sealing keys come from: --sealing-key / AGENTGATE_SEALING_KEYS (base64 of 32 bytes each; the
// first seals, all open, so a key can be rotated in front of the old one), or else one key generated
// once into $AGENTGATE_HOME/sealing.key (mode 0600) and reused from there on every start, so tokens
// handed out before a restart still open.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../config-error'
import { sealingKey, type SealingKey } from './sealer'

export const KEY_FILE = 'sealing.key'

function decodeKey(text: string, where: string): SealingKey {
  const b64 = text.trim()
  // Never echo the key: the message names where it came from.
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(b64))
    throw new ConfigError(`invalid value for ${where}: a sealing key is the base64 of 32 random bytes (e.g. \`openssl rand -base64 32\`)`)
  return sealingKey(Buffer.from(b64, 'base64'))
}

/** The keys of a config: the configured ones in order, or the one kept in the home directory (made on first use). */
export function loadSealingKeys(config: { sealingKeys: string[]; home: string }): SealingKey[] {
  if (config.sealingKeys.length)
    return config.sealingKeys.map((k, i) => decodeKey(k, config.sealingKeys.length > 1 ? `--sealing-key (key ${i + 1})` : '--sealing-key'))
  const path = join(config.home, KEY_FILE)
  try {
    return [decodeKey(readFileSync(path, 'utf8'), path)]
  } catch (e) {
    const err = e as NodeJS.ErrnoException | null
    if (err?.code !== 'ENOENT')
      throw e instanceof ConfigError ? e : new ConfigError(`cannot read the sealing key ${path}: ${err?.message ?? e}`)
  }
  mkdirSync(config.home, { recursive: true })
  // getRandomValues, not node:crypto's randomBytes: that module is not loaded at start (see ./sealer.ts)
  const key = crypto.getRandomValues(Buffer.alloc(32))
  try {
    // 'wx': two processes starting at once on one home must end up with the same key — the loser reads the winner's.
    writeFileSync(path, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
    chmodSync(path, 0o600)
    return [sealingKey(key)]
  } catch (e) {
    const err = e as NodeJS.ErrnoException | null
    if (err?.code === 'EEXIST') return [decodeKey(readFileSync(path, 'utf8'), path)]
    throw new ConfigError(`cannot write the sealing key ${path}: ${err?.message ?? e}`)
  }
}
