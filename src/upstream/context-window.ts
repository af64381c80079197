// The context window of each upstream model, for truncation: what the upstream's GET /models advertises (vLLM's
// max_model_len, or the other servers' names for it; the list cached by upstream/served-models.ts), unless the
// config file sets `context_window` for the model. An upstream that does not say gives null (nothing is checked).
import type { ModelOverride } from '../codex/overrides'
import type { UpstreamClient } from './client'
import { servedModels } from './served-models'

/** One entry of an upstream GET /models `data` array; servers add their own keys. */
export interface UpstreamModel {
  id: string
  [key: string]: unknown
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0

/** The context length the upstream advertises: vLLM `max_model_len`, OpenRouter/others `context_length`, … */
export function upstreamContextWindow(entry: UpstreamModel): number | undefined {
  const topProvider = entry.top_provider as { context_length?: unknown } | undefined
  const candidates = [
    entry.max_model_len,
    entry.context_length,
    entry.context_window,
    entry.max_context_length,
    topProvider?.context_length,
  ]
  return candidates.find(isPositiveInt)
}

export interface ContextWindows {
  /** the model's context window in tokens, or null when unknown */
  windowOf(model: string): Promise<number | null>
}

export function upstreamContextWindows(
  client: Pick<UpstreamClient, 'call'>,
  overrides: Record<string, ModelOverride> = {},
  ttlMs = 60_000,
): ContextWindows {
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
