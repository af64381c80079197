// The turn engine: the one path every turn takes, whatever edge it came from (HTTP JSON, SSE,
// WebSocket, background). start() checks the request and rehydrates history (errors here are
// plain 4xx); the returned Turn's batches() then calls the upstream, normalises its stream, persists
// the response and yields the gateway's events. Consumers only decide how to deliver them.
// The turn itself lives in engine/turn-start.ts (start), engine/running-turn.ts (events) and engine/turn-finish.ts (its end).
import type { CreateResponseRequest } from '../schema/responses'
import type { CompactRequest } from '../schema/session-tools'
import type { ItemBody } from '../store/types'
import { compactHistory } from './compaction'
import { type CountRequest, countInputTokens } from './input-tokens'
import { type HistoryDeps, requestContext } from './history'
import { NO_LIMITS } from './limits'
import { turnStarter } from './turn-start'
import type { EngineDeps } from './turn-types'
import { UnstoredEnds } from './unstored'
import { toUpstreamRequest } from './upstream-request'

export { type EngineDeps, type Turn, type TurnOptions, TurnStop } from './turn-types'
export { toUpstreamRequest } from './upstream-request'

export function createTurnEngine(deps: EngineDeps) {
  deps = { ...deps, unstored: deps.unstored ?? new UnstoredEnds(deps.logger) }
  const { store, adapter, clock, ids, sealer } = deps
  const { maxHistoryItems } = deps.limits ?? NO_LIMITS
  /** hosted tools already warned about (toUpstreamRequest): one line per tool for the life of the gateway */
  const warnedTools = new Set<string>()
  const historyDeps: HistoryDeps = { store, ids, sealer, maxHistoryItems }
  const start = turnStarter(deps, historyDeps, warnedTools)

  return {
    start,
    /** Ends of turns waiting for the storage to take writes again: followers of an event log read their last events here. */
    unstored: deps.unstored!,
    /** POST /v1/responses/compact: the context of `req` (chain and input) compacted (engine/compaction.ts). */
    async compact(req: CompactRequest, tenant: string, opts: { signal?: AbortSignal; requestId?: string } = {}) {
      const ctx = await requestContext(historyDeps, tenant, { previous_response_id: req.previous_response_id, input: req.input })
      const { input: _input, previous_response_id: _p, instructions, ...settings } = req
      const request = toUpstreamRequest(settings as CreateResponseRequest, [], [])
      delete request.input
      // The session's own instructions tell the summarising model what the assistant was doing.
      const context: ItemBody[] = instructions
        ? [
            {
              id: ids('msg'),
              type: 'message',
              role: 'developer',
              content: [{ type: 'input_text', text: `The assistant's instructions in this session were:\n\n${instructions}` }],
            },
          ]
        : []
      const compacted = await compactHistory(
        { adapter, sealer, ids },
        tenant,
        [...ctx.history, ...ctx.input],
        [...context, ...ctx.upstream],
        request,
        {
          signal: opts.signal,
          headers: opts.requestId ? { 'x-request-id': opts.requestId } : undefined,
        },
      )
      return {
        id: ids('resp'),
        object: 'response.compaction' as const,
        created_at: Math.floor(clock() / 1000),
        output: compacted.output,
        usage: compacted.usage,
      }
    },
    /** POST /v1/responses/input_tokens (engine/input-tokens.ts) */
    countInputTokens: (req: CountRequest, tenant: string, signal?: AbortSignal) =>
      countInputTokens({ ...historyDeps, tokenizer: deps.tokenizer }, tenant, req, signal),
  }
}

export type TurnEngine = ReturnType<typeof createTurnEngine>
