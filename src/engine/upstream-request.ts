// The stateless request the upstream gets for a turn (or a token count, or a compaction): the client's request
// without the gateway's own fields, the full input, tools as functions. Pure.
import type { Logger } from '../log'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody } from '../store/types'
import { toolRegistryFor, toUpstreamItems } from '../tools'
import type { GatewayTools } from '../tools/gateway'

/** A model round of a turn with gateway-run tools (engine/tool-rounds.ts). */
export interface GatewayRound {
  tools: GatewayTools
  /** the turn's first model call: a tool_choice that forces a call applies to it alone (later rounds would loop) */
  first: boolean
  /** false once the turn reached max_tool_calls: the model then gets the client's tools only, and answers */
  offered: boolean
}

/** Request fields that are the gateway's business and never go upstream. */
const GATEWAY_ONLY = new Set([
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
])

/**
 * The stateless request the upstream sees: full input, store:false, no chain references; tools as
 * functions and tool items as function calls (src/tools). Hosted tools are left out, with a warning the first time
 * each is seen (`warned` remembers them: Codex declares web_search on every turn, and one line says it all).
 * With `gateway`, the tools the gateway runs itself are added as functions, and their items replayed as calls.
 */
export function toUpstreamRequest(
  req: CreateResponseRequest,
  history: ItemBody[],
  input: ItemBody[],
  logger?: Logger,
  warned?: Set<string>,
  gateway?: GatewayRound,
): Record<string, unknown> {
  // The request's fields in their order, the gateway's own left out (a copy with `delete`s turned the object into a
  // slow dictionary, on every turn twice: truncation's estimate and the call). A "__proto__" field (JSON.parse makes it
  // an own field) is copied as the field it is, as a spread would, not assigned (which would set the prototype).
  const body: Record<string, unknown> = {}
  for (const k in req) {
    if (GATEWAY_ONLY.has(k)) continue
    const v = (req as Record<string, unknown>)[k]
    if (k === '__proto__') Object.defineProperty(body, k, { value: v, enumerable: true, writable: true, configurable: true })
    else body[k] = v
  }
  const tools = toolRegistryFor(req)
  if (tools.upstreamTools !== undefined) body.tools = tools.upstreamTools
  else delete body.tools // `tools: null`
  if (tools.upstreamToolChoice === undefined) delete body.tool_choice
  else body.tool_choice = tools.upstreamToolChoice
  if (gateway) withGatewayTools(body, req, gateway, tools.upstreamToolChoice)
  // (toUpstreamItems only reads the list: a round with nothing made yet sends the history itself, not a copy of it)
  body.input = toUpstreamItems(!history.length ? input : input.length ? history.concat(input) : history, tools, gateway?.tools)
  body.store = false
  const dropped = gateway ? tools.dropped.filter((t) => !runsItself(gateway.tools, t)) : tools.dropped
  const news = warned ? dropped.filter((t) => !warned.has(t)) : dropped
  for (const t of news) warned?.add(t)
  if (news.length) logger?.warn('tools the gateway cannot run were left out of the upstream request', { model: req.model, tools: news })
  return body
}

/** Whether the gateway runs the hosted tools of this type in this turn (so they are not "left out"). */
function runsItself(gateway: GatewayTools, type: string): boolean {
  if (type === 'mcp') return gateway.servers.size > 0
  return type.startsWith('web_search') && gateway.webSearch !== null
}

/** The gateway's function tools beside the client's, and the tool_choice of this round. */
function withGatewayTools(body: Record<string, unknown>, req: CreateResponseRequest, round: GatewayRound, clientChoice: unknown) {
  const tools = [...((body.tools as unknown[] | undefined) ?? []), ...(round.offered ? round.tools.upstreamTools() : [])]
  if (!tools.length) return
  body.tools = tools
  // The registry drops a choice when the client has no tools of its own; the request's mode still holds for ours.
  let choice = clientChoice ?? (typeof req.tool_choice === 'string' ? req.tool_choice : undefined)
  if (round.first) choice = (round.offered ? round.tools.firstRoundChoice(req.tool_choice) : undefined) ?? choice
  else if (choice === 'required' || (choice && typeof choice === 'object')) choice = 'auto'
  if (choice === undefined) delete body.tool_choice
  else body.tool_choice = choice
}
