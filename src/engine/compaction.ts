// Compaction: a long history made short. The upstream model writes a summary of everything so far (asked with
// our own prompt); the history becomes the user's messages followed by one `compaction` item whose
// encrypted_content is that summary, sealed for the tenant (src/sealing). Wherever a compaction item later
// appears in what a turn sends — inline, or stored in a chain — the upstream gets, in place of everything before
// it, those user messages and the summary.
import { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { UsageT } from '../schema/responses'
import type { Sealer } from '../sealing/sealer'
import type { ItemBody } from '../store/types'
import type { UpstreamAdapter } from '../upstream/adapter'
import { EventNormaliser } from './normalise'
import { outputText } from '../output-text'
import { invalidEncryptedContent } from './sealed-items'

/** The instructions the upstream gets when it is asked for a summary. */
export const COMPACTION_INSTRUCTIONS = [
  'You are compacting the history of a long working session between a user and an AI assistant (which may use tools) so that the assistant can continue it with a much shorter context.',
  "Write a handoff summary for the assistant that will continue the work. Include: the user's goals and requests and their current status; decisions made and why; important facts, names, file paths, commands, code and values; what the tools returned that still matters; what was tried and failed; the current state of the work; the immediate next steps.",
  "The user's own messages are kept verbatim next to your summary: do not repeat them, refer to them. Be complete but concise, use short sections and lists, and write only the summary.",
].join('\n\n')

/** The message that follows the history in the summary request. */
const SUMMARY_REQUEST = 'Write the handoff summary of the session above now, following your instructions.'

/** How the upstream is shown a compaction's summary. */
export const SUMMARY_PREFIX =
  'Summary of the earlier part of this session (it was compacted; the user messages above are kept as they were):'

interface CompactionPayload {
  summary: string
}

const isUserMessage = (item: ItemBody) => item.type === 'message' && item.role === 'user'

/** The compaction item for a summary: its text sealed for this tenant. */
export function compactionItem(summary: string, sealer: Sealer, tenant: string, ids: IdSource): ItemBody {
  const payload: CompactionPayload = { summary }
  return { id: ids('cmp'), type: 'compaction', encrypted_content: sealer.seal(tenant, 'compaction', payload) }
}

/** The summary a compaction item holds; null when it does not open. */
export function openCompaction(item: ItemBody, sealer: Sealer, tenant: string): string | null {
  const payload =
    typeof item.encrypted_content === 'string'
      ? (sealer.open(tenant, 'compaction', item.encrypted_content) as CompactionPayload | null)
      : null
  return typeof payload?.summary === 'string' ? payload.summary : null
}

/**
 * Items as the upstream should see them: when there is a compaction item, everything before the last one is
 * replaced by its user messages and the summary (as a user message). A compaction item that does not open is a
 * 400 naming it (`paramOf`).
 */
export function expandCompactions(items: ItemBody[], sealer: Sealer, tenant: string, paramOf: (i: number) => string): ItemBody[] {
  let last = -1
  items.forEach((item, i) => {
    if (item.type !== 'compaction') return
    // Every one is checked, also those the last one replaces: a forged item is an error wherever it is.
    if (openCompaction(item, sealer, tenant) === null) throw invalidEncryptedContent(`${paramOf(i)}.encrypted_content`)
    last = i
  })
  if (last < 0) return items
  const summary = openCompaction(items[last]!, sealer, tenant)!
  const kept = items.slice(0, last).filter(isUserMessage)
  const summaryMessage: ItemBody = {
    id: items[last]!.id,
    type: 'message',
    role: 'user',
    content: [{ type: 'input_text', text: `${SUMMARY_PREFIX}\n\n${summary}` }],
  }
  return [...kept, summaryMessage, ...items.slice(last + 1)]
}

/** The compact_threshold of a request's `context_management: [{type:"compaction", compact_threshold}]`, or null. */
export function compactThreshold(req: {
  context_management?: { type: string; compact_threshold?: number | null }[] | null
}): number | null {
  const entry = req.context_management?.find((c) => c.type === 'compaction')
  return typeof entry?.compact_threshold === 'number' ? entry.compact_threshold : null
}

export interface CompactionDeps {
  adapter: UpstreamAdapter
  sealer: Sealer
  ids: IdSource
}

export interface Compacted {
  /** the user messages of the history, then the compaction item */
  output: ItemBody[]
  usage: UsageT
}

/**
 * Compacts `items` (the history as stored or sent, which keeps the user messages) whose upstream form is
 * `upstream` (sealed content opened, earlier compactions expanded): asks the upstream model for the summary.
 * `request` is the stateless upstream request without its input (model and sampling settings).
 */
export async function compactHistory(
  deps: CompactionDeps,
  tenant: string,
  items: ItemBody[],
  upstream: ItemBody[],
  request: Record<string, unknown>,
  opts: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Compacted> {
  const body: Record<string, unknown> = {
    ...request,
    instructions: COMPACTION_INSTRUCTIONS,
    input: [...upstream, { type: 'message', role: 'user', content: [{ type: 'input_text', text: SUMMARY_REQUEST }] }],
    store: false,
  }
  // A summary is text: no tools, whatever the session declared.
  for (const k of ['tools', 'tool_choice', 'parallel_tool_calls', 'text', 'include', 'max_tool_calls']) delete body[k]
  const norm = new EventNormaliser(deps.ids)
  read: for await (const batch of deps.adapter.stream(body, { signal: opts.signal ?? new AbortController().signal, headers: opts.headers }))
    for (const ev of batch) {
      norm.accept(ev)
      if (norm.outcome) break read
    }
  const outcome = norm.outcome
  const summary = outputText(norm.output()).trim()
  if (!outcome || outcome.status === 'failed' || summary === '')
    throw ApiError.badGateway(
      `the upstream model did not write a summary for the compaction${outcome?.error ? `: ${outcome.error.message}` : ''}`,
      'compaction_failed',
    )
  const usage = outcome.usage ?? {
    input_tokens: 0,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: 0,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 0,
  }
  // The user messages are kept as they are; earlier compaction items are replaced by this one.
  return { output: [...items.filter(isUserMessage), compactionItem(summary, deps.sealer, tenant, deps.ids)], usage }
}
