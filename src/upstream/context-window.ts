// The context window of each upstream model, for truncation: what the upstream's GET /models advertises (vLLM's
// max_model_len, or the other servers' names for it), unless the config file sets `context_window` for the model.
// Asked at most once a minute; an upstream that does not say gives null (nothing is checked then).
import type { ModelOverride } from '../config'
import { upstreamContextWindow, type UpstreamModel } from '../codex/catalog'
import type { UpstreamClient } from './client'

export interface ContextWindows {
  /** the model's context window in tokens, or null when unknown */
  windowOf(model: string, signal?: AbortSignal): Promise<number | null>
}

export function upstreamContextWindows(client: UpstreamClient, overrides: Record<string, ModelOverride> = {}, ttlMs = 60_000): ContextWindows {
  let cached: { at: number; windows: Map<string, number> } | null = null
  let pending: Promise<Map<string, number>> | null = null
  const load = async (signal?: AbortSignal): Promise<Map<string, number>> => {
    const windows = new Map<string, number>()
    try {
      const res = await client.call({ path: '/models', headers: { accept: 'application/json' }, signal, kind: 'quick' })
      const json = (await res.json().catch(() => null)) as { data?: UpstreamModel[] } | null
      if (res.ok) for (const m of json?.data ?? []) {
        const window = typeof m?.id === 'string' ? upstreamContextWindow(m) : undefined
        if (window) windows.set(m.id, window)
      }
    } catch {
      // An upstream that cannot list its models now has unknown windows: the turn itself will tell.
    }
    cached = { at: Date.now(), windows }
    return windows
  }
  return {
    async windowOf(model, signal) {
      const configured = overrides[model]?.context_window
      if (typeof configured === 'number' && configured > 0) return configured
      let windows = cached && Date.now() - cached.at < ttlMs ? cached.windows : null
      if (!windows) {
        pending ??= load(signal).finally(() => (pending = null))
        windows = await pending
      }
      return windows.get(model) ?? null
    },
  }
}
