// POST /v1/responses/input_tokens: how many tokens the model would be given for a create request — its history
// (chain or conversation) and input, rehydrated exactly as a turn would send them — counted by the upstream's
// tokenizer when it has one, else estimated (and said so).
import type { CreateResponseRequest } from '../schema/responses'
import { toolRegistryFor } from '../tools'
import { estimateInputTokens, type Tokenizer } from '../upstream/tokenize'
import { requestContext, type HistoryDeps } from './history'
import { toUpstreamRequest } from './upstream-request'

/** A create request without the need for a model (counting falls back to the upstream's default). */
export type CountRequest = Omit<CreateResponseRequest, 'model'> & { model?: string | null }

export interface InputTokenCount {
  input_tokens: number
  /** who counted: the upstream's tokenizer, or the gateway's estimate */
  counted_by: 'tokenizer' | 'estimate'
}

export async function countInputTokens(
  deps: HistoryDeps & { tokenizer?: Tokenizer },
  tenant: string,
  req: CountRequest,
  signal?: AbortSignal,
): Promise<InputTokenCount> {
  const full = { ...req, model: req.model ?? '' } as CreateResponseRequest
  toolRegistryFor(full) // the same 400s as create for bad tool lists
  const ctx = await requestContext(deps, tenant, full)
  const body = toUpstreamRequest(full, [], ctx.upstream)
  if (!req.model) delete body.model
  const counted = (await deps.tokenizer?.countInput(body, signal)) ?? null
  return counted === null
    ? { input_tokens: estimateInputTokens(body), counted_by: 'estimate' }
    : { input_tokens: counted, counted_by: 'tokenizer' }
}
