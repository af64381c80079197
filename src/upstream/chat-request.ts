// The Chat Completions request for a stateless Responses request (the chat adapter's request half, upstream/chat.ts):
// instructions and input items become chat messages, tools plain functions, and the fields chat expresses
// differently are translated. Pure functions.
import { isSettled, keptBeginning, settled, settledMemo } from '../store/settled-items'

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
  const tools = chatTools(body.tools)
  if (tools) {
    out.tools = tools
    if (body.tool_choice !== undefined && body.tool_choice !== null) out.tool_choice = toChatToolChoice(body.tool_choice)
    if (typeof body.parallel_tool_calls === 'boolean') out.parallel_tool_calls = body.parallel_tool_calls
  }
  out.stream = true
  out.stream_options = { include_usage: true }
  return out
}

/** The request's function tools as chat tools; undefined when it has none. */
export function chatTools(tools: unknown): Json[] | undefined {
  const fns = Array.isArray(tools) ? (tools as Json[]).filter((t) => t?.type === 'function') : []
  return fns.length ? fns.map(toChatTool) : undefined
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
 *
 * The messages of a chain's settled beginning are kept for its next request (messageBeginnings), settled once no later
 * item can change them: a long chain's turn makes only its own messages, and requestBody's kept prefix covers the rest.
 */
export function toChatMessages(instructions: unknown, input: unknown): ChatMessage[] {
  let items: Json[] = Array.isArray(input) ? input : typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : []
  const system = typeof instructions === 'string' && instructions ? { role: 'system', content: instructions } : null
  if (!system && Array.isArray(instructions)) items = [...instructions, ...items]
  const kept = keptBeginning(messageBeginnings, items, () => ({ items: [], messages: new ChatMessages([], true) }))
  let i = kept.items.length
  while (i < items.length && isSettled(items[i])) {
    kept.messages.step(items[i]!)
    kept.items.push(items[i++]!)
  }
  const rest = kept.messages.copy(system)
  while (i < items.length) rest.step(items[i++]!)
  rest.close()
  const msgs = rest.done
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

/**
 * The messages toChatMessages makes of a list's settled beginning, by its first item (the next request of the chain
 * begins with the same objects): `items` is that beginning, grown in place by the settled items that follow it.
 */
const messageBeginnings = new WeakMap<object, { items: Json[]; messages: ChatMessages }>()

/**
 * Where toChatMessages is in a list: the messages no later item can change (`done`), the assistant message a following
 * function call may join (`open`: only right after it, with no reasoning between) and the reasoning text waiting for
 * the next assistant message. A kept beginning's messages (`settles`) are settled as they are done.
 */
class ChatMessages {
  open: ChatMessage | null = null
  reasoning: string | null = null

  constructor(
    readonly done: ChatMessage[],
    private readonly settles: boolean,
  ) {}

  /**
   * Where a list that goes on after the kept beginning is: the done messages after `system` (the instructions'
   * message), the open one copied (a call that joins it here must not change the kept one).
   */
  copy(system: ChatMessage | null): ChatMessages {
    const out = new ChatMessages(system ? [system, ...this.done] : this.done.slice(), false)
    if (this.open) {
      out.open = { ...this.open }
      if (this.open.tool_calls) out.open.tool_calls = (this.open.tool_calls as Json[]).slice()
    }
    out.reasoning = this.reasoning
    return out
  }

  /** The open assistant message is done: nothing after this can join it. */
  close() {
    if (this.open) this.done.push(this.settles ? settled(this.open) : this.open)
    this.open = null
  }

  private assistant(content: unknown) {
    this.close()
    const m: ChatMessage = { role: 'assistant', content }
    if (this.reasoning) m.reasoning_content = this.reasoning
    this.reasoning = null
    this.open = m
  }

  step(item: Json) {
    const type = item?.type ?? (typeof item?.role === 'string' ? 'message' : '')
    if (type === 'message') {
      if (item.role === 'assistant') this.assistant(contentText(item.content, ''))
      else {
        this.reasoning = null
        this.close()
        this.done.push(chatMessage(item))
      }
    } else if (type === 'function_call') {
      if (!this.open) this.assistant(null)
      const m = this.open!
      const calls = (m.tool_calls as Json[] | undefined) ?? (m.tool_calls = [])
      calls.push(keptToolCall(item))
    } else if (type === 'function_call_output') {
      this.close()
      this.done.push(chatMessage(item))
    } else if (type === 'reasoning') {
      const text = reasoningText(item)
      if (text) this.reasoning = this.reasoning ? `${this.reasoning}\n${text}` : text
      this.close()
    }
    // Anything else has no chat form and is left out.
  }
}

/**
 * The message a user, system or developer message item or a function_call_output becomes on its own. Kept for settled
 * items (src/store/settled-items.ts), settled too: a long chain's messages are made once, and their JSON is kept
 * (upstream/request-body.ts).
 */
const chatMessage = settledMemo((item: Json): ChatMessage => {
  const m: ChatMessage =
    item.type === 'function_call_output'
      ? { role: 'tool', tool_call_id: item.call_id, content: contentText(item.output, '\n') }
      : { role: item.role === 'developer' ? 'system' : String(item.role), content: chatContent(item.content) }
  return isSettled(item) ? settled(m) : m
})

/** chatToolCall, kept for settled items (settled too). */
const keptToolCall = settledMemo((item: Json): Json => (isSettled(item) ? settled(chatToolCall(item)) : chatToolCall(item)))

/** A function_call item as the tool call of an assistant message. */
function chatToolCall(item: Json): Json {
  return {
    id: item.call_id,
    type: 'function',
    function: {
      name: item.name,
      arguments: typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {}),
    },
  }
}

/**
 * What upstream/tokenize.ts estimates from an item of toChatMessages' input: the JSON length of the content of the
 * message it becomes (of its tool call, for a function call), or the length of a reasoning item's text. Kept for
 * settled items (src/store/settled-items.ts): a long chain's items are measured once.
 */
const itemChars = settledMemo((item: Json): number => {
  switch (item.type ?? (typeof item.role === 'string' ? 'message' : '')) {
    case 'message':
      return JSON.stringify(item.role === 'assistant' ? contentText(item.content, '') : chatContent(item.content)).length
    case 'function_call':
      return JSON.stringify(chatToolCall(item)).length
    case 'function_call_output':
      return JSON.stringify(contentText(item.output, '\n')).length
    case 'reasoning':
      return reasoningText(item).length
    default:
      return 0
  }
})

/**
 * The size of toChatMessages(instructions, input) without making the messages: the characters of every message's
 * JSON content (`""` for none), of its reasoning_content text and of its tool_calls' JSON, and the number of
 * messages. It follows toChatMessages step by step (test/upstream/chat.test.ts holds them to the same numbers); the
 * token estimate reads it every turn, so a long chain's items are measured once (itemChars), and where the steps
 * stood after a settled beginning is kept for the chain's next request (sizeBeginnings).
 */
export function chatMessagesSize(instructions: unknown, input: unknown): { chars: number; messages: number } {
  const items: Json[] = Array.isArray(input) ? input : typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : []
  if (Array.isArray(instructions)) return sizeAfter(new SizeState(null), [...instructions, ...items], 0).total()
  const text = typeof instructions === 'string' && instructions ? instructions : null
  // A settled beginning measured by the previous request of the chain (same instructions, same items by pointer),
  // grown in place by the settled items that follow it here: a turn measures what it adds, and copies no list.
  const kept = keptBeginning(
    sizeBeginnings,
    items,
    () => ({ instructions: text, items: [], state: new SizeState(text) }),
    (k) => k.instructions === text,
  )
  let i = kept.items.length
  while (i < items.length && isSettled(items[i])) {
    kept.state.step(items[i]!)
    kept.items.push(items[i++]!)
  }
  return sizeAfter(kept.state.copy(), items, i).total()
}

function sizeAfter(state: SizeState, items: Json[], from: number): SizeState {
  for (let i = from; i < items.length; i++) state.step(items[i]!)
  return state
}

/** chatMessagesSize's state after a list's settled beginning, by its first item (the next request of the chain begins with the same objects). */
const sizeBeginnings = new WeakMap<object, { instructions: string | null; items: Json[]; state: SizeState }>()

/** Where chatMessagesSize is in toChatMessages' steps: what it counted so far and what the next item may join. */
class SizeState {
  chars = 0
  messages = 0
  // The leading system messages with text content, merged into one at the end (their chars and how many).
  leading = true
  leadChars = 0
  leadCount = 0
  /** length of the reasoning text waiting for the next assistant message, or null */
  reasoning: number | null = null
  /** tool calls of the assistant message a following function call may join, or null when there is none */
  joinable: number | null = null

  constructor(instructions: string | null) {
    if (instructions !== null) this.push(JSON.stringify(instructions).length, true)
  }

  copy(): SizeState {
    return Object.assign(Object.create(SizeState.prototype), this)
  }

  private push(contentChars: number, systemText: boolean) {
    this.messages++
    if (this.leading && systemText) {
      this.leadChars += contentChars
      this.leadCount++
      return
    }
    this.leading = false
    this.chars += contentChars
  }

  private assistant(contentChars: number) {
    this.push(contentChars, false)
    if (this.reasoning !== null) this.chars += this.reasoning
    this.reasoning = null
    this.joinable = 0
  }

  step(item: Json) {
    const type = item?.type ?? (typeof item?.role === 'string' ? 'message' : '')
    if (type === 'message') {
      if (item.role === 'assistant') this.assistant(itemChars(item))
      else {
        this.reasoning = null
        this.joinable = null
        const system = item.role === 'developer' || item.role === 'system'
        this.push(itemChars(item), system && this.leading && typeof chatContent(item.content) === 'string')
      }
    } else if (type === 'function_call') {
      if (this.joinable === null) this.assistant(2) // content null: JSON ""
      // [call] for the first, ,call for each next
      this.chars += itemChars(item) + (this.joinable === 0 ? 2 : 1)
      this.joinable = this.joinable! + 1
    } else if (type === 'function_call_output') {
      this.joinable = null
      this.push(itemChars(item), false)
    } else if (type === 'reasoning') {
      const length = itemChars(item)
      if (length) this.reasoning = this.reasoning === null ? length : this.reasoning + 1 + length
      this.joinable = null
    }
  }

  /** The size once the list ends: the leading system messages merged, their texts joined with "\n\n" (4 JSON characters). */
  total(): { chars: number; messages: number } {
    if (this.leadCount > 1)
      return {
        chars: this.chars + this.leadChars - 2 * this.leadCount + 4 * (this.leadCount - 1) + 2,
        messages: this.messages - (this.leadCount - 1),
      }
    return { chars: this.chars + this.leadChars, messages: this.messages }
  }
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
