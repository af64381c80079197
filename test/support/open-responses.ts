// The Response object as the Open Responses specification (openresponses.org, its ResponseResource schema)
// requires it, written out here as TypeBox for our conformance tests: every key of the resource, the
// item and tool shapes it allows, nullable keys present. `conformanceErrors` lists what does not fit.
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Type as T, type TSchema } from '@sinclair/typebox'

const Nullable = (s: TSchema) => T.Union([s, T.Null()])
const Open = <P extends Record<string, TSchema>>(props: P) => T.Object(props, { additionalProperties: true })

const OutputText = Open({
  type: T.Literal('output_text'),
  text: T.String(),
  annotations: T.Array(T.Unknown()),
  logprobs: T.Array(T.Unknown()),
})
const InputText = Open({ type: T.Literal('input_text'), text: T.String() })
const ContentPart = T.Union([OutputText, InputText, Open({ type: T.String(), text: T.Optional(T.String()) })])

const ItemStatus = T.Union([T.Literal('in_progress'), T.Literal('completed'), T.Literal('incomplete')])

export const OpenResponsesItem = T.Union([
  Open({
    type: T.Literal('message'),
    id: T.String(),
    status: ItemStatus,
    role: T.Union(['user', 'assistant', 'system', 'developer'].map((r) => T.Literal(r))),
    content: T.Array(ContentPart),
  }),
  Open({
    type: T.Literal('function_call'),
    id: T.String(),
    call_id: T.String(),
    name: T.String(),
    arguments: T.String(),
    status: ItemStatus,
  }),
  Open({
    type: T.Literal('function_call_output'),
    id: T.String(),
    call_id: T.String(),
    output: T.Union([T.String(), T.Array(ContentPart)]),
    status: ItemStatus,
  }),
  Open({
    type: T.Literal('reasoning'),
    id: T.String(),
    summary: T.Array(ContentPart),
    content: T.Optional(T.Array(ContentPart)),
    encrypted_content: T.Optional(T.String()),
  }),
])

/** Tool shapes of the specification (function, file_search, web_search): every key present, null where unset. */
export const OpenResponsesTool = T.Union([
  Open({
    type: T.Literal('function'),
    name: T.String(),
    description: Nullable(T.String()),
    parameters: Nullable(T.Record(T.String(), T.Unknown())),
    strict: Nullable(T.Boolean()),
  }),
  Open({
    type: T.Literal('file_search'),
    vector_store_ids: T.Array(T.String()),
    max_num_results: T.Integer(),
    ranking_options: T.Unknown(),
    filters: T.Unknown(),
  }),
  Open({
    type: T.Literal('web_search'),
    user_location: T.Optional(T.Unknown()),
    search_context_size: T.Optional(T.Union(['low', 'medium', 'high'].map((s) => T.Literal(s)))),
    external_web_access: T.Optional(T.Boolean()),
  }),
])

const ToolChoice = T.Union([
  T.Union(['none', 'auto', 'required'].map((s) => T.Literal(s))),
  Open({ type: T.Literal('function'), name: T.Optional(T.String()) }),
  Open({ type: T.Literal('file_search') }),
  Open({ type: T.Literal('web_search') }),
  Open({
    type: T.Literal('allowed_tools'),
    tools: T.Array(Open({ type: T.String() })),
    mode: T.Union(['none', 'auto', 'required'].map((s) => T.Literal(s))),
  }),
])

const Usage = Open({
  input_tokens: T.Integer(),
  output_tokens: T.Integer(),
  total_tokens: T.Integer(),
  input_tokens_details: Open({ cached_tokens: T.Integer() }),
  output_tokens_details: Open({ reasoning_tokens: T.Integer() }),
})

export const OpenResponsesResource = Open({
  id: T.String(),
  object: T.Literal('response'),
  created_at: T.Integer(),
  completed_at: Nullable(T.Integer()),
  status: T.String(),
  incomplete_details: Nullable(Open({ reason: T.String() })),
  model: T.String(),
  previous_response_id: Nullable(T.String()),
  instructions: Nullable(T.String()),
  output: T.Array(OpenResponsesItem),
  error: Nullable(Open({ code: T.String(), message: T.String() })),
  tools: T.Array(OpenResponsesTool),
  tool_choice: ToolChoice,
  truncation: T.Union([T.Literal('auto'), T.Literal('disabled')]),
  parallel_tool_calls: T.Boolean(),
  text: Open({ format: Open({ type: T.String() }) }),
  top_p: T.Number(),
  presence_penalty: T.Number(),
  frequency_penalty: T.Number(),
  top_logprobs: T.Integer(),
  temperature: T.Number(),
  reasoning: Nullable(Open({})),
  usage: Nullable(Usage),
  max_output_tokens: Nullable(T.Integer()),
  max_tool_calls: Nullable(T.Integer()),
  store: T.Boolean(),
  background: T.Boolean(),
  service_tier: T.String(),
  metadata: T.Unknown(),
  safety_identifier: Nullable(T.String()),
  prompt_cache_key: Nullable(T.String()),
  conversation: T.Optional(Nullable(Open({ id: T.String() }))),
})

const resourceCheck = TypeCompiler.Compile(OpenResponsesResource)

/** Where a value departs from the Open Responses ResponseResource: "path: message" lines, none when it conforms. */
export function conformanceErrors(value: unknown): string[] {
  return [...resourceCheck.Errors(value)].map((e) => `${e.path || '/'}: ${e.message}`)
}
