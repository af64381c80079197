// Adapter for upstreams that only serve /v1/chat/completions (LM Studio, llama.cpp, Ollama, older
// vLLM, hosted APIs): the stateless Responses request becomes a chat request, and the streamed chat
// chunks become the Responses events a /v1/responses upstream would have sent (item by item:
// reasoning, message, function calls), so the engine cannot tell the two apart.
import { ApiError } from '../errors'
import type { StreamLimits, StreamOptions, UpstreamAdapter, UpstreamEvent } from './adapter'
import type { UpstreamClient } from './client'
import { describeCall } from './failure'
import { upstreamHttpError } from './http-error'
import type { ServedModels } from './served-models'
import { translatedBatches } from './sse'
import { emptyAnswer, readLimitedJson } from './stream-limit'
import { toChatRequest } from './chat-request'
import { requestBody } from './request-body'

export { toChatMessages, toChatRequest } from './chat-request'

// biome-ignore lint/suspicious/noExplicitAny: Chat Completions chunks are untyped wire JSON; each field is checked (str, Array.isArray, ??) where it is read
type Json = Record<string, any>

interface OpenItem {
  kind: 'reasoning' | 'message' | 'call'
  id: string
  index: number
  text: string
  // function calls only
  callId?: string
  name?: string
  announced?: boolean
  closed?: boolean
}

/**
 * Streamed chat chunks → Responses events, the same sequence vLLM's /v1/responses streams: one item at
 * a time (reasoning before the message, calls after), each opened and closed with its part/done events.
 * Pure; the adapter feeds it parsed chunks.
 */
export class ChatStreamTranslator {
  private nextIndex = 0
  private open: OpenItem | null = null
  private readonly calls = new Map<number, OpenItem>()
  private readonly output: Json[] = []
  private usage: Json | null = null
  private ended = false
  finishReason: string | null = null

  constructor(private readonly newId: (prefix: string) => string = randomId) {}

  /** Events for one chunk (`{choices:[{delta,finish_reason}], usage}`). */
  accept(chunk: Json): UpstreamEvent[] {
    if (this.ended) return []
    const err = chunk?.error ?? (chunk?.object === 'error' ? chunk : null)
    if (err) {
      this.ended = true
      return [
        {
          type: 'error',
          error: {
            code: typeof err.code === 'string' ? err.code : 'upstream_error',
            message: String(err.message ?? 'the model server reported an error'),
          },
        },
      ]
    }
    if (chunk?.usage) this.usage = chatUsage(chunk.usage)
    const choices = Array.isArray(chunk?.choices) ? (chunk.choices as Json[]) : []
    const choice = choices.find((c) => (c?.index ?? 0) === 0)
    if (!choice) return []
    const delta: Json = choice.delta ?? choice.message ?? {}
    const out: UpstreamEvent[] = []
    // vLLM says `reasoning` (older: `reasoning_content`, as llama.cpp and DeepSeek do); some send both.
    const reasoning = str(delta.reasoning_content) ?? str(delta.reasoning)
    if (reasoning) out.push(...this.text('reasoning', reasoning))
    if (str(delta.content)) out.push(...this.text('message', delta.content))
    if (Array.isArray(delta.tool_calls)) for (const [pos, tc] of (delta.tool_calls as Json[]).entries()) out.push(...this.toolCall(tc, pos))
    if (choice.finish_reason) {
      this.finishReason = String(choice.finish_reason)
      out.push(...this.close())
    }
    return out
  }

  /** Closes what is open and ends with the terminal event (none after an error). */
  finish(): UpstreamEvent[] {
    if (this.ended) return []
    this.ended = true
    const out = this.close()
    const reason = this.finishReason
    const incomplete = reason === 'length' ? 'max_output_tokens' : reason === 'content_filter' ? 'content_filter' : null
    const status = reason === 'error' ? 'failed' : incomplete ? 'incomplete' : 'completed'
    out.push({
      type: `response.${status}`,
      response: {
        object: 'response',
        status,
        output: this.output,
        usage: this.usage,
        incomplete_details: incomplete ? { reason: incomplete } : null,
        error: status === 'failed' ? { code: 'upstream_error', message: 'the model server stopped with an error during generation' } : null,
      },
    })
    return out
  }

  /** The events for a non-streamed chat.completion (the whole answer asked for, or a server that ignores stream:true). */
  fromCompletion(c: Json): UpstreamEvent[] {
    const choice = (c.choices ?? []).find((x: Json) => (x?.index ?? 0) === 0) ?? {}
    const m: Json = choice.message ?? {}
    const toolCalls = Array.isArray(m.tool_calls) ? m.tool_calls.map((tc: Json, i: number) => ({ index: i, ...tc })) : undefined
    const out = this.accept({
      choices: [
        {
          index: 0,
          delta: { reasoning_content: m.reasoning_content, reasoning: m.reasoning, content: m.content, tool_calls: toolCalls },
          finish_reason: choice.finish_reason ?? 'stop',
        },
      ],
      usage: c.usage,
    })
    return [...out, ...this.finish()]
  }

  private text(kind: 'reasoning' | 'message', delta: string): UpstreamEvent[] {
    const out: UpstreamEvent[] = []
    if (this.open?.kind !== kind) {
      out.push(...this.close())
      const it: OpenItem = { kind, id: this.newId(kind === 'message' ? 'msg' : 'rs'), index: this.nextIndex++, text: '' }
      this.open = it
      const where = { item_id: it.id, output_index: it.index, content_index: 0 }
      if (kind === 'message') {
        out.push({
          type: 'response.output_item.added',
          output_index: it.index,
          item: { id: it.id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
        })
        out.push({ type: 'response.content_part.added', ...where, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } })
      } else {
        out.push({
          type: 'response.output_item.added',
          output_index: it.index,
          item: { id: it.id, type: 'reasoning', summary: [], status: 'in_progress' },
        })
        out.push({ type: 'response.content_part.added', ...where, part: { type: 'reasoning_text', text: '' } })
      }
    }
    const it = this.open!
    it.text += delta
    const where = { item_id: it.id, output_index: it.index, content_index: 0 }
    out.push(
      kind === 'message'
        ? { type: 'response.output_text.delta', ...where, delta, logprobs: [] }
        : { type: 'response.reasoning_text.delta', ...where, delta },
    )
    return out
  }

  private toolCall(tc: Json, pos: number): UpstreamEvent[] {
    const idx = typeof tc?.index === 'number' ? tc.index : pos
    const out: UpstreamEvent[] = []
    let call = this.calls.get(idx)
    if (!call) {
      out.push(...this.close())
      call = {
        kind: 'call',
        id: this.newId('fc'),
        index: this.nextIndex++,
        text: '',
        callId: str(tc.id) ?? this.newId('call'),
        name: '',
        announced: false,
      }
      this.calls.set(idx, call)
      this.open = call
    }
    // A call resumed after the next one began: its item is closed already (no chat server we know does this).
    if (call.closed) return out
    const fn: Json = tc.function ?? {}
    if (!call.announced && str(fn.name)) call.name = fn.name
    const args =
      typeof fn.arguments === 'string' ? fn.arguments : fn.arguments && typeof fn.arguments === 'object' ? JSON.stringify(fn.arguments) : ''
    call.text += args
    if (!call.announced && call.name) out.push(...this.announce(call, call.text))
    else if (call.announced && args)
      out.push({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: call.index, delta: args })
    return out
  }

  private announce(call: OpenItem, buffered: string): UpstreamEvent[] {
    call.announced = true
    const out: UpstreamEvent[] = [
      {
        type: 'response.output_item.added',
        output_index: call.index,
        item: { id: call.id, type: 'function_call', call_id: call.callId, name: call.name, arguments: '', status: 'in_progress' },
      },
    ]
    if (buffered) out.push({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: call.index, delta: buffered })
    return out
  }

  /** Done events for the open item. The item cut off by a length/content_filter stop is incomplete. */
  private close(): UpstreamEvent[] {
    const it = this.open
    if (!it) return []
    this.open = null
    const status = this.finishReason === 'length' || this.finishReason === 'content_filter' ? 'incomplete' : 'completed'
    const where = { item_id: it.id, output_index: it.index }
    const out: UpstreamEvent[] = []
    let item: Json
    if (it.kind === 'message') {
      const part = { type: 'output_text', text: it.text, annotations: [], logprobs: [] }
      out.push({ type: 'response.output_text.done', ...where, content_index: 0, text: it.text, logprobs: [] })
      out.push({ type: 'response.content_part.done', ...where, content_index: 0, part })
      item = { id: it.id, type: 'message', role: 'assistant', status, content: [part] }
    } else if (it.kind === 'reasoning') {
      const part = { type: 'reasoning_text', text: it.text }
      out.push({ type: 'response.reasoning_text.done', ...where, content_index: 0, text: it.text })
      out.push({ type: 'response.content_part.done', ...where, content_index: 0, part })
      item = { id: it.id, type: 'reasoning', summary: [], content: [part], encrypted_content: null, status }
    } else {
      it.closed = true
      if (!it.announced) out.push(...this.announce(it, it.text))
      out.push({ type: 'response.function_call_arguments.done', ...where, arguments: it.text, name: it.name })
      item = { id: it.id, type: 'function_call', call_id: it.callId, name: it.name, arguments: it.text, status }
    }
    out.push({ type: 'response.output_item.done', output_index: it.index, item })
    this.output.push(item)
    return out
  }
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null
}

/** Chat usage → Responses usage (with every detail key). */
export function chatUsage(u: Json): Json {
  const input = num(u.prompt_tokens ?? u.input_tokens)
  const output = num(u.completion_tokens ?? u.output_tokens)
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: num(u.prompt_tokens_details?.cached_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: num(u.completion_tokens_details?.reasoning_tokens) },
    total_tokens: typeof u.total_tokens === 'number' ? num(u.total_tokens) : input + output,
  }
}

const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.trunc(x) : 0)

function randomId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`
}

export function chatAdapter(client: UpstreamClient, limits: StreamLimits, models?: ServedModels): UpstreamAdapter {
  // the call as errors name it (credentials redacted): the same for every turn
  const call = describeCall('POST', client.baseUrl + '/chat/completions')
  const sse = { maxLineBytes: limits.maxSseLineBytes, maxStreamBytes: limits.maxStreamBytes, idleMs: client.idleTimeoutMs, call }
  return {
    name: 'chat',
    // One generator from the call to the translated events (sse.ts translatedBatches): the messages of one network
    // chunk are translated in one loop and handed on as one batch.
    stream<O>(body: Record<string, unknown>, { signal, headers, whole = false, step }: StreamOptions<O>) {
      const t = new ChatStreamTranslator()
      const open = async (): Promise<ReadableStream<Uint8Array> | UpstreamEvent[]> => {
        const request = toChatRequest(body)
        if (whole) {
          request.stream = false
          delete request.stream_options
        }
        const res = await client.call({
          method: 'POST',
          path: '/chat/completions',
          headers: { 'content-type': 'application/json', accept: whole ? 'application/json' : 'text/event-stream', ...headers },
          body: requestBody(request, 'messages'),
          signal,
          kind: 'generate',
          stream: !whole,
        })
        if (!res.ok)
          throw await upstreamHttpError(res, { call, baseUrl: client.baseUrl, path: '/chat/completions', model: body.model, models })
        const type = res.headers.get('content-type') ?? ''
        if (!type.includes('text/event-stream')) {
          const final = (await readLimitedJson(res, limits.maxStreamBytes)) as Json | null
          if (!final || !Array.isArray(final.choices))
            throw ApiError.badGateway(
              `upstream answered with ${type || 'no content type'} instead of an event stream`,
              'upstream_bad_response',
            )
          return t.fromCompletion(final)
        }
        if (!res.body) throw emptyAnswer()
        return res.body
      }
      return translatedBatches<UpstreamEvent, O>(
        open,
        sse,
        (msg, batch) => {
          let chunk: Json
          try {
            chunk = JSON.parse(msg.data)
          } catch {
            throw ApiError.badGateway('upstream sent a chunk that is not valid JSON', 'upstream_bad_response')
          }
          for (const ev of t.accept(chunk)) batch.push(ev)
        },
        // No [DONE] and no finish_reason: the stream broke off; without a terminal event the engine fails the turn.
        { end: (sawDone) => (sawDone || t.finishReason !== null ? t.finish() : []), step },
      )
    },
  }
}
