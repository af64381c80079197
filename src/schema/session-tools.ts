// TypeBox schemas of the long-session tools: POST /v1/responses/input_tokens and POST /v1/responses/compact
// (OpenAI's shapes).
import { t, type Static } from 'elysia'
// TypeBox's own Integer: Elysia's t.Integer also takes a numeric string ("5"), which a JSON body must not pass as.
import { Type } from '@sinclair/typebox'
import { EXAMPLE_MODEL } from './common'
import { CreateResponseBody, Item, Usage } from './responses'

/** The create body, with `model` optional (OpenAI's input_tokens takes the same fields). */
export const InputTokensBody = t.Object(
  {
    ...CreateResponseBody.properties,
    model: t.Optional(t.Union([t.String({ minLength: 1 }), t.Null()], { description: 'Model id as the upstream knows it' })),
  },
  {
    additionalProperties: true,
    description: 'The same body as POST /v1/responses; nothing runs and nothing is stored.',
    examples: [{ model: EXAMPLE_MODEL, input: 'How many tokens is this?', previous_response_id: 'resp_0195f3c2a1b2000012ab34cd56ef7890' }],
  },
)
export type InputTokensRequest = Static<typeof InputTokensBody>

export const InputTokensObject = t.Object(
  { object: t.Literal('response.input_tokens'), input_tokens: Type.Integer({ minimum: 0 }) },
  { examples: [{ object: 'response.input_tokens', input_tokens: 1532 }] },
)

const P = CreateResponseBody.properties

export const CompactBody = t.Object(
  {
    model: P.model,
    input: P.input,
    instructions: t.Optional(
      t.Union([t.String(), t.Null()], {
        description: "The session's instructions: shown to the model that writes the summary, for context",
      }),
    ),
    previous_response_id: P.previous_response_id,
    prompt_cache_key: P.prompt_cache_key,
  },
  {
    additionalProperties: true,
    description:
      'What to compact: `input`, the `previous_response_id` chain, or both (the chain first). Other fields (e.g. `reasoning`, `temperature`) go to the summarising model call.',
    examples: [{ model: EXAMPLE_MODEL, previous_response_id: 'resp_0195f3c2a1b2000012ab34cd56ef7890' }],
  },
)
export type CompactRequest = Static<typeof CompactBody>

export const CompactedResponse = t.Object(
  { id: t.String(), object: t.Literal('response.compaction'), created_at: Type.Integer(), output: t.Array(Item), usage: Usage },
  {
    description:
      "The compacted history: the user's messages, then one compaction item. Use it as the input of the next request (without previous_response_id).",
    examples: [
      {
        id: 'resp_0195f3c2a1b2000012ab34cd56ef7890',
        object: 'response.compaction',
        created_at: 1764107000,
        output: [
          {
            type: 'message',
            id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
            role: 'user',
            content: [{ type: 'input_text', text: 'Refactor the parser.' }],
          },
          { type: 'compaction', id: 'cmp_0195f3c2a1b4000012ab34cd56ef7892', encrypted_content: 'ags1.…' },
        ],
        usage: {
          input_tokens: 20480,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 900,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 21380,
        },
      },
    ],
  },
)
