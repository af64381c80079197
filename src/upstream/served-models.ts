// The models the upstream serves (its GET /models), cached briefly: an unknown model's 404 lists them, truncation
// reads their context windows, and an outage or a client retrying a wrong name in a loop costs the upstream one
// list call per TTL, not one each.
import type { UpstreamClient } from './client'

/** One entry of the upstream's list: its id and whatever the server adds (vLLM's max_model_len, …). */
export type ServedModel = { id: string; [key: string]: unknown }

export interface ServedModels {
  /** The upstream's model ids in its order, or null when it could not be listed. */
  list(): Promise<string[] | null>
  /** The upstream's model entries in its order (one per id), or null when it could not be listed. */
  entries(): Promise<ServedModel[] | null>
}

export function servedModels(client: Pick<UpstreamClient, 'call'>, opts: { ttlMs?: number; clock?: () => number } = {}): ServedModels {
  const ttlMs = opts.ttlMs ?? 10_000
  const clock = opts.clock ?? Date.now
  let cached: { at: number; models: ServedModel[] | null } | null = null
  let pending: Promise<ServedModel[] | null> | null = null
  const entries = (): Promise<ServedModel[] | null> => {
    if (cached && clock() - cached.at < ttlMs) return Promise.resolve(cached.models)
    pending ??= fetchModels(client).then((models) => {
      cached = { at: clock(), models }
      pending = null
      return models
    })
    return pending
  }
  return {
    entries,
    list: async () => (await entries())?.map((m) => m.id) ?? null,
  }
}

async function fetchModels(client: Pick<UpstreamClient, 'call'>): Promise<ServedModel[] | null> {
  try {
    const res = await client.call({ path: '/models', headers: { accept: 'application/json' } })
    if (!res.ok) {
      await res.body?.cancel()
      return null
    }
    const body = (await res.json()) as { data?: unknown }
    if (!Array.isArray(body?.data)) return null
    const seen = new Set<string>()
    const models: ServedModel[] = []
    for (const m of body.data as { id?: unknown }[]) {
      if (typeof m?.id !== 'string' || m.id === '' || seen.has(m.id)) continue
      seen.add(m.id)
      models.push(m as ServedModel)
    }
    return models
  } catch {
    return null
  }
}
