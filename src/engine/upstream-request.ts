// The stateless request the upstream gets for a turn (or a token count, or a compaction): the client's request
// without the gateway's own fields, the full input, tools as functions. Pure.
import type { Logger } from '../log'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody } from '../store/types'
import { toolRegistryFor, toUpstreamItems } from '../tools'

/** Request fields that are the gateway's business and never go upstream. */
const GATEWAY_ONLY = [
  'previous_response_id',
  'conversation',
  'store',
  'background',
  'generate',
  'client_metadata',
  'stream',
  'stream_options',
  'metadata',
  'context_management',
] as const

/**
 * The stateless request the upstream sees: full input, store:false, no chain references; tools as
 * functions and tool items as function calls (src/tools). Hosted tools are left out, with a warning the first time
 * each is seen (`warned` remembers them: Codex declares web_search on every turn, and one line says it all).
 */
export function toUpstreamRequest(
  req: CreateResponseRequest,
  history: ItemBody[],
  input: ItemBody[],
  logger?: Logger,
  warned?: Set<string>,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req }
  for (const k of GATEWAY_ONLY) delete body[k]
  const tools = toolRegistryFor(req)
  if (tools.upstreamTools !== undefined) body.tools = tools.upstreamTools
  else delete body.tools // `tools: null`
  if (tools.upstreamToolChoice === undefined) delete body.tool_choice
  else body.tool_choice = tools.upstreamToolChoice
  body.input = toUpstreamItems([...history, ...input], tools)
  body.store = false
  const news = warned ? tools.dropped.filter((t) => !warned.has(t)) : tools.dropped
  for (const t of news) warned?.add(t)
  if (news.length) logger?.warn('tools the gateway cannot run were left out of the upstream request', { model: req.model, tools: news })
  return body
}
