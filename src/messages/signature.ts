// Signatures of the thinking blocks the gateway hands out: the reasoning text sealed with the gateway's sealing keys
// (src/sealing: AES-GCM, bound to the tenant; the same keys that seal reasoning.encrypted_content), so a thinking
// block a client sends back becomes model context only when this gateway made it, for this tenant, unchanged. The
// text rides inside the signature, so it survives clients that blank `thinking` (Claude Code's display "omitted").
import type { Sealer } from '../sealing/sealer'

export interface ThinkingSigner {
  sign(text: string): string
  /** The reasoning text of a signature this gateway made for this tenant, or null (another key or tenant, altered, not ours). */
  open(signature: string): string | null
}

export function thinkingSigner(sealer: Sealer, tenant: string): ThinkingSigner {
  return {
    sign: (text) => sealer.seal(tenant, 'reasoning', { thinking: text }),
    open(signature) {
      const payload = sealer.open(tenant, 'reasoning', signature) as { thinking?: unknown } | null
      return typeof payload?.thinking === 'string' ? payload.thinking : null
    },
  }
}
