// TypeBox schemas of the Responses API: the create request, items and the Response object (stream events:
// events.ts). They validate requests, give the TypeScript types (Static<>) and document the routes.
import { t, type Static } from 'elysia'
// TypeBox's own Integer: Elysia's t.Integer also takes a numeric string ("5"), which a JSON body must not pass as.
import { Type } from '@sinclair/typebox'
import { Metadata, EXAMPLE_MODEL } from './common'

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()])

/** Any Responses item. Items are open-ended (many types, new ones often); `type` is checked where it matters. */
export const Item = t.Object(
  {
    type: t.Optional(t.String({ description: 'message, function_call, function_call_output, reasoning, custom_tool_call, …' })),
    id: t.Optional(Nullable(t.String())),
    role: t.Optional(t.String()),
  },
  { additionalProperties: true, examples: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }] },
)
export type ItemT = Static<typeof Item>

/** An item the gateway stores or shows (input, output, conversation): always with an `id` and a `type`; other fields as produced. */
export type ItemBody = { id: string; type: string; [key: string]: unknown }
/** Item, typed as the gateway holds it (the same schema). */
const ItemWithId = t.Unsafe<ItemBody>(Item)

/** Builds a union of string literals; `error` is the message a client gets for any other value. */
const OneOf = (values: readonly string[], error: string, description?: string, allowed: readonly string[] = values) =>
  t.Union(
    values.map((v) => t.Literal(v)),
    { error: `${error}: expected one of ${allowed.join(', ')}`, ...(description ? { description } : {}) },
  )

/** Every input item type of the Responses API (the openai SDK's ResponseInputItem), which Codex's items are among. */
export const INPUT_ITEM_TYPES = [
  'message',
  'function_call',
  'function_call_output',
  'custom_tool_call',
  'custom_tool_call_output',
  'reasoning',
  'compaction',
  'compaction_trigger',
  'item_reference',
  'file_search_call',
  'web_search_call',
  'computer_call',
  'computer_call_output',
  'tool_search_call',
  'tool_search_output',
  'additional_tools',
  'configuration_update',
  'image_generation_call',
  'code_interpreter_call',
  'local_shell_call',
  'local_shell_call_output',
  'shell_call',
  'shell_call_output',
  'apply_patch_call',
  'apply_patch_call_output',
  'mcp_list_tools',
  'mcp_approval_request',
  'mcp_approval_response',
  'mcp_call',
  'program',
  'program_output',
] as const

/** Items that answer or make a tool call: without their call_id nothing ties them to the call. */
const CALL_ITEM_FIELDS = {
  function_call: { name: t.String(), arguments: t.String() },
  custom_tool_call: { name: t.String(), input: t.String() },
  function_call_output: { output: t.Union([t.String(), t.Array(t.Unknown())]) },
  custom_tool_call_output: { output: t.Union([t.String(), t.Array(t.Unknown())]) },
} as const
const OTHER_ITEM_TYPES = INPUT_ITEM_TYPES.filter((x) => !(x in CALL_ITEM_FIELDS) && x !== 'mcp_approval_response')
const ItemId = t.Optional(Nullable(t.String()))

/** The client's answer to an `mcp_approval_request`: the call runs (approve) or the model is told it was denied. */
export const McpApprovalResponseItem = t.Object(
  {
    type: t.Literal('mcp_approval_response'),
    id: ItemId,
    approval_request_id: t.String({ minLength: 1, description: 'the id of the mcp_approval_request it answers' }),
    approve: t.Boolean(),
    reason: t.Optional(Nullable(t.String())),
  },
  {
    additionalProperties: true,
    examples: [{ type: 'mcp_approval_response', approval_request_id: 'mcpr_0195f3c2a1b3000012ab34cd56ef7891', approve: true }],
  },
)

/**
 * An input item (request `input`, conversation items): its `type` must be a Responses item type (or absent: an easy
 * message with a `role`); tool calls and their outputs need their `call_id`. Other fields travel as sent.
 */
export const InputItem = t.Union(
  [
    ...Object.entries(CALL_ITEM_FIELDS).map(([type, fields]) =>
      t.Object({ type: t.Literal(type), id: ItemId, call_id: t.String({ minLength: 1 }), ...fields }, { additionalProperties: true }),
    ),
    McpApprovalResponseItem,
    t.Object(
      {
        type: t.Optional(OneOf(OTHER_ITEM_TYPES, 'unknown item type', 'message (the default with a role), reasoning, …', INPUT_ITEM_TYPES)),
        id: ItemId,
        role: t.Optional(t.String()),
      },
      { additionalProperties: true },
    ),
  ],
  { examples: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] }] },
)

/** Every tool type of the Responses API (the openai SDK's Tool). */
export const TOOL_TYPES = [
  'function',
  'custom',
  'namespace',
  'file_search',
  'web_search',
  'web_search_2025_08_26',
  'web_search_preview',
  'web_search_preview_2025_03_11',
  'mcp',
  'code_interpreter',
  'image_generation',
  'local_shell',
  'shell',
  'apply_patch',
  'tool_search',
  'computer',
  'computer_use_preview',
  'programmatic_tool_calling',
] as const

export const Tool = t.Object(
  { type: OneOf(TOOL_TYPES, 'unknown tool type'), name: t.Optional(t.String()) },
  {
    additionalProperties: true,
    examples: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
  },
)

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'] as const
export const Reasoning = t.Object(
  {
    effort: t.Optional(Nullable(OneOf(REASONING_EFFORTS, 'unknown reasoning effort'))),
    summary: t.Optional(Nullable(t.String({ description: 'auto, concise or detailed' }))),
  },
  { additionalProperties: true, examples: [{ effort: 'medium', summary: 'auto' }] },
)

export const TextConfig = t.Object(
  {
    format: t.Optional(
      Nullable(
        t.Object(
          { type: OneOf(['text', 'json_schema', 'json_object'], 'unknown text format type') },
          { additionalProperties: true, description: 'text, json_schema (with name and schema) or json_object' },
        ),
      ),
    ),
    verbosity: t.Optional(Nullable(OneOf(['low', 'medium', 'high'], 'unknown verbosity'))),
  },
  { additionalProperties: true, examples: [{ format: { type: 'text' } }] },
)

export const ToolChoice = t.Union([
  OneOf(['none', 'auto', 'required'], 'unknown tool_choice mode'),
  t.Object(
    { type: t.String({ minLength: 1 }), name: t.Optional(t.String()), server_label: t.Optional(t.String()) },
    { additionalProperties: true, description: 'a tool by type (and name): function, custom, mcp (server_label), allowed_tools, …' },
  ),
])

/** What `include` may ask for (the openai SDK's ResponseIncludable). */
export const INCLUDABLES = [
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'code_interpreter_call.outputs',
  'reasoning.encrypted_content',
  'message.output_text.logprobs',
] as const

/** A tool as a Response shows it (src/tools/echo.ts): OpenAI's response shape of its type, every key present. */
export const ResponseTool = t.Object(
  { type: t.String() },
  {
    additionalProperties: true,
    description:
      "The request's tool in OpenAI's response shape: a function has type, name, description, parameters and strict (null where unset); other types get their keys and defaults likewise",
    examples: [
      {
        type: 'function',
        name: 'get_weather',
        description: null,
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
        strict: null,
      },
    ],
  },
)

export const ConversationRef = t.Union([
  t.String({ minLength: 1 }),
  t.Object({ id: t.String({ minLength: 1 }) }, { additionalProperties: true }),
])

export const CreateResponseBody = t.Object(
  {
    model: t.String({ minLength: 1, description: 'Model id as the upstream knows it' }),
    input: t.Optional(t.Union([t.String(), t.Array(InputItem)], { description: 'A string (one user message) or a list of items' })),
    instructions: t.Optional(Nullable(t.Union([t.String(), t.Array(InputItem)]))),
    previous_response_id: t.Optional(Nullable(t.String({ minLength: 1 }))),
    conversation: t.Optional(Nullable(ConversationRef)),
    store: t.Optional(Nullable(t.Boolean({ description: 'default true' }))),
    stream: t.Optional(Nullable(t.Boolean({ description: 'default false' }))),
    background: t.Optional(Nullable(t.Boolean({ description: 'default false' }))),
    tools: t.Optional(Nullable(t.Array(Tool))),
    tool_choice: t.Optional(Nullable(ToolChoice)),
    parallel_tool_calls: t.Optional(Nullable(t.Boolean())),
    max_output_tokens: t.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    max_tool_calls: t.Optional(Nullable(Type.Integer({ minimum: 1 }))),
    temperature: t.Optional(Nullable(t.Number({ minimum: 0, maximum: 2 }))),
    top_p: t.Optional(Nullable(t.Number({ minimum: 0, maximum: 1 }))),
    presence_penalty: t.Optional(Nullable(t.Number())),
    frequency_penalty: t.Optional(Nullable(t.Number())),
    top_logprobs: t.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 20 }))),
    reasoning: t.Optional(Nullable(Reasoning)),
    text: t.Optional(Nullable(TextConfig)),
    // Not t.UnionEnum: Elysia gives that a default (its first value), which would change what the upstream gets.
    truncation: t.Optional(Nullable(t.Union([t.Literal('auto'), t.Literal('disabled')]))),
    include: t.Optional(Nullable(t.Array(OneOf(INCLUDABLES, 'unknown include value')))),
    metadata: t.Optional(Nullable(Metadata)),
    prompt_cache_key: t.Optional(Nullable(t.String())),
    service_tier: t.Optional(Nullable(t.String())),
    safety_identifier: t.Optional(Nullable(t.String())),
    user: t.Optional(Nullable(t.String())),
    stream_options: t.Optional(Nullable(t.Object({}, { additionalProperties: true }))),
    context_management: t.Optional(
      Nullable(
        t.Array(
          t.Object(
            {
              type: t.String({ description: "'compaction'" }),
              compact_threshold: t.Optional(
                Nullable(
                  Type.Integer({ minimum: 1, description: 'input tokens past which the history is compacted before the model call' }),
                ),
              ),
            },
            { additionalProperties: true },
          ),
        ),
      ),
    ),
    /** Codex's WebSocket prewarm: store the request, no model call. */
    generate: t.Optional(t.Boolean()),
    /** Codex sends its own bookkeeping here; accepted and not forwarded. */
    client_metadata: t.Optional(Nullable(t.Record(t.String(), t.Unknown()))),
  },
  {
    additionalProperties: true,
    description: 'Create a response. Unknown fields are passed to the upstream unchanged.',
    examples: [
      { model: EXAMPLE_MODEL, input: 'Write a haiku about gateways.' },
      {
        model: EXAMPLE_MODEL,
        input: 'And now one about databases.',
        previous_response_id: 'resp_0195f3c2a1b2000012ab34cd56ef7890',
        stream: true,
      },
    ],
  },
)
export type CreateResponseRequest = Static<typeof CreateResponseBody>

export const Usage = t.Object({
  input_tokens: Type.Integer(),
  input_tokens_details: t.Object({ cached_tokens: Type.Integer() }),
  output_tokens: Type.Integer(),
  output_tokens_details: t.Object({ reasoning_tokens: Type.Integer() }),
  total_tokens: Type.Integer(),
})
export type UsageT = Static<typeof Usage>

export const ResponseStatus = t.UnionEnum(['queued', 'in_progress', 'completed', 'failed', 'incomplete', 'cancelled'])

export const ResponseObject = t.Object(
  {
    id: t.String(),
    object: t.Literal('response'),
    created_at: Type.Integer(),
    completed_at: Nullable(Type.Integer()),
    status: ResponseStatus,
    model: t.String(),
    output: t.Array(ItemWithId),
    output_text: t.Optional(t.String()),
    usage: Nullable(Usage),
    error: Nullable(t.Object({ code: t.String(), message: t.String() })),
    incomplete_details: Nullable(t.Object({ reason: t.String() })),
    instructions: t.Union([t.String(), t.Array(Item), t.Null()]),
    previous_response_id: Nullable(t.String()),
    conversation: Nullable(t.Object({ id: t.String() })),
    tools: t.Array(ResponseTool),
    tool_choice: t.Union([t.String(), t.Object({}, { additionalProperties: true })]),
    parallel_tool_calls: t.Boolean(),
    temperature: t.Number(),
    top_p: t.Number(),
    presence_penalty: t.Number(),
    frequency_penalty: t.Number(),
    top_logprobs: Type.Integer(),
    max_output_tokens: Nullable(Type.Integer()),
    max_tool_calls: Nullable(Type.Integer()),
    reasoning: Nullable(t.Object({}, { additionalProperties: true })),
    text: t.Object({}, { additionalProperties: true }),
    truncation: t.String(),
    metadata: t.Record(t.String(), t.String()),
    store: t.Boolean(),
    background: t.Boolean(),
    service_tier: Nullable(t.String()),
    safety_identifier: Nullable(t.String()),
    prompt_cache_key: Nullable(t.String()),
  },
  {
    additionalProperties: true,
    description: 'A response: every key is always present, null where unset',
    examples: [
      {
        id: 'resp_0195f3c2a1b2000012ab34cd56ef7890',
        object: 'response',
        created_at: 1764107000,
        completed_at: 1764107001,
        status: 'completed',
        model: EXAMPLE_MODEL,
        output: [
          {
            type: 'message',
            id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
          },
        ],
        output_text: 'Hello!',
        usage: {
          input_tokens: 9,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 3,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 12,
        },
        error: null,
        incomplete_details: null,
        instructions: null,
        previous_response_id: null,
        conversation: null,
        tools: [],
        tool_choice: 'auto',
        parallel_tool_calls: true,
        temperature: 1,
        top_p: 1,
        presence_penalty: 0,
        frequency_penalty: 0,
        top_logprobs: 0,
        max_output_tokens: null,
        max_tool_calls: null,
        reasoning: null,
        text: { format: { type: 'text' } },
        truncation: 'disabled',
        metadata: {},
        store: true,
        background: false,
        service_tier: 'auto',
        safety_identifier: null,
        prompt_cache_key: null,
      },
    ],
  },
)
export type ResponseObjectT = Static<typeof ResponseObject>

export const DeletedResponse = t.Object(
  { id: t.String(), object: t.Literal('response'), deleted: t.Literal(true) },
  { examples: [{ id: 'resp_0195f3c2a1b2000012ab34cd56ef7890', object: 'response', deleted: true }] },
)

export const ItemList = t.Object(
  {
    object: t.Literal('list'),
    data: t.Array(Item),
    first_id: Nullable(t.String()),
    last_id: Nullable(t.String()),
    has_more: t.Boolean(),
  },
  {
    examples: [
      {
        object: 'list',
        data: [
          { type: 'message', id: 'msg_0195f3c2a1b3000012ab34cd56ef7891', role: 'user', content: [{ type: 'input_text', text: 'Hello' }] },
        ],
        first_id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
        last_id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
        has_more: false,
      },
    ],
  },
)

export const ResponseIdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 200, description: 'resp_… id' }) })

export const RetrieveQuery = t.Object({
  // Strings checked in the handler, for the same reason as PaginationQuery.limit.
  stream: t.Optional(t.Union([t.Literal('true'), t.Literal('false')], { description: 'true: replay the stored events as SSE' })),
  starting_after: t.Optional(t.String({ pattern: '^-?[0-9]+$', description: 'resume after this sequence number' })),
  'include[]': t.Optional(t.Union([t.String(), t.Array(t.String())])),
  include: t.Optional(t.Union([t.String(), t.Array(t.String())])),
})
