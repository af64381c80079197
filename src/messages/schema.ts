// TypeBox schemas of the Anthropic Messages API as agentgate serves it (POST /v1/messages, count_tokens): they
// validate requests, give the TypeScript types (Static<>) and document the routes. Unknown fields are accepted.
import { t, type Static } from 'elysia'
// TypeBox's own Integer: Elysia's t.Integer also takes a numeric string ("5"), which a JSON body must not pass as.
import { Type } from '@sinclair/typebox'

const Open = { additionalProperties: true } as const

/** One content block of a message. Its `type` is checked by the translator (messages/request.ts), which names the block. */
export const ContentBlock = t.Object(
  { type: t.String({ minLength: 1, description: 'text, image, document, tool_use, tool_result, thinking, redacted_thinking' }) },
  { ...Open, examples: [{ type: 'text', text: 'Hello' }] },
)
export type ContentBlockT = Static<typeof ContentBlock> & Record<string, unknown>

export const MessageParam = t.Object(
  {
    role: t.Union([t.Literal('user'), t.Literal('assistant'), t.Literal('system')], {
      error: "a message's role must be user, assistant or system",
    }),
    content: t.Union([t.String(), t.Array(ContentBlock)]),
  },
  Open,
)

export const ToolParam = t.Object(
  {
    name: t.String({ minLength: 1 }),
    description: t.Optional(t.String()),
    input_schema: t.Optional(t.Object({}, Open)),
    type: t.Optional(t.String({ description: 'custom (the default); server tool types are left out' })),
    defer_loading: t.Optional(t.Boolean()),
  },
  Open,
)

export const ToolChoiceParam = t.Object(
  {
    type: t.Union([t.Literal('auto'), t.Literal('any'), t.Literal('tool'), t.Literal('none')], {
      error: 'tool_choice.type must be auto, any, tool or none',
    }),
    name: t.Optional(t.String()),
    disable_parallel_tool_use: t.Optional(t.Boolean()),
  },
  Open,
)

export const ThinkingParam = t.Object(
  {
    type: t.Union([t.Literal('enabled'), t.Literal('disabled'), t.Literal('adaptive')], {
      error: 'thinking.type must be enabled, disabled or adaptive',
    }),
    budget_tokens: t.Optional(Type.Integer({ minimum: 0 })),
    display: t.Optional(t.String({ description: 'summarized or omitted' })),
  },
  Open,
)

const SystemParam = t.Union([t.String(), t.Array(ContentBlock)], {
  description: 'a string or text blocks (cache_control accepted and ignored)',
})

export const CreateMessageBody = t.Object(
  {
    model: t.String({ minLength: 1, description: 'An upstream model id, or any other id (served by --anthropic-model)' }),
    messages: t.Array(MessageParam),
    max_tokens: Type.Integer({ minimum: 1 }),
    system: t.Optional(SystemParam),
    stream: t.Optional(t.Boolean()),
    tools: t.Optional(t.Array(ToolParam)),
    tool_choice: t.Optional(ToolChoiceParam),
    temperature: t.Optional(t.Number({ minimum: 0, maximum: 2 })),
    top_p: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    top_k: t.Optional(Type.Integer({ minimum: 0 })),
    stop_sequences: t.Optional(t.Array(t.String())),
    thinking: t.Optional(ThinkingParam),
    metadata: t.Optional(t.Object({ user_id: t.Optional(t.Union([t.String(), t.Null()])) }, Open)),
  },
  {
    ...Open,
    description: 'Create a message (Anthropic Messages API). Unknown fields (context_management, output_config, …) are accepted.',
    examples: [{ model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello' }] }],
  },
)
export type CreateMessageRequest = Static<typeof CreateMessageBody>

export const CountTokensBody = t.Object(
  {
    model: t.String({ minLength: 1 }),
    messages: t.Array(MessageParam),
    system: t.Optional(SystemParam),
    tools: t.Optional(t.Array(ToolParam)),
    tool_choice: t.Optional(ToolChoiceParam),
    thinking: t.Optional(ThinkingParam),
  },
  { ...Open, examples: [{ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello' }] }] },
)
export type CountTokensRequest = Static<typeof CountTokensBody>

export const CountTokensResult = t.Object({ input_tokens: Type.Integer() })

export const MessageUsage = t.Object({
  input_tokens: Type.Integer(),
  output_tokens: Type.Integer(),
  cache_creation_input_tokens: t.Union([Type.Integer(), t.Null()]),
  cache_read_input_tokens: t.Union([Type.Integer(), t.Null()]),
})
export type MessageUsageT = Static<typeof MessageUsage>

export const STOP_REASONS = ['end_turn', 'max_tokens', 'stop_sequence', 'tool_use', 'refusal'] as const
export type StopReason = (typeof STOP_REASONS)[number]

export const OutputBlock = t.Union([
  t.Object({ type: t.Literal('text'), text: t.String() }),
  t.Object({ type: t.Literal('tool_use'), id: t.String(), name: t.String(), input: t.Unknown() }),
  t.Object({ type: t.Literal('thinking'), thinking: t.String(), signature: t.String() }),
  // a web search the gateway ran (with --web-search-provider), shown as Anthropic shows its own
  t.Object({ type: t.Literal('server_tool_use'), id: t.String(), name: t.String(), input: t.Unknown() }),
  t.Object({ type: t.Literal('web_search_tool_result'), tool_use_id: t.String(), content: t.Unknown() }),
])
export type OutputBlockT = Static<typeof OutputBlock>

export const MessageObject = t.Object({
  id: t.String(),
  type: t.Literal('message'),
  role: t.Literal('assistant'),
  model: t.String(),
  content: t.Array(OutputBlock),
  stop_reason: t.Union([t.UnionEnum(STOP_REASONS), t.Null()]),
  stop_sequence: t.Union([t.String(), t.Null()]),
  usage: MessageUsage,
})
export type MessageObjectT = Static<typeof MessageObject>

export const AnthropicErrorBody = t.Object(
  {
    type: t.Literal('error'),
    error: t.Object({
      type: t.String({
        description:
          'invalid_request_error, authentication_error, permission_error, not_found_error, request_too_large, rate_limit_error, api_error, overloaded_error',
      }),
      message: t.String(),
    }),
  },
  {
    $id: '#/components/schemas/AnthropicErrorBody',
    description: "Every error on the /v1/messages routes (Anthropic's envelope)",
    examples: [
      {
        type: 'error',
        error: { type: 'invalid_request_error', message: "messages.0.content.0: unsupported content block type 'hologram'." },
      },
    ],
  },
)

export const AnthropicModelList = t.Object({
  data: t.Array(t.Object({ type: t.Literal('model'), id: t.String(), display_name: t.String(), created_at: t.String() })),
  has_more: t.Boolean(),
  first_id: t.Union([t.String(), t.Null()]),
  last_id: t.Union([t.String(), t.Null()]),
})
