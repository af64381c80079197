// Picks the upstream adapter for `--upstream-api`: responses (vLLM's /v1/responses, the default) or
// chat (any /v1/chat/completions server).
import type { StreamLimits, UpstreamAdapter } from './adapter'
import { chatAdapter } from './chat'
import type { UpstreamClient } from './client'
import { responsesAdapter } from './responses'
import { servedModels } from './served-models'

export type UpstreamApi = 'responses' | 'chat'

export function createUpstreamAdapter(api: UpstreamApi, client: UpstreamClient, limits: StreamLimits): UpstreamAdapter {
  // One model list cache per adapter (per app): an unknown model's 404 names the models the upstream serves.
  const models = servedModels(client)
  return api === 'chat' ? chatAdapter(client, limits, models) : responsesAdapter(client, limits, models)
}
