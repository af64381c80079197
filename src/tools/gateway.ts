// The tools the gateway runs itself in one turn — the MCP servers a request declares and its web search — and the
// function tool each becomes for the model, named so that no client tool can collide with it. Pure: the servers are
// resolved at turn start and listed by the engine (engine/tool-rounds.ts); this only holds and names what they gave.
import type { McpServer, McpToolInfo } from '../mcp'
import type { FunctionTool } from './shapes'

export interface McpServerPlan {
  readonly label: string
  readonly server: McpServer
  /** the declaration's allowed_tools and require_approval (its headers and authorization stay with the MCP service) */
  readonly allowedTools: unknown
  readonly requireApproval: unknown
  /** the tools offered to the model (allowed_tools applied): listed this turn or taken from the chain; null until known */
  tools: McpToolInfo[] | null
}

export interface WebSearchPlan {
  /** the declared tool's type (web_search, web_search_preview, a dated variant) */
  readonly type: string
  /** filters.allowed_domains */
  readonly allowedDomains: string[] | undefined
  /** results per search, from search_context_size */
  readonly limit: number
}

export type GatewayTool =
  | { kind: 'web_search'; upstreamName: string }
  | { kind: 'mcp'; upstreamName: string; server: McpServerPlan; tool: McpToolInfo }

/** How stored gateway items are named for the model (tools/history.ts): the current turn's names, or the defaults. */
export interface GatewayNames {
  mcpFunctionName(label: string, tool: string): string
  readonly webSearchName: string
  /** the text the model was given for a web search of this turn (by item id); stored items keep only the sources */
  searchOutput(itemId: string): string | undefined
}

/** The function a model calls to search the web; its output is formatSearchResults' text. */
const WEB_SEARCH_NAME = 'web_search'
const MAX_NAME = 64

/** The default (and preferred) function name of an MCP tool: `mcp__LABEL__TOOL`, within the function-name alphabet. */
export function mcpFunctionName(label: string, tool: string): string {
  const name = `mcp__${label}__${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_')
  if (name.length <= MAX_NAME) return name
  // Too long: a prefix and a hash of the whole, so two long names stay apart.
  const hash = new Bun.CryptoHasher('sha256').update(name).digest('hex').slice(0, 8)
  return `${name.slice(0, MAX_NAME - 9)}_${hash}`
}

export const DEFAULT_GATEWAY_NAMES: GatewayNames = {
  mcpFunctionName,
  webSearchName: WEB_SEARCH_NAME,
  searchOutput: () => undefined,
}

export class GatewayTools implements GatewayNames {
  private readonly byName = new Map<string, GatewayTool>()
  private readonly byMcpTool = new Map<string, string>()
  private readonly outputs = new Map<string, string>()
  webSearchName = WEB_SEARCH_NAME

  constructor(
    /** the function names the client's own tools take (the registry's upstream names): never reused */
    private readonly clientNames: ReadonlySet<string>,
    readonly servers: ReadonlyMap<string, McpServerPlan>,
    readonly webSearch: WebSearchPlan | null,
  ) {
    this.name()
  }

  /** Names every tool again once the servers' tools are known (engine/tool-rounds.ts lists them). */
  name(): void {
    this.byName.clear()
    this.byMcpTool.clear()
    const taken = new Set(this.clientNames)
    const unique = (preferred: string) => {
      let name = preferred
      for (let n = 2; taken.has(name); n++) name = `${preferred.slice(0, MAX_NAME - String(n).length - 1)}_${n}`
      taken.add(name)
      return name
    }
    if (this.webSearch) {
      this.webSearchName = unique(WEB_SEARCH_NAME)
      this.byName.set(this.webSearchName, { kind: 'web_search', upstreamName: this.webSearchName })
    }
    for (const server of this.servers.values())
      for (const tool of server.tools ?? []) {
        const upstreamName = unique(mcpFunctionName(server.label, tool.name))
        this.byName.set(upstreamName, { kind: 'mcp', upstreamName, server, tool })
        this.byMcpTool.set(`${server.label}\u0000${tool.name}`, upstreamName)
      }
  }

  byUpstreamName(name: string): GatewayTool | undefined {
    return this.byName.get(name)
  }

  mcpFunctionName(label: string, tool: string): string {
    return this.byMcpTool.get(`${label}\u0000${tool}`) ?? mcpFunctionName(label, tool)
  }

  searchOutput(itemId: string): string | undefined {
    return this.outputs.get(itemId)
  }

  /** Keeps what the model was told for a web search of this turn, for the rounds after it. */
  keepSearchOutput(itemId: string, text: string): void {
    this.outputs.set(itemId, text)
  }

  /** The function tools the model gets for them, in declaration order. */
  upstreamTools(): FunctionTool[] {
    const out: FunctionTool[] = []
    for (const t of this.byName.values()) out.push(t.kind === 'web_search' ? webSearchFunction(t.upstreamName) : mcpFunction(t))
    return out
  }

  /**
   * The tool_choice of the first model round when it names a gateway tool: `{type:"mcp", server_label, name?}` →
   * that tool's function (or any tool, without a name); a web_search choice → the search function. Undefined for
   * any other choice (the registry's mapping stands).
   */
  firstRoundChoice(choice: unknown): unknown {
    if (!choice || typeof choice !== 'object') return undefined
    const c = choice as Record<string, unknown>
    const type = String(c.type ?? '')
    if (type.startsWith('web_search')) return this.webSearch ? { type: 'function', name: this.webSearchName } : undefined
    if (type !== 'mcp') return undefined
    const server = this.servers.get(String(c.server_label ?? ''))
    if (!server?.tools?.length) return undefined
    if (typeof c.name === 'string') {
      const name = this.byMcpTool.get(`${server.label}\u0000${c.name}`)
      return name ? { type: 'function', name } : 'required'
    }
    return 'required'
  }
}

function webSearchFunction(name: string): FunctionTool {
  return {
    type: 'function',
    name,
    description:
      'Searches the web and returns the top results, numbered, each with its title, URL and a snippet. Use it for current events and facts you are unsure of; cite the URLs you use.',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'What to search for.' } },
      required: ['query'],
      additionalProperties: false,
    },
    strict: false,
  }
}

function mcpFunction(t: Extract<GatewayTool, { kind: 'mcp' }>): FunctionTool {
  const { server, tool } = t
  const about = server.server.description ? ` (${server.server.description})` : ''
  return {
    type: 'function',
    name: t.upstreamName,
    description: `${tool.description ?? tool.name}\n\nA tool of the MCP server '${server.label}'${about}.`,
    parameters: tool.input_schema && typeof tool.input_schema === 'object' ? tool.input_schema : { type: 'object', properties: {} },
    strict: false,
  }
}

/** search_context_size → results per search. */
export function searchLimit(size: unknown): number {
  return size === 'low' ? 3 : size === 'high' ? 10 : 5
}
