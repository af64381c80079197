// The Chat Completions request for a stateless Responses request (the chat adapter's request half, upstream/chat.ts):
// instructions and input items become chat messages, tools plain functions, and the fields chat expresses
// differently are translated. Pure functions.
// biome-ignore lint/suspicious/noExplicitAny: Chat Completions requests and chunks are untyped wire JSON; each field is checked (str, Array.isArray, ??) where it is read
type Json = Record<string, any>
type ChatMessage = { role: string; content: unknown; [key: string]: unknown }

/** Responses request fields the chat request expresses differently (or not at all). */
const TRANSLATED = new Set([
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'text',
  'reasoning',
  'include',
  'truncation',
  'max_output_tokens',
  'max_tool_calls',
  'store',
  'stream',
  'stream_options',
  'prompt_cache_key',
  'prompt_cache_retention',
  'safety_identifier',
  'service_tier',
  'top_logprobs',
  'background',
  'previous_response_id',
  'conversation',
  'metadata',
  'prompt',
  'generate',
  'client_metadata',
])

/** The chat completions request for a stateless Responses request (tools already plain functions). Pure. */
export function toChatRequest(body: Json): Json {
  const out: Json = {}
  for (const [k, v] of Object.entries(body)) if (!TRANSLATED.has(k) && v !== undefined) out[k] = v
  out.messages = toChatMessages(body.instructions, body.input)
  // max_tokens, not max_completion_tokens: it is the one every chat server understands.
  if (typeof body.max_output_tokens === 'number') out.max_tokens = body.max_output_tokens
  if (out.user === undefined && typeof body.safety_identifier === 'string') out.user = body.safety_identifier
  const format = body.text?.format
  if (format?.type === 'json_schema') {
    const js: Json = { name: format.name ?? 'response', schema: format.schema ?? {} }
    if (typeof format.strict === 'boolean') js.strict = format.strict
    if (typeof format.description === 'string') js.description = format.description
    out.response_format = { type: 'json_schema', json_schema: js }
  } else if (format?.type === 'json_object') out.response_format = { type: 'json_object' }
  if (typeof body.reasoning?.effort === 'string') out.reasoning_effort = body.reasoning.effort
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]).filter((t) => t?.type === 'function') : []
  if (tools.length) {
    out.tools = tools.map(toChatTool)
    if (body.tool_choice !== undefined && body.tool_choice !== null) out.tool_choice = toChatToolChoice(body.tool_choice)
    if (typeof body.parallel_tool_calls === 'boolean') out.parallel_tool_calls = body.parallel_tool_calls
  }
  out.stream = true
  out.stream_options = { include_usage: true }
  return out
}

function toChatTool(t: Json): Json {
  const fn: Json = { name: t.name }
  if (typeof t.description === 'string') fn.description = t.description
  fn.parameters = t.parameters ?? { type: 'object', properties: {} }
  if (typeof t.strict === 'boolean') fn.strict = t.strict
  return { type: 'function', function: fn }
}

function toChatToolChoice(c: unknown): unknown {
  if (typeof c === 'string') return c
  const o = c as Json
  if (o?.type === 'function' && typeof o.name === 'string') return { type: 'function', function: { name: o.name } }
  return 'auto'
}

/**
 * Responses items → chat messages. Developer messages become system messages (the leading ones merged
 * into one: many chat templates accept a system message only first); a function call joins the
 * assistant message before it (consecutive calls share one message); a reasoning item rides on the
 * next assistant message as `reasoning_content`, the field reasoning templates read.
 */
export function toChatMessages(instructions: unknown, input: unknown): ChatMessage[] {
  const msgs: ChatMessage[] = []
  let items: Json[] = Array.isArray(input) ? input : typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : []
  if (typeof instructions === 'string' && instructions) msgs.push({ role: 'system', content: instructions })
  else if (Array.isArray(instructions)) items = [...instructions, ...items]
  let reasoning: string | null = null
  // The assistant message a following function call may join: only right after it, with no reasoning between.
  let joinable: ChatMessage | null = null
  const assistant = (content: unknown): ChatMessage => {
    const m: ChatMessage = { role: 'assistant', content }
    if (reasoning) m.reasoning_content = reasoning
    reasoning = null
    msgs.push(m)
    return m
  }
  for (const item of items) {
    const type = item?.type ?? (typeof item?.role === 'string' ? 'message' : '')
    if (type === 'message') {
      if (item.role === 'assistant') joinable = assistant(contentText(item.content, ''))
      else {
        reasoning = null
        joinable = null
        msgs.push({ role: item.role === 'developer' ? 'system' : String(item.role), content: chatContent(item.content) })
      }
    } else if (type === 'function_call') {
      const m: ChatMessage = joinable ?? assistant(null)
      joinable = m
      const calls = (m.tool_calls as Json[] | undefined) ?? (m.tool_calls = [])
      calls.push({
        id: item.call_id,
        type: 'function',
        function: {
          name: item.name,
          arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {}),
        },
      })
    } else if (type === 'function_call_output') {
      joinable = null
      msgs.push({ role: 'tool', tool_call_id: item.call_id, content: contentText(item.output, '\n') })
    } else if (type === 'reasoning') {
      const text = reasoningText(item)
      if (text) reasoning = reasoning ? `${reasoning}\n${text}` : text
      joinable = null
    }
    // Anything else has no chat form and is left out.
  }
  // Merge the leading system messages.
  let n = 0
  while (n < msgs.length && msgs[n]!.role === 'system' && typeof msgs[n]!.content === 'string') n++
  if (n > 1)
    msgs.splice(0, n, {
      role: 'system',
      content: msgs
        .slice(0, n)
        .map((m) => m.content)
        .join('\n\n'),
    })
  return msgs
}

function reasoningText(item: Json): string {
  const parts = Array.isArray(item.content) && item.content.length ? item.content : Array.isArray(item.summary) ? item.summary : []
  return parts.map((p: Json) => (typeof p?.text === 'string' ? p.text : '')).join('\n')
}

/** Message content as the chat API takes it: a string, or parts when there are images. */
function chatContent(content: unknown): unknown {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  if (!content.some((p: Json) => p?.type === 'input_image')) return contentText(content, '\n')
  return content.flatMap((p: Json): Json[] => {
    // An image by file id has no chat form (the gateway has no files API): left out.
    if (p?.type === 'input_image')
      return typeof p.image_url === 'string'
        ? [{ type: 'image_url', image_url: { url: p.image_url, ...(p.detail ? { detail: p.detail } : {}) } }]
        : []
    const text = partText(p)
    return text === null ? [] : [{ type: 'text', text }]
  })
}

function contentText(content: unknown, sep: string): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content === null || content === undefined ? '' : JSON.stringify(content)
  return content
    .map(partText)
    .filter((t): t is string => t !== null)
    .join(sep)
}

function partText(p: Json): string | null {
  if (typeof p?.text === 'string') return p.text
  if (typeof p?.refusal === 'string') return p.refusal
  return null
}
