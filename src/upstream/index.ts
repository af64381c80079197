// Picks the upstream adapter for `--upstream-api`: responses (vLLM's /v1/responses, the default) or
// chat (any /v1/chat/completions server).
import type { UpstreamAdapter } from './adapter'
import { chatAdapter } from './chat'
import type { UpstreamClient } from './client'
import { responsesAdapter } from './responses'

export type UpstreamApi = 'responses' | 'chat'

export function createUpstreamAdapter(api: UpstreamApi, client: UpstreamClient, limits: { maxSseLineBytes: number }): UpstreamAdapter {
  return api === 'chat' ? chatAdapter(client, limits) : responsesAdapter(client, limits)
}
