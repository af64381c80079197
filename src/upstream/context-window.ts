// The context window of each upstream model, for truncation: what the upstream's GET /models advertises (vLLM's
// max_model_len, or the other servers' names for it; the list cached by upstream/served-models.ts), unless the
// config file sets `context_window` for the model. An upstream that does not say gives null (nothing is checked).
import type { ModelOverride } from '../config'
import { upstreamContextWindow } from '../codex/catalog'
import type { UpstreamClient } from './client'
import { servedModels } from './served-models'

export interface ContextWindows {
  /** the model's context window in tokens, or null when unknown */
  windowOf(model: string): Promise<number | null>
}

export function upstreamContextWindows(client: Pick<UpstreamClient, 'call'>, overrides: Record<string, ModelOverride> = {}, ttlMs = 60_000): ContextWindows {
  const served = servedModels(client, { ttlMs })
  return {
    async windowOf(model) {
      const configured = overrides[model]?.context_window
      if (typeof configured === 'number' && configured > 0) return configured
      const entry = (await served.entries())?.find((m) => m.id === model)
      return (entry && upstreamContextWindow(entry)) ?? null
    },
  }
}
