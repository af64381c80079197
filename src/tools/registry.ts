// The tools one request declares, keyed by name, and the function tool each becomes for the upstream
// (which only ever sees `function` tools). Built once per request from `tools` and `tool_choice`;
// pure, and the 400s for bad declarations come from here.
import { ApiError } from '../errors'
import { customToolFunction, localShellFunction, shellFunction, type FunctionTool } from './shapes'

/** How a declared tool travels: as itself (function) or dressed as a function (the rest). */
export type ToolKind = 'function' | 'custom' | 'local_shell' | 'shell'

/** A function tool in the Responses request shape, as the upstream receives it (declared in ./shapes). */
export type { FunctionTool } from './shapes'

export interface DeclaredTool {
  kind: ToolKind
  /** the name the client knows (the member's own name inside a namespace) */
  name: string
  /** the namespace the client declared it in, if any */
  namespace: string | null
  /** the function name the upstream sees */
  upstreamName: string
  /** the function tool the upstream sees */
  upstream: FunctionTool
}

export interface ToolRegistry {
  /** the client's tools that reach the upstream, in declaration order */
  readonly tools: readonly DeclaredTool[]
  /** types of the tools left out of the upstream request (hosted tools the gateway cannot run) */
  readonly dropped: readonly string[]
  /** by the name the upstream uses (a call coming back) */
  byUpstreamName(name: string): DeclaredTool | undefined
  /** by the client's name and namespace (an item in history) */
  find(name: string, namespace?: string | null): DeclaredTool | undefined
  /**
   * `tools`, `tool_choice` for the upstream request. `undefined` means "not the gateway's business":
   * the request had no `tools` (resp. no `tool_choice`), so the body keeps whatever it had.
   */
  readonly upstreamTools: FunctionTool[] | undefined
  readonly upstreamToolChoice: unknown
}

/** Tools run by OpenAI's servers; the gateway has nothing to run them with, so they are left out. */
export const HOSTED_TOOL_TYPES = new Set([
  'web_search',
  'web_search_preview',
  'web_search_2025_08_26',
  'web_search_preview_2025_03_11',
  'image_generation',
  'file_search',
  'code_interpreter',
  'computer_use_preview',
  'computer_use',
  'mcp',
  'tool_search',
])

/** Joins a namespace and a member name the way Codex flattens them (`ns__name`, stray underscores trimmed). */
export function flatName(namespace: string, name: string): string {
  return `${namespace.replace(/_+$/, '')}__${name.replace(/^_+/, '')}`
}

export function buildToolRegistry(tools: unknown, toolChoice?: unknown): ToolRegistry {
  const declared: DeclaredTool[] = []
  const dropped: string[] = []
  const byUpstream = new Map<string, DeclaredTool>()
  const byClient = new Map<string, DeclaredTool>()
  const clientKey = (ns: string | null, name: string) => (ns === null ? name : `${ns}\u0000${name}`)

  const add = (t: DeclaredTool, param: string) => {
    const key = clientKey(t.namespace, t.name)
    if (byClient.has(key) || byUpstream.has(t.upstreamName)) {
      const shown = t.namespace ? `${t.namespace}.${t.name}` : t.name
      throw ApiError.badRequest(
        `Duplicate tool name '${shown}' in ${param}: every tool needs a unique name${t.upstreamName !== t.name ? ` (it is sent to the model as '${t.upstreamName}')` : ''}.`,
        param,
        'duplicate_tool_name',
      )
    }
    byClient.set(key, t)
    byUpstream.set(t.upstreamName, t)
    declared.push(t)
  }

  const list = Array.isArray(tools) ? (tools as Record<string, unknown>[]) : []
  list.forEach((tool, i) => {
    const type = String(tool?.type ?? '')
    const param = `tools.${i}`
    switch (type) {
      case 'function':
      case 'custom': {
        const name = requireName(tool, `${param}.name`, type)
        add(declaredMember(type, tool, name, null), `${param}.name`)
        break
      }
      case 'local_shell':
        add(
          { kind: 'local_shell', name: 'local_shell', namespace: null, upstreamName: 'local_shell', upstream: localShellFunction() },
          param,
        )
        break
      case 'shell':
        add({ kind: 'shell', name: 'shell', namespace: null, upstreamName: 'shell', upstream: shellFunction() }, param)
        break
      case 'namespace': {
        const ns = requireName(tool, `${param}.name`, 'namespace')
        if (!Array.isArray(tool.tools))
          throw ApiError.badRequest(`Invalid value for '${param}.tools': a namespace tool needs a list of tools.`, `${param}.tools`)
        ;(tool.tools as Record<string, unknown>[]).forEach((member, j) => {
          const mParam = `${param}.tools.${j}`
          const mType = String(member?.type ?? '')
          if (mType !== 'function' && mType !== 'custom') {
            dropped.push(`${ns}.${mType || 'unknown'}`)
            return
          }
          const name = requireName(member, `${mParam}.name`, mType)
          add(declaredMember(mType, member, name, ns), `${mParam}.name`)
        })
        break
      }
      default:
        // Hosted tools (web_search, image_generation, …) and tool types this gateway does not know.
        dropped.push(type)
    }
  })

  const registry = {
    tools: declared,
    dropped,
    byUpstreamName: (name: string) => byUpstream.get(name),
    find(name: string, namespace: string | null = null) {
      return byClient.get(clientKey(namespace, name)) ?? (namespace ? byUpstream.get(flatName(namespace, name)) : undefined)
    },
  }
  const choice = upstreamChoice(toolChoice, registry, declared)
  let upstreamTools = Array.isArray(tools) ? declared.map((t) => t.upstream) : undefined
  if (choice.allowed && upstreamTools) upstreamTools = upstreamTools.filter((t) => choice.allowed!.has(t.name))
  let upstreamToolChoice = choice.value
  // Nothing left to call: a tool_choice would only make the upstream refuse the request.
  if (upstreamTools && upstreamTools.length === 0) upstreamToolChoice = undefined
  return { ...registry, upstreamTools, upstreamToolChoice }
}

// Memoised per request object, so start() (validation), toUpstreamRequest and the event mapping all
// share one registry without threading it through the turn.
const cache = new WeakMap<object, ToolRegistry>()

/** The registry of a request without tools or tool_choice (most turns): one for all of them, not two Maps a turn. */
const NO_TOOLS: ToolRegistry = buildToolRegistry(undefined, undefined)
Object.freeze(NO_TOOLS.tools)
Object.freeze(NO_TOOLS.dropped)

/** The registry of a create request (`tools`, `tool_choice`); throws ApiError 400 for bad declarations. */
export function toolRegistryFor(req: { tools?: unknown; tool_choice?: unknown }): ToolRegistry {
  if ((req.tools === undefined || req.tools === null) && (req.tool_choice === undefined || req.tool_choice === null)) return NO_TOOLS
  let reg = cache.get(req)
  if (!reg) {
    reg = buildToolRegistry(req.tools, req.tool_choice)
    cache.set(req, reg)
  }
  return reg
}

function requireName(tool: Record<string, unknown>, param: string, type: string): string {
  const name = tool?.name
  if (typeof name !== 'string' || name.trim() === '')
    throw ApiError.badRequest(`Invalid value for '${param}': a ${type} tool needs a non-empty name.`, param, 'empty_tool_name')
  return name
}

function declaredMember(type: 'function' | 'custom', tool: Record<string, unknown>, name: string, ns: string | null): DeclaredTool {
  const upstreamName = ns === null ? name : flatName(ns, name)
  if (type === 'custom') return { kind: 'custom', name, namespace: ns, upstreamName, upstream: customToolFunction(tool, upstreamName) }
  return { kind: 'function', name, namespace: ns, upstreamName, upstream: { ...tool, type: 'function', name: upstreamName } }
}

type ChoiceResult = { value: unknown; allowed?: Set<string> }

/** tool_choice in upstream terms: named choices point at the function the upstream knows. */
function upstreamChoice(choice: unknown, reg: Pick<ToolRegistry, 'byUpstreamName' | 'find'>, declared: DeclaredTool[]): ChoiceResult {
  if (choice === undefined || choice === null || typeof choice !== 'object') return { value: choice ?? undefined }
  const c = choice as Record<string, unknown>
  const type = String(c.type ?? '')
  if (type === 'allowed_tools') {
    const allowed = new Set<string>()
    const refs = Array.isArray(c.tools) ? (c.tools as Record<string, unknown>[]) : []
    refs.forEach((ref, i) => {
      if (ref?.type === 'namespace' && typeof ref.name === 'string') {
        for (const t of declared) if (t.namespace === ref.name) allowed.add(t.upstreamName)
        return
      }
      const t = namedTool(ref, reg, declared, `tool_choice.tools.${i}`)
      if (t) allowed.add(t.upstreamName)
    })
    const mode = c.mode === 'required' ? 'required' : 'auto'
    return { value: mode, allowed }
  }
  const t = namedTool(c, reg, declared, 'tool_choice')
  if (t) return { value: { type: 'function', name: t.upstreamName } }
  // A hosted tool (left out of the upstream request) or a choice type this gateway does not route.
  return { value: 'auto' }
}

/** The declared tool a tool_choice entry names; null for hosted ones; 400 for a name that is not declared. */
function namedTool(
  ref: Record<string, unknown>,
  reg: Pick<ToolRegistry, 'byUpstreamName' | 'find'>,
  declared: DeclaredTool[],
  param: string,
): DeclaredTool | null {
  const type = String(ref?.type ?? '')
  if (type === 'local_shell' || type === 'shell') {
    const t = reg.find(type)
    if (!t || t.kind !== type)
      throw ApiError.badRequest(`Invalid value for '${param}': the request declares no '${type}' tool.`, param, 'unknown_tool')
    return t
  }
  if (type !== 'function' && type !== 'custom') return null
  const fn = ref.function as Record<string, unknown> | undefined
  const name = typeof ref.name === 'string' ? ref.name : typeof fn?.name === 'string' ? fn.name : ''
  const ns = typeof ref.namespace === 'string' ? ref.namespace : null
  // The plain name, `ns` + name, the flattened `ns__name`, or a member name that only one namespace has.
  let t = (ns ? reg.find(name, ns) : reg.find(name)) ?? reg.byUpstreamName(name)
  if (!t && !ns) {
    const members = declared.filter((d) => d.namespace !== null && d.name === name)
    if (members.length === 1) t = members[0]
  }
  if (!t)
    throw ApiError.badRequest(
      `Invalid value for '${param}': no ${type} tool named '${ns ? `${ns}.` : ''}${name}' is declared in tools.`,
      param,
      'unknown_tool',
    )
  return t
}
