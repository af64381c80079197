// OpenTelemetry GenAI semantic conventions on the turn's spans: what was asked (gen_ai.request.*), what came back
// (gen_ai.response.*, gen_ai.usage.*) and the tool calls the model made. Prompts and outputs are never recorded:
// only models, ids, counts and names.
import type { UsageT } from '../schema/responses'
import type { Span, Tracer } from './span'

/** The API family the upstream speaks (vLLM and the others serve OpenAI's wire format). */
export const GEN_AI_SYSTEM = 'openai'

/** The turn's span: the operation and what the client asked for. */
export function turnAttributes(
  span: Span,
  req: {
    model: string
    previous_response_id?: string | null
    conversation?: unknown
    background?: boolean | null
    stream?: boolean | null
  },
): void {
  span
    .set('gen_ai.operation.name', 'chat')
    .set('gen_ai.system', GEN_AI_SYSTEM)
    .set('gen_ai.provider.name', GEN_AI_SYSTEM)
    .set('gen_ai.request.model', req.model)
    .set('agentgate.previous_response_id', req.previous_response_id ?? undefined)
    .set(
      'gen_ai.conversation.id',
      typeof req.conversation === 'string' ? req.conversation : ((req.conversation as { id?: string } | null | undefined)?.id ?? undefined),
    )
    .set('agentgate.background', req.background === true)
    .set('agentgate.stream', req.stream === true)
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined)

/** The upstream call's span: the request the model server gets. */
export function upstreamRequestAttributes(span: Span, body: Record<string, unknown>, api: string): void {
  span
    .set('gen_ai.operation.name', 'chat')
    .set('gen_ai.system', GEN_AI_SYSTEM)
    .set('gen_ai.provider.name', GEN_AI_SYSTEM)
    .set('gen_ai.request.model', typeof body.model === 'string' ? body.model : undefined)
    .set('gen_ai.request.max_tokens', num(body.max_output_tokens))
    .set('gen_ai.request.temperature', num(body.temperature))
    .set('gen_ai.request.top_p', num(body.top_p))
    .set('agentgate.upstream.api', api)
}

/** What the upstream's own events say about its response: its id and model (from response.created/completed). */
export function noteUpstreamEvent(span: Span, ev: { type: string; [k: string]: unknown }): void {
  if (ev.type !== 'response.created' && ev.type !== 'response.completed' && ev.type !== 'response.incomplete') return
  const r = ev.response as { id?: unknown; model?: unknown } | undefined
  if (typeof r?.id === 'string') span.set('gen_ai.response.id', r.id)
  if (typeof r?.model === 'string') span.set('gen_ai.response.model', r.model)
}

export function usageAttributes(span: Span, usage: UsageT | null): void {
  if (!usage) return
  span.set('gen_ai.usage.input_tokens', usage.input_tokens).set('gen_ai.usage.output_tokens', usage.output_tokens)
}

const TOOL_ITEMS: Record<string, string> = {
  function_call: 'function',
  custom_tool_call: 'custom',
  local_shell_call: 'local_shell',
  apply_patch_call: 'apply_patch',
  // run by the gateway itself (engine/tool-rounds.ts): the span covers the call as it runs
  mcp_call: 'mcp',
  web_search_call: 'web_search',
}

/**
 * A span per tool call the model makes, from its output_item.added to its output_item.done (the client runs the
 * tool; the span shows when and which): gen_ai.tool.name, gen_ai.tool.call.id, gen_ai.tool.type.
 */
export function noteToolCallEvent(tracer: Tracer, turn: Span, ev: { type?: unknown; [k: string]: unknown }, open: Map<string, Span>): void {
  if (ev.type !== 'response.output_item.added' && ev.type !== 'response.output_item.done') return
  const item = ev.item as { id?: string; type?: string; name?: string; call_id?: string } | undefined
  const kind = item?.type ? TOOL_ITEMS[item.type] : undefined
  if (!item?.id || !kind) return
  let span = open.get(item.id)
  if (!span) {
    span = tracer
      .start(`execute_tool ${item.name ?? item.type}`, 'internal', turn)
      .set('gen_ai.operation.name', 'execute_tool')
      .set('gen_ai.tool.name', item.name ?? item.type)
      .set('gen_ai.tool.type', kind)
    open.set(item.id, span)
  }
  span.set('gen_ai.tool.call.id', item.call_id)
  if (ev.type === 'response.output_item.done') {
    open.delete(item.id)
    span.end()
  }
}
