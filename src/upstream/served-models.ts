// The model ids the upstream serves (its GET /models), cached briefly: an unknown model's 404 lists them, and
// an outage or a client retrying a wrong name in a loop costs the upstream one list call per TTL, not one each.
import type { UpstreamClient } from './client'

export interface ServedModels {
  /** The upstream's model ids in its order, or null when it could not be listed. */
  list(): Promise<string[] | null>
}

export function servedModels(client: Pick<UpstreamClient, 'call'>, opts: { ttlMs?: number; clock?: () => number } = {}): ServedModels {
  const ttlMs = opts.ttlMs ?? 10_000
  const clock = opts.clock ?? Date.now
  let cached: { at: number; ids: string[] | null } | null = null
  let pending: Promise<string[] | null> | null = null
  return {
    list() {
      if (cached && clock() - cached.at < ttlMs) return Promise.resolve(cached.ids)
      pending ??= fetchIds(client).then((ids) => {
        cached = { at: clock(), ids }
        pending = null
        return ids
      })
      return pending
    },
  }
}

async function fetchIds(client: Pick<UpstreamClient, 'call'>): Promise<string[] | null> {
  try {
    const res = await client.call({ path: '/models', headers: { accept: 'application/json' } })
    if (!res.ok) {
      await res.body?.cancel()
      return null
    }
    const body = (await res.json()) as { data?: unknown }
    if (!Array.isArray(body?.data)) return null
    const ids = body.data.map((m) => (m as { id?: unknown })?.id).filter((id): id is string => typeof id === 'string' && id !== '')
    return [...new Set(ids)]
  } catch {
    return null
  }
}
