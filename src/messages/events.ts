// Responses events → Messages events: the one translation out. The engine's stream of a turn becomes
// message_start, content blocks (text, tool_use, thinking) with their deltas, message_delta and message_stop;
// a JSON answer is the same events folded into one message (accumulateMessage). Pure.
import type { ResponseEvent } from '../schema/events'
import type { MessageObjectT, MessageUsageT, OutputBlockT, StopReason } from './schema'
import type { ThinkingSigner } from './signature'

// biome-ignore lint/suspicious/noExplicitAny: the engine's item bodies and upstream JSON read field by field, each checked where read
type Json = Record<string, any>

export type MessageEvent =
  | { type: 'message_start'; message: MessageObjectT }
  | { type: 'content_block_start'; index: number; content_block: Json }
  | { type: 'content_block_delta'; index: number; delta: Json }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason: StopReason | null; stop_sequence: string | null }; usage: MessageUsageT }
  | { type: 'message_stop' }
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } }

export interface TranslatorOptions {
  /** the model id the client asked for: Messages answers name it, whatever upstream model served it */
  model: string
  signer: ThinkingSigner
  stopSequences?: string[]
  /** thinking:{type:"disabled"} drops reasoning; display "omitted" sends thinking blocks with their signature only */
  thinking: 'shown' | 'omitted' | 'dropped'
}

interface OpenBlock {
  index: number
  kind: 'text' | 'thinking' | 'tool_use'
  /** text so far (text: all of it, held back or not; thinking: the reasoning) */
  text: string
  /** text blocks: how much of `text` was sent */
  sent: number
}

/** How a turn ended, for the edge: the terminal Responses event's failure, if any. */
export interface TurnEnd {
  failed: { code: string; message: string } | null
}

export function messageIdFor(responseId: string): string {
  return 'msg_' + responseId.replace(/^resp_/, '')
}

export function emptyUsage(): MessageUsageT {
  return { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
}

/** Responses usage → Messages usage: Anthropic counts cache reads apart from input tokens. */
export function toMessageUsage(u: Json | null | undefined): MessageUsageT {
  if (!u) return emptyUsage()
  const cached = Number(u.input_tokens_details?.cached_tokens ?? 0)
  return {
    input_tokens: Math.max(0, Number(u.input_tokens ?? 0) - cached),
    output_tokens: Number(u.output_tokens ?? 0),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  }
}

export class MessageTranslator {
  private blocks = new Map<string, OpenBlock>()
  private next = 0
  private sawToolUse = false
  /** the stop sequence that ended the text, once one did: everything after it is not sent */
  private stoppedBy: string | null = null
  private readonly hold: number
  end: TurnEnd | null = null

  constructor(private readonly opts: TranslatorOptions) {
    this.hold = Math.max(0, ...(opts.stopSequences ?? []).map((s) => s.length - 1))
  }

  accept(ev: ResponseEvent): MessageEvent[] {
    const e = ev as Json // a ResponseEvent's fields beyond type are untyped (schema/responses.ts)
    switch (ev.type) {
      case 'response.created':
        return [
          {
            type: 'message_start',
            message: {
              id: messageIdFor(String(e.response?.id ?? '')),
              type: 'message',
              role: 'assistant',
              model: this.opts.model,
              content: [],
              stop_reason: null,
              stop_sequence: null,
              usage: emptyUsage(),
            },
          },
        ]
      case 'response.output_item.added':
        return this.open(e.item ?? {})
      case 'response.output_text.delta':
        return this.text(String(e.item_id), String(e.delta ?? ''))
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
        return this.thinking(String(e.item_id), String(e.delta ?? ''))
      case 'response.function_call_arguments.delta': {
        const b = this.blocks.get(String(e.item_id))
        if (!b || this.stoppedBy) return []
        return [{ type: 'content_block_delta', index: b.index, delta: { type: 'input_json_delta', partial_json: String(e.delta ?? '') } }]
      }
      case 'response.output_item.done':
        return this.close(e.item ?? {})
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        return this.finish(ev.type, e.response ?? {})
      default:
        return []
    }
  }

  private open(item: Json): MessageEvent[] {
    if (this.stoppedBy || typeof item.id !== 'string') return []
    if (item.type === 'message') return this.start(item.id, 'text', { type: 'text', text: '' })
    if (item.type === 'reasoning')
      return this.opts.thinking === 'dropped' ? [] : this.start(item.id, 'thinking', { type: 'thinking', thinking: '', signature: '' })
    if (item.type === 'function_call') {
      this.sawToolUse = true
      return this.start(item.id, 'tool_use', { type: 'tool_use', id: String(item.call_id), name: String(item.name), input: {} })
    }
    return []
  }

  private start(id: string, kind: OpenBlock['kind'], content_block: Json): MessageEvent[] {
    const b: OpenBlock = { index: this.next++, kind, text: '', sent: 0 }
    this.blocks.set(id, b)
    return [{ type: 'content_block_start', index: b.index, content_block }]
  }

  private text(itemId: string, delta: string): MessageEvent[] {
    const b = this.blocks.get(itemId)
    if (b?.kind !== 'text' || this.stoppedBy) return []
    b.text += delta
    const stops = this.opts.stopSequences ?? []
    let cut = -1
    for (const s of stops) {
      if (!s) continue
      const at = b.text.indexOf(s, Math.max(0, b.sent - s.length + 1))
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at
        this.stoppedBy = s
      }
    }
    // Without a stop sequence in sight, the last few characters wait: they may be the start of one.
    const upTo = cut >= 0 ? cut : Math.max(b.sent, b.text.length - this.hold)
    return this.sendText(b, upTo)
  }

  private sendText(b: OpenBlock, upTo: number): MessageEvent[] {
    if (upTo <= b.sent) return []
    const text = b.text.slice(b.sent, upTo)
    b.sent = upTo
    return [{ type: 'content_block_delta', index: b.index, delta: { type: 'text_delta', text } }]
  }

  private thinking(itemId: string, delta: string): MessageEvent[] {
    const b = this.blocks.get(itemId)
    if (b?.kind !== 'thinking') return []
    b.text += delta
    if (this.opts.thinking !== 'shown' || !delta) return []
    return [{ type: 'content_block_delta', index: b.index, delta: { type: 'thinking_delta', thinking: delta } }]
  }

  private close(item: Json): MessageEvent[] {
    if (item.type === 'web_search_call' && item.status !== 'in_progress' && !this.stoppedBy) return this.search(item)
    const b = typeof item.id === 'string' ? this.blocks.get(item.id) : undefined
    if (!b) return []
    this.blocks.delete(item.id)
    const out: MessageEvent[] = []
    if (b.kind === 'text' && !this.stoppedBy) out.push(...this.sendText(b, b.text.length))
    if (b.kind === 'thinking') {
      // The done item has the whole text even when the upstream sent no deltas (a non-streamed answer).
      const text = b.text || reasoningText(item)
      out.push({ type: 'content_block_delta', index: b.index, delta: { type: 'signature_delta', signature: this.opts.signer.sign(text) } })
    }
    out.push({ type: 'content_block_stop', index: b.index })
    return out
  }

  /**
   * A web search the gateway ran, as Anthropic shows its own: a server_tool_use block with the query, then a
   * web_search_tool_result block with the results (or an error). Each result's snippet travels sealed in its
   * encrypted_content, so the search comes back whole when the client sends the blocks again (messages/request.ts).
   */
  private search(item: Json): MessageEvent[] {
    const id = `srvtoolu_${String(item.id).replace(/^ws_/, '')}`
    const use = this.next++
    const result = this.next++
    const sources = Array.isArray(item.action?.sources) ? (item.action.sources as Json[]) : []
    const content =
      item.status === 'completed'
        ? sources.map((s) => ({
            type: 'web_search_result',
            url: String(s.url),
            title: String(s.title ?? ''),
            encrypted_content: this.opts.signer.sign(String(s.snippet ?? '')),
            page_age: null,
          }))
        : { type: 'web_search_tool_result_error', error_code: 'unavailable' }
    return [
      { type: 'content_block_start', index: use, content_block: { type: 'server_tool_use', id, name: 'web_search', input: {} } },
      {
        type: 'content_block_delta',
        index: use,
        delta: { type: 'input_json_delta', partial_json: JSON.stringify({ query: String(item.action?.query ?? '') }) },
      },
      { type: 'content_block_stop', index: use },
      { type: 'content_block_start', index: result, content_block: { type: 'web_search_tool_result', tool_use_id: id, content } },
      { type: 'content_block_stop', index: result },
    ]
  }

  private finish(type: string, response: Json): MessageEvent[] {
    const out: MessageEvent[] = []
    // Blocks still open (a stop sequence, a cut-off stream): closed so every start has its stop.
    for (const [id] of [...this.blocks]) out.push(...this.close({ id }))
    if (type === 'response.failed') {
      this.end = {
        failed: {
          code: String(response.error?.code ?? 'upstream_error'),
          message: String(response.error?.message ?? 'The upstream failed.'),
        },
      }
      return out
    }
    this.end = { failed: null }
    const reason = response.incomplete_details?.reason
    const stop_reason: StopReason = this.stoppedBy
      ? 'stop_sequence'
      : type === 'response.incomplete'
        ? reason === 'content_filter'
          ? 'refusal'
          : 'max_tokens'
        : this.sawToolUse
          ? 'tool_use'
          : 'end_turn'
    out.push({ type: 'message_delta', delta: { stop_reason, stop_sequence: this.stoppedBy }, usage: toMessageUsage(response.usage) })
    out.push({ type: 'message_stop' })
    return out
  }
}

function reasoningText(item: Json): string {
  const parts = [...(item.content ?? []), ...(item.summary ?? [])] as Json[]
  return parts.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('')
}

/** Folds Messages stream events into the message they describe (what a JSON answer returns). */
export function accumulateMessage(events: Iterable<MessageEvent>): MessageObjectT | null {
  let msg: MessageObjectT | null = null
  const json = new Map<number, string>()
  for (const ev of events) {
    switch (ev.type) {
      case 'message_start':
        msg = { ...ev.message, content: [] }
        break
      case 'content_block_start':
        msg?.content.push({ ...ev.content_block } as OutputBlockT)
        break
      case 'content_block_delta': {
        const b = msg?.content[ev.index] as Json | undefined
        if (!b) break
        const d = ev.delta
        if (d.type === 'text_delta') b.text += d.text
        else if (d.type === 'thinking_delta') b.thinking += d.thinking
        else if (d.type === 'signature_delta') b.signature = d.signature
        else if (d.type === 'input_json_delta') json.set(ev.index, (json.get(ev.index) ?? '') + d.partial_json)
        break
      }
      case 'content_block_stop': {
        const b = msg?.content[ev.index] as Json | undefined
        if (b?.type === 'tool_use' || b?.type === 'server_tool_use') b.input = parseInput(json.get(ev.index) ?? '')
        break
      }
      case 'message_delta':
        if (msg) {
          msg.stop_reason = ev.delta.stop_reason
          msg.stop_sequence = ev.delta.stop_sequence
          msg.usage = ev.usage
        }
        break
    }
  }
  return msg
}

/** Tool arguments as the input object: the model's JSON, or — not an object — kept as text so nothing is lost. */
function parseInput(text: string): unknown {
  if (!text.trim()) return {}
  try {
    const v = JSON.parse(text)
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { value: v }
  } catch {
    return { _raw: text }
  }
}
