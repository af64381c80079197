// The long-session tools next to /v1/responses: POST /v1/responses/input_tokens (what a create request would cost)
// and POST /v1/responses/compact (a history made short). Both take their context from the engine, as a turn does.
import { Elysia } from 'elysia'
import type { Auth } from '../auth'
import type { TurnEngine } from '../engine/turn'
import { errorResponses } from '../schema/common'
import { CompactBody, CompactedResponse, InputTokensBody, InputTokensObject } from '../schema/session-tools'
import { callerContext } from './caller'
import { JSON_BODY, jsonBody } from './json-body'
import { requestIdOf } from '../metrics/http'
import { checkedBody } from '../schema/validate'

/** Response header saying who counted input_tokens: `tokenizer` (the upstream's) or `estimate` (the gateway's). */
export const COUNTED_BY_HEADER = 'x-agentgate-input-tokens-counted-by'

export function sessionToolRoutes(engine: TurnEngine, auth: Auth) {
  return new Elysia({ prefix: '/v1/responses', detail: { tags: ['responses'] } })
    .use(jsonBody)
    .use(callerContext(auth))
    .post(
      '/input_tokens',
      async ({ body, request, set, caller }) => {
        const count = await engine.countInputTokens(body, caller.tenant, request.signal)
        set.headers[COUNTED_BY_HEADER] = count.counted_by
        return { object: 'response.input_tokens' as const, input_tokens: count.input_tokens }
      },
      {
        body: checkedBody(InputTokensBody),
        parse: JSON_BODY,
        response: { 200: InputTokensObject, ...errorResponses(400, 404, 502, 503, 504) },
        detail: {
          summary: 'Count input tokens',
          description:
            'The input tokens a POST /v1/responses with this body would give the model — its `previous_response_id` chain or `conversation`, instructions, input and tools, rehydrated as a turn would send them. ' +
            `Counted by the upstream's tokenizer through its chat template (vLLM's \`POST /tokenize\`) when it has one, else estimated; the \`${COUNTED_BY_HEADER}\` header says which (\`tokenizer\` or \`estimate\`).`,
        },
      },
    )
    .post(
      '/compact',
      async ({ body, request, set, caller }) => {
        const requestId = requestIdOf(set)
        return engine.compact(body, caller.tenant, { signal: request.signal, requestId: requestId || undefined })
      },
      {
        body: checkedBody(CompactBody),
        parse: JSON_BODY,
        response: { 200: CompactedResponse, ...errorResponses(400, 404, 502, 503, 504) },
        detail: {
          summary: 'Compact a history',
          description:
            "Compacts `input`, the `previous_response_id` chain, or both: the upstream model writes a summary of it (asked with the gateway's own summarising instructions). " +
            "The answer's `output` is the user messages of the history followed by one `compaction` item whose `encrypted_content` is the summary sealed by the gateway; " +
            'sent back as input (inline or in a chain), the upstream gets the user messages and the summary instead of everything before it. Nothing is stored.',
        },
      },
    )
}
