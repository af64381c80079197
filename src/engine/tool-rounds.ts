// The gateway-run tools of a turn (MCP servers, web search): resolved when the turn starts (400s before anything is
// stored), their tools listed once per server per chain (`mcp_list_tools` items), and the calls the model makes run
// between model rounds — concurrently within a round, each bounded by --tool-call-timeout-ms and stopped with the
// turn — with the events OpenAI sends for them. running-turn.ts drives the rounds; this runs what happens between.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { Logger } from '../log'
// The SDK-free parts of the MCP service: the engine loads the MCP SDK only through deps.mcp (gateway.ts).
import { toolAllowed } from '../mcp/policy'
import { McpError, type McpServers, type McpToolInfo } from '../mcp/types'
import type { ResponseEvent } from '../schema/events'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody } from '../store/types'
import { GatewayTools, type McpServerPlan, searchLimit, type WebSearchPlan } from '../tools/gateway'
import { checkMcpDeclaration, checkWebSearchDeclaration } from '../tools/gateway-declarations'
import type { ToolRegistry } from '../tools/registry'
import { formatSearchResults, normalizeDomain, WebSearchError, type WebSearchProvider, type WebSearchSource } from '../websearch'
import type { EventNormaliser } from './normalise'

export interface ToolBounds {
  /** rounds of gateway-run calls one turn may make (--max-tool-rounds) */
  maxRounds: number
  /** ms one call may take (--tool-call-timeout-ms) */
  callTimeoutMs: number
  /** calls of one round running at once (--tool-call-concurrency) */
  concurrency: number
  /** bytes of one MCP call's output or error kept (--max-tool-output-bytes) */
  maxOutputBytes: number
}

export const DEFAULT_TOOL_BOUNDS: ToolBounds = { maxRounds: 10, callTimeoutMs: 60_000, concurrency: 4, maxOutputBytes: 100_000 }

/**
 * A tool's text cut to `maxBytes` of UTF-8 (at a character boundary), with a note saying so: what the model gets and
 * the item keeps. A server that answers megabytes would otherwise fill the model's context and the store.
 */
export function capToolOutput(text: string, maxBytes: number): string {
  // Fewer characters than the bound cannot be more bytes than 3× (no UTF-16 unit encodes to more than 3 bytes).
  if (text.length * 3 <= maxBytes) return text
  const bytes = new TextEncoder().encode(text)
  if (bytes.length <= maxBytes) return text
  let cut = maxBytes
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--
  const kept = new TextDecoder().decode(bytes.subarray(0, cut))
  return `${kept}\n[… cut: the tool's output was ${bytes.length} bytes; --max-tool-output-bytes keeps ${maxBytes}]`
}

/** What the turn runs its tools with (EngineDeps). */
export interface ToolDeps {
  mcp?: McpServers
  webSearch?: WebSearchProvider | null
  toolBounds?: ToolBounds
  ids: IdSource
  logger: Logger
}

/**
 * The gateway-run tools a request declares, with their servers resolved (McpServers.resolve: 400 for a server
 * outside --mcp-allowed-hosts or an unknown label). Null when the turn has none: it runs as one model call. Web search
 * without a provider and MCP without the service are left out (the upstream request logs them once).
 */
export function planGatewayTools(req: CreateResponseRequest, deps: ToolDeps, registry: ToolRegistry): GatewayTools | null {
  const servers = new Map<string, McpServerPlan>()
  let webSearch: WebSearchPlan | null = null
  const tools = Array.isArray(req.tools) ? (req.tools as Record<string, unknown>[]) : []
  tools.forEach((tool, i) => {
    const type = String(tool?.type ?? '')
    if (type === 'mcp') {
      if (!deps.mcp) throw mcpNotConfigured(tool, `tools.${i}`)
      checkMcpDeclaration(tool, `tools.${i}`)
      const label = typeof tool.server_label === 'string' ? tool.server_label : ''
      if (!label)
        throw ApiError.badRequest(
          `Missing required parameter: 'tools.${i}.server_label'.`,
          `tools.${i}.server_label`,
          'missing_required_parameter',
        )
      if (servers.has(label))
        throw ApiError.badRequest(
          `Duplicate server_label '${label}' in tools.${i}: every MCP server of a request needs its own label.`,
          `tools.${i}.server_label`,
          'duplicate_tool_name',
        )
      const server = deps.mcp.resolve(tool, `tools.${i}`)
      servers.set(label, { label, server, allowedTools: tool.allowed_tools, requireApproval: tool.require_approval, tools: null })
    } else if (type.startsWith('web_search') && deps.webSearch && !webSearch) {
      checkWebSearchDeclaration(tool, `tools.${i}`)
      const domains = allowedDomains(tool.filters, `tools.${i}.filters.allowed_domains`)
      webSearch = { type, allowedDomains: domains?.length ? domains : undefined, limit: searchLimit(tool.search_context_size) }
    }
  })
  const choice = req.tool_choice as Record<string, unknown> | null | undefined
  if (choice && typeof choice === 'object' && choice.type === 'mcp' && !servers.has(String(choice.server_label ?? '')))
    throw ApiError.badRequest(
      `Invalid value for 'tool_choice': no MCP server labelled '${String(choice.server_label ?? '')}' is declared in tools.`,
      'tool_choice.server_label',
      'unknown_tool',
    )
  if (!servers.size && !webSearch) return null
  return new GatewayTools(new Set(registry.tools.map((t) => t.upstreamName)), servers, webSearch)
}

/**
 * An MCP tool on a gateway with no MCP server configured and no host allowed (its MCP client is not even loaded):
 * refused as the service would refuse it — a request-declared server is outside the (empty) allowlist, a label names
 * no configured server.
 */
function mcpNotConfigured(tool: Record<string, unknown>, param: string): ApiError {
  if (tool.server_url !== undefined && tool.server_url !== null)
    return new ApiError(
      400,
      'MCP servers declared in requests are not allowed on this gateway: --mcp-allowed-hosts is empty.',
      'invalid_request_error',
      'mcp_server_not_allowed',
      `${param}.server_url`,
    )
  return new ApiError(
    400,
    `No MCP server "${String(tool.server_label ?? '')}" is configured on this gateway: give server_url, or add [mcp_servers.LABEL] to its config file.`,
    'invalid_request_error',
    'unknown_mcp_server',
    `${param}.server_label`,
  )
}

/** A web search tool's filters.allowed_domains, each a host name (400 naming the one that is not). */
function allowedDomains(filters: unknown, param: string): string[] | undefined {
  const list = (filters as { allowed_domains?: unknown } | null | undefined)?.allowed_domains
  if (list === undefined || list === null) return undefined
  if (!Array.isArray(list)) throw ApiError.badRequest(`Invalid value for '${param}': expected a list of domains.`, param)
  list.forEach((d, j) => {
    if (typeof d !== 'string' || normalizeDomain(d) === null)
      throw ApiError.badRequest(`Invalid value for '${param}.${j}': '${String(d)}' is not a domain name.`, `${param}.${j}`)
  })
  return list as string[]
}

/** An approval answered in the request's input: the request it answers, and the answer. */
export interface Approval {
  request: ItemBody
  approve: boolean
}

/**
 * The `mcp_approval_response` items of the input, each with the `mcp_approval_request` it answers (in the history or
 * the input itself): 400 for an id that names none. Answers to a request already answered (its call ran, or an
 * earlier answer in the chain denied it) are left out.
 */
export function approvalsIn(history: ItemBody[], input: ItemBody[]): Approval[] {
  // No answers in the input (most turns): nothing to look up in the history, however long.
  if (!input.some((i) => i.type === 'mcp_approval_response')) return []
  const requests = new Map<string, ItemBody>()
  const ran = new Set<string>()
  for (const item of [...history, ...input]) {
    if (item.type === 'mcp_approval_request') requests.set(item.id, item)
    if (item.type === 'mcp_call' && typeof item.approval_request_id === 'string') ran.add(item.approval_request_id)
  }
  // A request answered earlier in the chain (denied: the model was told so) keeps that answer: a later one is ignored.
  for (const item of history)
    if (item.type === 'mcp_approval_response' && typeof item.approval_request_id === 'string') ran.add(item.approval_request_id)
  const out: Approval[] = []
  input.forEach((item, i) => {
    if (item.type !== 'mcp_approval_response') return
    const id = String(item.approval_request_id ?? '')
    const request = requests.get(id)
    if (!request)
      throw ApiError.badRequest(
        `Invalid value for 'input.${i}.approval_request_id': no mcp_approval_request with id '${id}' in this response's history or input.`,
        `input.${i}.approval_request_id`,
        'unknown_approval_request',
      )
    if (ran.has(id)) return
    ran.add(id)
    out.push({ request, approve: item.approve === true })
  })
  return out
}

/** A call of this turn waiting to run: its output index and its item as the model made it. */
export interface HeldCall {
  index: number
  item: ItemBody
}

type CallResult = { ok: true; output: string; sources?: WebSearchSource[] } | { ok: false; error: string }

/** Runs the gateway's side of one turn's tools: lists, calls, and their events (numbered by the turn's normaliser). */
export class ToolRunner {
  /** gateway-run calls this turn has run (max_tool_calls counts them) */
  callsRun = 0
  /** rounds of calls this turn has run (--max-tool-rounds counts them) */
  rounds = 0
  readonly bounds: ToolBounds

  constructor(
    private readonly deps: ToolDeps,
    readonly gateway: GatewayTools,
    private readonly req: CreateResponseRequest,
    private readonly signal: AbortSignal,
  ) {
    this.bounds = deps.toolBounds ?? DEFAULT_TOOL_BOUNDS
  }

  /** Whether the model may still be offered the gateway's tools (max_tool_calls not reached). */
  get offered(): boolean {
    return this.req.max_tool_calls == null || this.callsRun < this.req.max_tool_calls
  }

  /**
   * The tools of every MCP server: from an earlier `mcp_list_tools` of the chain (history or input) when there is one
   * without error, else listed now (tools/list) as a new `mcp_list_tools` item. A server that cannot be listed gives
   * an item with `error`, and the turn goes on without its tools.
   */
  async *listTools(norm: EventNormaliser, known: ItemBody[]): AsyncGenerator<ResponseEvent> {
    const toList: { plan: McpServerPlan; index: number; item: ItemBody; listed: Promise<McpToolInfo[]> }[] = []
    for (const plan of this.gateway.servers.values()) {
      const stored = known.findLast((i) => i.type === 'mcp_list_tools' && i.server_label === plan.label && !i.error)
      if (stored) {
        // (Lists stored before input lists were checked may hold anything: only tools are kept.)
        const listed = Array.isArray(stored.tools) ? (stored.tools as unknown[]).filter(isToolInfo) : []
        plan.tools = listed.filter((t) => toolAllowed(plan.allowedTools, t))
        continue
      }
      const item: ItemBody = { id: this.deps.ids('mcpl'), type: 'mcp_list_tools', server_label: plan.label, tools: [], error: null }
      const { index, events } = norm.openOwnItem(item)
      yield* events
      yield norm.itemEventAt(index, 'response.mcp_list_tools.in_progress')
      const listed = this.deps.mcp!.listTools(plan.server, { signal: this.signal })
      // Awaited in order below; a failure is read there, never left unhandled.
      listed.catch(() => {})
      toList.push({ plan, index, item, listed })
    }
    for (const { plan, index, item, listed } of toList) {
      try {
        plan.tools = (await listed).filter((t) => toolAllowed(plan.allowedTools, t))
        yield norm.itemEventAt(index, 'response.mcp_list_tools.completed')
        yield norm.finishItemAt(index, { ...item, tools: plan.tools })
      } catch (e) {
        const error = safeMessage(e, `The tools of the MCP server '${plan.label}' could not be listed.`)
        this.deps.logger.warn('could not list the tools of an MCP server; the turn goes on without them', {
          server_label: plan.label,
          where: plan.server.where,
          error,
        })
        plan.tools = []
        yield norm.itemEventAt(index, 'response.mcp_list_tools.failed')
        yield norm.finishItemAt(index, { ...item, error })
      }
    }
    this.gateway.name()
  }

  /** Approved calls run now (as `mcp_call` items naming their approval request); denied ones need nothing here. */
  async *runApproved(norm: EventNormaliser, approvals: Approval[]): AsyncGenerator<ResponseEvent> {
    const held: HeldCall[] = []
    for (const { request, approve } of approvals) {
      if (!approve) continue
      const item: ItemBody = {
        id: this.deps.ids('mcp'),
        type: 'mcp_call',
        server_label: request.server_label,
        name: request.name,
        arguments: String(request.arguments ?? ''),
        output: null,
        error: null,
        approval_request_id: request.id,
        status: 'in_progress',
      }
      const { index, events } = norm.openOwnItem(item)
      yield* events
      held.push({ index, item })
    }
    if (held.length) yield* this.runCalls(norm, held)
  }

  /**
   * Runs the calls of a round, at most --tool-call-concurrency at once, announcing each as it starts and as it ends
   * (in the order they end). Calls past the request's max_tool_calls are not run: they fail, and the model is told.
   */
  async *runCalls(norm: EventNormaliser, held: HeldCall[]): AsyncGenerator<ResponseEvent> {
    const max = this.req.max_tool_calls
    const room = max == null ? held.length : Math.max(0, max - this.callsRun)
    for (const call of held.slice(room))
      yield* this.finish(norm, call, { ok: false, error: `This call was not run: the response reached max_tool_calls (${max}).` })
    const queue = held.slice(0, room)
    this.callsRun += queue.length
    const running = new Map<number, Promise<{ call: HeldCall; result: CallResult }>>()
    while (queue.length || running.size) {
      while (queue.length && running.size < this.bounds.concurrency) {
        const call = queue.shift()!
        yield norm.itemEventAt(
          call.index,
          call.item.type === 'web_search_call' ? 'response.web_search_call.searching' : 'response.mcp_call.in_progress',
        )
        running.set(
          call.index,
          this.run(call.item).then((result) => ({ call, result })),
        )
      }
      const { call, result } = await Promise.race(running.values())
      running.delete(call.index)
      yield* this.finish(norm, call, result)
    }
  }

  /** The calls of a round the turn will not run (it reached --max-tool-rounds): failed, with why. */
  async *notRun(norm: EventNormaliser, held: HeldCall[], why: string): AsyncGenerator<ResponseEvent> {
    for (const call of held) yield* this.finish(norm, call, { ok: false, error: why })
  }

  /** A call's end: its completed/failed event and its finished item; the text the model gets is kept with the item. */
  private *finish(norm: EventNormaliser, call: HeldCall, result: CallResult): Generator<ResponseEvent> {
    const { index, item } = call
    if (item.type === 'web_search_call') {
      const action = { ...(item.action as Record<string, unknown>) }
      const query = String(action.query ?? '')
      // Kept with the item whatever the request's include (engine/search-sources.ts shows them only when it asks), the
      // snippets too: a later turn of the chain gives the model the results exactly as it saw them (tools/history.ts).
      if (result.ok) action.sources = (result.sources ?? []).map((s) => ({ type: 'url', url: s.url, title: s.title, snippet: s.snippet }))
      this.gateway.keepSearchOutput(item.id, result.ok ? result.output : `The web search for "${query}" failed: ${result.error}`)
      if (result.ok) yield norm.itemEventAt(index, 'response.web_search_call.completed')
      yield norm.finishItemAt(index, { ...item, status: result.ok ? 'completed' : 'failed', action })
      return
    }
    yield norm.itemEventAt(index, result.ok ? 'response.mcp_call.completed' : 'response.mcp_call.failed')
    yield norm.finishItemAt(index, {
      ...item,
      output: result.ok ? result.output : null,
      error: result.ok ? null : result.error,
      status: result.ok ? 'completed' : 'failed',
    })
  }

  /** Runs one call, bounded by --tool-call-timeout-ms and stopped with the turn. Never throws. */
  private async run(item: ItemBody): Promise<CallResult> {
    const ms = this.bounds.callTimeoutMs
    const timeout = AbortSignal.timeout(ms)
    const signal = AbortSignal.any([this.signal, timeout])
    const started = performance.now()
    let result: CallResult
    try {
      const work = item.type === 'web_search_call' ? this.search(item, signal, ms) : this.callMcp(item, signal, ms)
      // Whatever the service does with the signal, the call ends when it fires.
      const stopped = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason)
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
      })
      stopped.catch(() => {})
      result = await Promise.race([work, stopped])
    } catch (e) {
      if (timeout.aborted) result = { ok: false, error: `The call timed out after ${ms} ms.` }
      else if (this.signal.aborted) result = { ok: false, error: 'The call was stopped: the response ended before it finished.' }
      else result = { ok: false, error: safeMessage(e, 'The call failed.') }
    }
    // A service that gave up on its own timeout is worded as ours when ours has passed too.
    if (!result.ok && timeout.aborted && !this.signal.aborted) result = { ok: false, error: `The call timed out after ${ms} ms.` }
    this.deps.logger.debug('gateway tool call', {
      tool: item.type === 'web_search_call' ? 'web_search' : `${String(item.server_label)}.${String(item.name)}`,
      ok: result.ok,
      ms: Math.round(performance.now() - started),
    })
    return result
  }

  private async search(item: ItemBody, signal: AbortSignal, timeoutMs: number): Promise<CallResult> {
    const plan = this.gateway.webSearch
    const query = String((item.action as { query?: unknown } | undefined)?.query ?? '')
    if (!plan || !this.deps.webSearch) return { ok: false, error: 'Web search is not available in this response.' }
    if (!query.trim()) return { ok: false, error: 'The search was called without a query: pass {"query": "…"}.' }
    const sources = await this.deps.webSearch.search(query, { allowedDomains: plan.allowedDomains, limit: plan.limit, signal, timeoutMs })
    return { ok: true, output: formatSearchResults(query, sources), sources }
  }

  private async callMcp(item: ItemBody, signal: AbortSignal, timeoutMs: number): Promise<CallResult> {
    const label = String(item.server_label)
    const plan = this.gateway.servers.get(label)
    if (!plan || !this.deps.mcp) return { ok: false, error: `The MCP server '${label}' is not declared in this request's tools.` }
    let args: unknown
    try {
      args = JSON.parse(String(item.arguments || '{}'))
    } catch {
      return { ok: false, error: 'The arguments are not valid JSON.' }
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) return { ok: false, error: 'The arguments must be a JSON object.' }
    const r = await this.deps.mcp.callTool(plan.server, String(item.name), args as Record<string, unknown>, { signal, timeoutMs })
    const max = this.bounds.maxOutputBytes
    return r.ok ? { ok: true, output: capToolOutput(r.output, max) } : { ok: false, error: capToolOutput(r.error, max) }
  }
}

function isToolInfo(t: unknown): t is McpToolInfo {
  return typeof t === 'object' && t !== null && typeof (t as { name?: unknown }).name === 'string'
}

/** The services' errors are worded for the client (McpError, WebSearchError); anything else is not shown. */
function safeMessage(e: unknown, fallback: string): string {
  return (e instanceof McpError || e instanceof WebSearchError) && e.message ? e.message : fallback
}
