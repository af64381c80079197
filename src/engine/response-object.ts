// The Response object the gateway shows: every key present, null where unset, numbers defaulted
// (strict clients validate this). Pure.
import type { CreateResponseRequest, ResponseObjectT, UsageT } from '../schema/responses'
import { outputText } from '../output-text'
import type { ItemBody, ResponseStatus } from '../store/types'
import { responseTools } from '../tools'

export type ResponseBase = Omit<
  ResponseObjectT,
  'status' | 'output' | 'output_text' | 'usage' | 'error' | 'incomplete_details' | 'completed_at'
>

export function responseBase(
  req: CreateResponseRequest,
  id: string,
  createdAtMs: number,
  store: boolean,
  conversationId: string | null,
): ResponseBase {
  return {
    id,
    object: 'response',
    created_at: Math.floor(createdAtMs / 1000),
    model: req.model,
    instructions: req.instructions ?? null,
    previous_response_id: req.previous_response_id ?? null,
    conversation: conversationId ? { id: conversationId } : null,
    tools: responseTools(req.tools) as ResponseBase['tools'],
    tool_choice: req.tool_choice ?? 'auto',
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    temperature: req.temperature ?? 1,
    top_p: req.top_p ?? 1,
    presence_penalty: req.presence_penalty ?? 0,
    frequency_penalty: req.frequency_penalty ?? 0,
    top_logprobs: req.top_logprobs ?? 0,
    max_output_tokens: req.max_output_tokens ?? null,
    max_tool_calls: req.max_tool_calls ?? null,
    reasoning: req.reasoning ?? null,
    text: req.text ?? { format: { type: 'text' } },
    truncation: req.truncation ?? 'disabled',
    metadata: req.metadata ?? {},
    store,
    background: req.background ?? false,
    service_tier: req.service_tier ?? 'auto',
    safety_identifier: req.safety_identifier ?? null,
    prompt_cache_key: req.prompt_cache_key ?? null,
  }
}

export interface ResponseState {
  status: ResponseStatus
  output: ItemBody[]
  usage: UsageT | null
  error: { code: string; message: string } | null
  incomplete_details: { reason: string } | null
  completedAtMs: number | null
}

export function responseObject(base: ResponseBase, s: ResponseState): ResponseObjectT {
  return {
    ...base,
    status: s.status,
    completed_at: s.completedAtMs === null ? null : Math.floor(s.completedAtMs / 1000),
    output: s.output,
    output_text: outputText(s.output),
    usage: s.usage,
    error: s.error,
    incomplete_details: s.incomplete_details,
  }
}

/** Usage as an upstream may send it: Responses or Chat Completions names, any field missing or of the wrong type. */
type RawUsage = {
  [k in 'input_tokens' | 'prompt_tokens' | 'output_tokens' | 'completion_tokens' | 'total_tokens']?: unknown
} & {
  [k in 'input_tokens_details' | 'prompt_tokens_details']?: { cached_tokens?: unknown } | null
} & {
  [k in 'output_tokens_details' | 'completion_tokens_details']?: { reasoning_tokens?: unknown } | null
}

/** Usage with every detail key present, from whatever shape the upstream sent. */
export function normaliseUsage(usage: unknown): UsageT | null {
  if (!usage || typeof usage !== 'object') return null
  const u = usage as RawUsage
  const input = num(u.input_tokens ?? u.prompt_tokens)
  const output = num(u.output_tokens ?? u.completion_tokens)
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: num(u.input_tokens_details?.cached_tokens ?? u.prompt_tokens_details?.cached_tokens) },
    output_tokens: output,
    output_tokens_details: {
      reasoning_tokens: num(u.output_tokens_details?.reasoning_tokens ?? u.completion_tokens_details?.reasoning_tokens),
    },
    total_tokens: num(u.total_tokens ?? input + output),
  }
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.trunc(x) : 0)

/** Usage over the rounds of a turn: every count summed (null while no round reported any). */
export function addUsage(a: UsageT | null, b: UsageT | null): UsageT | null {
  if (!a || !b) return a ?? b
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    input_tokens_details: { cached_tokens: a.input_tokens_details.cached_tokens + b.input_tokens_details.cached_tokens },
    output_tokens: a.output_tokens + b.output_tokens,
    output_tokens_details: { reasoning_tokens: a.output_tokens_details.reasoning_tokens + b.output_tokens_details.reasoning_tokens },
    total_tokens: a.total_tokens + b.total_tokens,
  }
}
