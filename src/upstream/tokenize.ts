// Counting a request's input tokens with the upstream's own tokenizer: vLLM's POST /tokenize (at the server's
// root, not under /v1) with the chat messages and tools, rendered through the model's chat template — what the
// model will actually read. A server without it answers null, and the caller estimates.
import type { UpstreamClient } from './client'
import { toChatRequest } from './chat'
import { chatMessagesSize, chatTools } from './chat-request'

export interface Tokenizer {
  /** Tokens of a stateless Responses request's input (instructions, items, tools); null when the upstream cannot count. */
  countInput(body: Record<string, unknown>, signal?: AbortSignal): Promise<number | null>
}

export function upstreamTokenizer(client: UpstreamClient): Tokenizer {
  return {
    async countInput(body, signal) {
      const chat = toChatRequest(body)
      const request: Record<string, unknown> = { messages: chat.messages, add_generation_prompt: true }
      if (typeof body.model === 'string') request.model = body.model
      if (chat.tools) request.tools = chat.tools
      const res = await client.call({
        method: 'POST',
        path: '/tokenize',
        fromRoot: true,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        signal,
        kind: 'quick',
      })
      // No /tokenize (404/405 from servers other than vLLM), or one that refuses this request: not countable here.
      if (!res.ok) {
        await res.body?.cancel().catch(() => {})
        return null
      }
      const json = (await res.json().catch(() => null)) as { count?: unknown } | null
      return typeof json?.count === 'number' && Number.isInteger(json.count) && json.count >= 0 ? json.count : null
    },
  }
}

/**
 * A rough count for upstreams without a tokenizer: about four characters a token over what the chat template would
 * be given (message texts, tool calls, tool schemas), plus a few tokens of framing per message. Measured without
 * making the chat request (chatMessagesSize): a long chain's items are measured once.
 */
export function estimateInputTokens(body: Record<string, unknown>): number {
  const { chars, messages } = chatMessagesSize(body.instructions, body.input)
  const tools = chatTools(body.tools)
  return Math.ceil((chars + (tools ? JSON.stringify(tools).length : 0)) / 4) + 4 * messages
}
