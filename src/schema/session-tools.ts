// TypeBox schemas of the long-session tools: POST /v1/responses/input_tokens and POST /v1/responses/compact
// (OpenAI's shapes), and the compaction item they deal in.
import { t, type Static } from 'elysia'
import { CreateResponseBody, Item, Usage } from './responses'

/** The create body, with `model` optional (OpenAI's input_tokens takes the same fields). */
export const InputTokensBody = t.Object(
  { ...CreateResponseBody.properties, model: t.Optional(t.Union([t.String({ minLength: 1 }), t.Null()], { description: 'Model id as the upstream knows it' })) },
  {
    additionalProperties: true,
    description: 'The same body as POST /v1/responses; nothing runs and nothing is stored.',
    examples: [{ model: 'Qwen/Qwen3-8B', input: 'How many tokens is this?', previous_response_id: 'resp_0195f3c2a1b2000012ab34cd56ef7890' }],
  },
)
export type InputTokensRequest = Static<typeof InputTokensBody>

export const InputTokensObject = t.Object(
  { object: t.Literal('response.input_tokens'), input_tokens: t.Integer({ minimum: 0 }) },
  { examples: [{ object: 'response.input_tokens', input_tokens: 1532 }] },
)
