// What the fake upstream received, read the same way whichever wire API the gateway spoke
// (--upstream-api responses: /v1/responses `input`; chat: /v1/chat/completions `messages`), so one
// scenario suite runs against both adapters.
import type { FakeUpstream, RecordedRequest } from './fake-upstream'

export type UpstreamApi = 'responses' | 'chat'
export const UPSTREAM_APIS: UpstreamApi[] = ['responses', 'chat']

export const generationPath = (api: UpstreamApi) => (api === 'chat' ? '/v1/chat/completions' : '/v1/responses')

/** The model calls the gateway made, in order. */
export function modelCalls(up: FakeUpstream, api: UpstreamApi): RecordedRequest[] {
  return up.requestsTo(generationPath(api))
}

const text = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.map((p: any) => p.text ?? '').join('') : ''

/**
 * The conversation the upstream saw, as lines: "role: text" for messages, "call name(args)" for tool
 * calls, "function_call_output: output" for tool results. System/instructions lines are left out
 * (see `instructionsSent`).
 */
export function transcript(req: RecordedRequest): string[] {
  if (Array.isArray(req.body.messages)) {
    const out: string[] = []
    for (const m of req.body.messages) {
      if (m.role === 'system') continue
      if (m.role === 'tool') out.push(`function_call_output: ${text(m.content)}`)
      else {
        if (text(m.content)) out.push(`${m.role}: ${text(m.content)}`)
        for (const c of m.tool_calls ?? []) out.push(`call ${c.function.name}(${c.function.arguments})`)
      }
    }
    return out
  }
  return req.body.input.map((i: any) =>
    i.type === 'message'
      ? `${i.role}: ${text(i.content)}`
      : i.type === 'function_call'
        ? `call ${i.name}(${i.arguments})`
        : `${i.type}: ${i.output ?? ''}`,
  )
}

/** The instructions the upstream got: `instructions` (responses) or the leading system message (chat); null when none. */
export function instructionsSent(req: RecordedRequest): string | null {
  if (Array.isArray(req.body.messages)) {
    const first = req.body.messages[0]
    return first?.role === 'system' ? text(first.content) : null
  }
  return req.body.instructions ?? null
}
