// Input tokens of a request (count_tokens): the upstream's tokenizer where it has one — vLLM's POST /tokenize at
// the server root, which applies the model's chat template to messages and tools — else an estimate.
import { toInputItems } from '../engine/input'
import { toUpstreamRequest } from '../engine/turn'
import type { CreateResponseRequest } from '../schema/responses'
import { toChatRequest } from '../upstream/chat'
import type { UpstreamClient } from '../upstream/client'

export interface TokenCount {
  tokens: number
  source: 'upstream' | 'estimate'
}

/** Characters per token of the estimate: about right for English text and code with BPE tokenizers. */
const CHARS_PER_TOKEN = 4

export async function countInputTokens(upstream: Pick<UpstreamClient, 'call' | 'baseUrl'>, req: CreateResponseRequest): Promise<TokenCount> {
  // Item ids never reach a tokenizer; any will do.
  const body = toUpstreamRequest(req, [], toInputItems(req.input, (p) => `${p}_count`))
  const chat = toChatRequest(body)
  const tokenizeBody = { model: chat.model, messages: chat.messages, ...(chat.tools ? { tools: chat.tools } : {}), add_generation_prompt: true }
  try {
    // /tokenize lives at vLLM's root, beside /v1: '..' leaves the /v1 of the base URL (URL parsing resolves it).
    const path = /\/v1$/.test(upstream.baseUrl) ? '/../tokenize' : '/tokenize'
    const res = await upstream.call({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body: JSON.stringify(tokenizeBody), kind: 'quick' })
    if (res.ok) {
      const j = (await res.json()) as { count?: unknown; tokens?: unknown }
      if (typeof j.count === 'number') return { tokens: j.count, source: 'upstream' }
      if (Array.isArray(j.tokens)) return { tokens: j.tokens.length, source: 'upstream' }
    } else await res.body?.cancel()
  } catch {
    // no tokenizer there (another server, or down): the estimate below
  }
  return { tokens: estimateTokens(tokenizeBody), source: 'estimate' }
}

/** Roughly: the characters of the text and tool schemas the model reads, per CHARS_PER_TOKEN. */
export function estimateTokens(body: { messages: unknown; tools?: unknown }): number {
  let chars = 0
  const walk = (v: unknown) => {
    if (typeof v === 'string') chars += v.length
    else if (Array.isArray(v)) v.forEach(walk)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'role' && k !== 'type') walk(x)
  }
  walk(body.messages)
  if (body.tools) chars += JSON.stringify(body.tools).length
  return Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN))
}
