// The streaming events of a response (SSE `data:` lines, WebSocket text frames), for the OpenAPI document:
// the gateway produces them from the upstream's stream (engine/normalise.ts), so they are described here once
// and not validated on the way out.
import { t } from 'elysia'
import { Item } from './responses'

const COMPONENT = '#/components/schemas/'
const seq = { sequence_number: t.Integer({ description: 'position in the stream, from 0; resume with `starting_after`' }) }
const lifecycle = (types: [string, ...string[]], description: string) =>
  t.Object({ type: t.UnionEnum(types), ...seq, response: t.Ref(`${COMPONENT}ResponseObject`) }, { additionalProperties: true, description })
const item = (types: [string, ...string[]], description: string) =>
  t.Object({ type: t.UnionEnum(types), ...seq, output_index: t.Integer(), item: Item }, { additionalProperties: true, description })
const delta = (types: [string, ...string[]], description: string) =>
  t.Object({ type: t.UnionEnum(types), ...seq, item_id: t.String(), output_index: t.Integer(), delta: t.String() }, { additionalProperties: true, description })
const done = (types: [string, ...string[]], description: string) =>
  t.Object({ type: t.UnionEnum(types), ...seq, item_id: t.String(), output_index: t.Integer() }, { additionalProperties: true, description })

export const ResponseStreamEvent = t.Union(
  [
    lifecycle(['response.created', 'response.queued', 'response.in_progress'], 'The response as it starts (queued: background responses only).'),
    lifecycle(['response.completed', 'response.incomplete', 'response.failed'], 'The last event: the final response, as stored.'),
    item(['response.output_item.added', 'response.output_item.done'], 'An output item (message, reasoning, function_call, custom_tool_call, …) starts or is complete.'),
    t.Object(
      { type: t.UnionEnum(['response.content_part.added', 'response.content_part.done', 'response.reasoning_part.added', 'response.reasoning_part.done']), ...seq, item_id: t.String(), output_index: t.Integer(), content_index: t.Integer(), part: t.Object({ type: t.String() }, { additionalProperties: true }) },
      { additionalProperties: true, description: 'A content part of a message or reasoning item starts or is complete.' },
    ),
    delta(
      ['response.output_text.delta', 'response.reasoning_text.delta', 'response.reasoning_summary_text.delta', 'response.function_call_arguments.delta', 'response.custom_tool_call_input.delta'],
      'A piece of text, reasoning, function arguments or custom tool input.',
    ),
    done(
      ['response.output_text.done', 'response.reasoning_text.done', 'response.function_call_arguments.done', 'response.custom_tool_call_input.done'],
      'The whole text, arguments (`arguments`) or input (`input`) of a part.',
    ),
    t.Object(
      {
        type: t.Literal('error'),
        sequence_number: t.Optional(t.Integer()),
        message: t.String(),
        code: t.Union([t.String(), t.Null()]),
        param: t.Union([t.String(), t.Null()]),
        status: t.Optional(t.Integer({ description: 'WebSocket mode: the HTTP status the request would have had' })),
        error: t.Object({ message: t.String(), type: t.String(), param: t.Union([t.String(), t.Null()]), code: t.Union([t.String(), t.Null()]) }),
      },
      { additionalProperties: true, description: 'A failure after the stream began (SSE: the last event), or a rejected WebSocket request (the socket stays open).' },
    ),
  ],
  {
    description:
      'One streaming event. SSE: each is one `event: <type>` + `data: <json>` frame; the stream ends after `response.completed`, `response.incomplete`, `response.failed` or `error`. WebSocket: each is one text frame.',
    examples: [
      { type: 'response.output_text.delta', sequence_number: 4, item_id: 'msg_0195f3c2a1b3000012ab34cd56ef7891', output_index: 0, content_index: 0, delta: 'Hel', logprobs: [] },
    ],
  },
)
