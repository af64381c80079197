// Messages request → Responses request: the one translation in, so a /v1/messages turn runs on the same engine as
// /v1/responses (same upstream adapters, tool normalisation, limits, store). Pure.
import { ApiError } from '../errors'
import type { CreateResponseRequest } from '../schema/responses'
import type { ContentBlockT, CountTokensRequest, CreateMessageRequest } from './schema'
import type { ThinkingSigner } from './signature'

// biome-ignore lint/suspicious/noExplicitAny: Messages request blocks are client JSON read field by field, each checked where read
type Json = Record<string, any>
type Item = Record<string, unknown>

export interface TranslateOptions {
  /** the upstream model that serves this request (messages/models.ts) */
  model: string
  signer: ThinkingSigner
  store: boolean
}

/** The Responses request a Messages request runs as. 400 for content the Messages API does not define. */
export function toResponsesRequest(body: CreateMessageRequest, opts: TranslateOptions): CreateResponseRequest {
  const req: CreateResponseRequest = {
    model: opts.model,
    input: toInputItems(body.messages, opts.signer),
    store: opts.store,
    max_output_tokens: body.max_tokens,
  }
  const instructions = systemText(body.system)
  if (instructions) req.instructions = instructions
  const tools = toTools(body.tools)
  if (tools.length) {
    req.tools = tools
    if (tools.some((t) => t.type === 'web_search')) {
      // The results come back as web_search_tool_result blocks (messages/events.ts): the items must carry them.
      req.include = ['web_search_call.action.sources']
      const maxUses = (body.tools?.find((t) => t.type?.startsWith('web_search_')) as Json | undefined)?.max_uses
      if (typeof maxUses === 'number' && maxUses >= 1) req.max_tool_calls = maxUses
    }
    const choice = toToolChoice(body.tool_choice)
    if (choice !== undefined) req.tool_choice = choice
    if (body.tool_choice?.disable_parallel_tool_use === true) req.parallel_tool_calls = false
  } else if (body.tool_choice?.type === 'tool') {
    throw ApiError.badRequest(`tool_choice names the tool '${body.tool_choice.name}', but no tools were given.`, 'tool_choice')
  }
  if (body.temperature !== undefined) req.temperature = Math.min(body.temperature, 2)
  if (body.top_p !== undefined) req.top_p = body.top_p
  const extra = req as Json
  // Sampling parameters the Responses API lacks travel as extra fields: the chat adapter and vLLM read them. The
  // stop string is kept in the output (vLLM) so the gateway can tell a stop sequence from an end of turn.
  if (body.top_k !== undefined) extra.top_k = body.top_k
  if (body.stop_sequences?.length) {
    extra.stop = body.stop_sequences
    extra.include_stop_str_in_output = true
  }
  const effort = reasoningEffort(body as Json)
  if (effort) req.reasoning = { effort }
  return req
}

/** The part of a Messages request that counts as input (count_tokens), in the same translation. */
export function countTokensRequest(body: CountTokensRequest, opts: TranslateOptions): CreateResponseRequest {
  return toResponsesRequest({ ...body, max_tokens: 1 } as CreateMessageRequest, opts)
}

function systemText(system: CreateMessageRequest['system']): string {
  if (system === undefined) return ''
  if (typeof system === 'string') return system
  return system
    .map((b, i) => {
      if (b.type !== 'text' || typeof (b as Json).text !== 'string')
        throw ApiError.badRequest(`system.${i}: expected a text block.`, `system.${i}`)
      return (b as Json).text as string
    })
    .join('\n\n')
}

/** thinking (budget) or output_config.effort → reasoning effort; disabled → none asked; adaptive → the effort if given. */
function reasoningEffort(body: Json): 'low' | 'medium' | 'high' | undefined {
  const effort = body.output_config?.effort
  const fromEffort = effort === 'low' || effort === 'medium' || effort === 'high' ? effort : effort === 'max' ? 'high' : undefined
  const thinking = body.thinking
  if (thinking?.type === 'enabled') {
    const budget = typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens : 0
    return fromEffort ?? (budget < 4096 ? 'low' : budget < 16384 ? 'medium' : 'high')
  }
  if (thinking?.type === 'adaptive') return fromEffort
  return undefined
}

function toTools(tools: CreateMessageRequest['tools']): NonNullable<CreateResponseRequest['tools']> {
  const out: NonNullable<CreateResponseRequest['tools']> = []
  for (const t of tools ?? []) {
    // A deferred tool is not callable until the client loads it (Claude Code's tool search): left out. Anthropic's
    // web search server tool is the gateway's web search (run with a configured provider, left out without one);
    // other server tools (bash_…, code_execution_…) run at Anthropic, not here, and are left out.
    if (t.defer_loading === true) continue
    if (typeof t.type === 'string' && t.type.startsWith('web_search_')) {
      const domains = (t as Json).allowed_domains
      out.push({
        type: 'web_search',
        ...(Array.isArray(domains) && domains.length ? { filters: { allowed_domains: domains } } : {}),
      } as (typeof out)[number])
      continue
    }
    if (t.type !== undefined && t.type !== 'custom') continue
    const tool: Json = {
      type: 'function',
      name: t.name,
      description: t.description ?? null,
      parameters: t.input_schema ?? { type: 'object', properties: {} },
      strict: false,
    }
    out.push(tool as (typeof out)[number])
  }
  return out
}

function toToolChoice(choice: CreateMessageRequest['tool_choice']): CreateResponseRequest['tool_choice'] {
  switch (choice?.type) {
    case undefined:
      return undefined
    case 'auto':
      return 'auto'
    case 'any':
      return 'required'
    case 'none':
      return 'none'
    case 'tool':
      if (!choice.name) throw ApiError.badRequest('tool_choice of type tool needs a name.', 'tool_choice.name')
      return { type: 'function', name: choice.name } as { type: string }
  }
}

/** Messages → Responses items, in order. A user message with tool results becomes outputs then a message. */
export function toInputItems(messages: CreateMessageRequest['messages'], signer: ThinkingSigner): Item[] {
  const items: Item[] = []
  messages.forEach((m, i) => {
    const blocks: ContentBlockT[] = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : (m.content as ContentBlockT[])
    const where = `messages.${i}.content`
    if (m.role === 'system') {
      // Claude Code puts a system message among the turns: kept in place, as a developer message.
      items.push({
        type: 'message',
        role: 'developer',
        content: [{ type: 'input_text', text: blocks.map((b, j) => textOf(b, `${where}.${j}`)).join('\n\n') }],
      })
    } else if (m.role === 'user') userItems(blocks, where, items)
    else assistantItems(blocks, where, items, signer)
  })
  return items
}

function textOf(b: ContentBlockT, where: string): string {
  if (b.type !== 'text' || typeof b.text !== 'string')
    throw ApiError.badRequest(`${where}: expected a text block with a string 'text'.`, where)
  return b.text
}

function userItems(blocks: ContentBlockT[], where: string, items: Item[]) {
  let parts: Item[] = []
  const flush = () => {
    if (parts.length) items.push({ type: 'message', role: 'user', content: parts })
    parts = []
  }
  blocks.forEach((b, j) => {
    const at = `${where}.${j}`
    if (b.type === 'tool_result') {
      flush()
      if (typeof b.tool_use_id !== 'string' || !b.tool_use_id)
        throw ApiError.badRequest(`${at}: a tool_result needs its tool_use_id.`, `${at}.tool_use_id`)
      items.push({ type: 'function_call_output', call_id: b.tool_use_id, output: toolResultOutput(b, at) })
    } else parts.push(userPart(b, at))
  })
  flush()
}

/** A tool result as the output of its call: text (an error says so first), or parts when it carries images. */
function toolResultOutput(b: ContentBlockT, at: string): string | Item[] {
  const prefix = b.is_error === true ? 'Error: ' : ''
  const c = b.content
  if (c === undefined || c === null) return prefix
  if (typeof c === 'string') return prefix + c
  if (!Array.isArray(c)) throw ApiError.badRequest(`${at}.content: expected a string or a list of blocks.`, `${at}.content`)
  const parts = c.map((p: ContentBlockT, k: number) => userPart(p, `${at}.content.${k}`))
  if (parts.every((p) => p.type === 'input_text')) return prefix + parts.map((p) => p.text).join('\n')
  return prefix ? [{ type: 'input_text', text: prefix.trim() }, ...parts] : parts
}

function userPart(b: ContentBlockT, at: string): Item {
  switch (b.type) {
    case 'text':
      return { type: 'input_text', text: textOf(b, at) }
    case 'image': {
      const src = b.source as Json | undefined
      if (src?.type === 'base64' && typeof src.data === 'string' && typeof src.media_type === 'string')
        return { type: 'input_image', image_url: `data:${src.media_type};base64,${src.data}`, detail: 'auto' }
      if (src?.type === 'url' && typeof src.url === 'string') return { type: 'input_image', image_url: src.url, detail: 'auto' }
      throw ApiError.badRequest(`${at}.source: an image needs a base64 source (media_type, data) or a url source.`, `${at}.source`)
    }
    case 'document': {
      const src = b.source as Json | undefined
      if (src?.type === 'text' && typeof src.data === 'string') return { type: 'input_text', text: src.data }
      if (src?.type === 'base64' && typeof src.data === 'string')
        return {
          type: 'input_file',
          file_data: `data:${src.media_type ?? 'application/pdf'};base64,${src.data}`,
          filename: String(b.title ?? 'document'),
        }
      throw ApiError.badRequest(`${at}.source: a document needs a text or base64 source.`, `${at}.source`)
    }
    case 'tool_use':
    case 'thinking':
    case 'redacted_thinking':
      throw ApiError.badRequest(`${at}: a ${b.type} block belongs in an assistant message.`, at)
    default:
      throw ApiError.badRequest(`${at}: unsupported content block type '${b.type}'.`, `${at}.type`)
  }
}

function assistantItems(blocks: ContentBlockT[], where: string, items: Item[], signer: ThinkingSigner) {
  let text: Item[] = []
  /** web searches announced by a server_tool_use block, waiting for their web_search_tool_result */
  const searches = new Map<string, string>()
  const flush = () => {
    if (text.length) items.push({ type: 'message', role: 'assistant', content: text })
    text = []
  }
  blocks.forEach((b, j) => {
    const at = `${where}.${j}`
    switch (b.type) {
      case 'text':
        text.push({ type: 'output_text', text: textOf(b, at), annotations: [] })
        return
      case 'tool_use':
        flush()
        if (typeof b.id !== 'string' || typeof b.name !== 'string')
          throw ApiError.badRequest(`${at}: a tool_use needs an id and a name.`, at)
        items.push({ type: 'function_call', call_id: b.id, name: b.name, arguments: JSON.stringify(b.input ?? {}) })
        return
      case 'thinking': {
        flush()
        // Only our own signatures carry reasoning back to the model; another's (or none) is dropped, not trusted.
        const reasoning = typeof b.signature === 'string' ? signer.open(b.signature) : null
        if (reasoning) items.push({ type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: reasoning }] })
        return
      }
      case 'redacted_thinking':
        // Opaque data from elsewhere: nothing the upstream could read.
        return
      case 'server_tool_use':
        // A web search the gateway ran (or Anthropic did): it becomes a web_search_call with its result, below.
        flush()
        if (b.name === 'web_search' && typeof b.id === 'string') searches.set(b.id, String((b.input as Json | undefined)?.query ?? ''))
        return
      case 'web_search_tool_result': {
        const query = typeof b.tool_use_id === 'string' ? searches.get(b.tool_use_id) : undefined
        if (query === undefined) return
        items.push(webSearchItem(query, b.content, signer))
        return
      }
      default:
        throw ApiError.badRequest(`${at}: unsupported content block type '${b.type}' in an assistant message.`, `${at}.type`)
    }
  })
  flush()
}

/**
 * A web_search_tool_result block (with the query of its server_tool_use) as the web_search_call item it stands for.
 * A result's snippet rides in its encrypted_content, sealed by this gateway (messages/events.ts); another's opens to
 * nothing, and the result keeps its title and URL.
 */
function webSearchItem(query: string, content: unknown, signer: ThinkingSigner): Item {
  if (!Array.isArray(content)) return { type: 'web_search_call', status: 'failed', action: { type: 'search', query } }
  const sources = (content as Json[])
    .filter((r) => r?.type === 'web_search_result' && typeof r.url === 'string')
    .map((r) => {
      const snippet = typeof r.encrypted_content === 'string' ? signer.open(r.encrypted_content) : null
      return { type: 'url', url: r.url, title: typeof r.title === 'string' ? r.title : '', ...(snippet !== null ? { snippet } : {}) }
    })
  return { type: 'web_search_call', status: 'completed', action: { type: 'search', query, sources } }
}
