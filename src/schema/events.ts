// The streaming events of a response, declared once: what the gateway emits (SSE `data:` lines, WebSocket text
// frames, the stored event log) and what the upstream adapters hand the engine. Their types are Static<> of these
// schemas, so `switch (ev.type)` narrows; the union also describes the SSE answer in the OpenAPI document. Events
// are produced by the gateway itself (engine/normalise.ts), so they are never validated on the way out.
import { Type as t, type Static, type TProperties, type TSchema } from '@sinclair/typebox'
import { Item, type ItemBody, type ResponseObjectT } from './responses'

const COMPONENT = '#/components/schemas/'
const Nullable = <T extends TSchema>(s: T) => t.Union([s, t.Null()])

/** An item in an event: a Responses item with the gateway's id (open-ended: many types, fields as produced). */
const EventItem = t.Unsafe<ItemBody>(Item)
/** A content part (output_text, reasoning_text, summary_text, refusal, …). */
export type ContentPart = { type: string; [key: string]: unknown }
const Part = t.Unsafe<ContentPart>(
  t.Object(
    { type: t.String() },
    { additionalProperties: true, description: 'output_text (with annotations and logprobs), reasoning_text, summary_text, …' },
  ),
)
/** The Response object; in the document a reference to its component (registered by http/docs.ts). */
const ResponseRef = t.Unsafe<ResponseObjectT>(t.Ref(`${COMPONENT}ResponseObject`))

const sequence = t.Integer({ description: 'position in the stream, from 0; resume with `starting_after`' })
const where = { item_id: t.String(), output_index: t.Integer() }
const content = { ...where, content_index: t.Integer() }
const summary = { ...where, summary_index: t.Integer() }
const logprobs = t.Optional(t.Array(t.Unknown(), { description: 'always present on output_text events: [] unless asked for' }))

/** One event as the gateway emits it: its type, its sequence number, its fields (others may follow). */
const emitted = <T extends string, P extends TProperties>(type: T, props: P, description?: string) =>
  t.Object(
    { type: t.Literal(type), sequence_number: sequence, ...props },
    { additionalProperties: true, ...(description ? { description } : {}) },
  )
/** The same event as an adapter yields it: numbered by the upstream, if at all (the gateway renumbers). */
const upstream = <T extends string, P extends TProperties>(type: T, props: P) =>
  t.Object({ type: t.Literal(type), sequence_number: t.Optional(t.Integer()), ...props }, { additionalProperties: true })

/** The events that belong to an item (parts, deltas, dones), by type: the same fields upstream and out. */
const ITEM_EVENTS = {
  'response.content_part.added': { ...content, part: Part },
  'response.content_part.done': { ...content, part: Part },
  'response.reasoning_summary_part.added': { ...summary, part: Part },
  'response.reasoning_summary_part.done': { ...summary, part: Part },
  'response.output_text.delta': { ...content, delta: t.String(), logprobs },
  'response.output_text.done': { ...content, text: t.String(), logprobs },
  'response.refusal.delta': { ...content, delta: t.String() },
  'response.refusal.done': { ...content, refusal: t.String() },
  'response.reasoning_text.delta': { ...content, delta: t.String() },
  'response.reasoning_text.done': { ...content, text: t.String() },
  'response.reasoning_summary_text.delta': { ...summary, delta: t.String() },
  'response.reasoning_summary_text.done': { ...summary, text: t.String() },
  'response.function_call_arguments.delta': { ...where, delta: t.String() },
  'response.function_call_arguments.done': { ...where, arguments: t.String(), name: t.Optional(t.String()) },
  'response.custom_tool_call_input.delta': { ...where, delta: t.String() },
  'response.custom_tool_call_input.done': { ...where, input: t.String() },
  // Gateway-run tools (engine/tool-rounds.ts): only on a turn that declares them.
  'response.mcp_call_arguments.delta': { ...where, delta: t.String() },
  'response.mcp_call_arguments.done': { ...where, arguments: t.String() },
  'response.mcp_call.in_progress': where,
  'response.mcp_call.completed': where,
  'response.mcp_call.failed': where,
  'response.mcp_list_tools.in_progress': where,
  'response.mcp_list_tools.completed': where,
  'response.mcp_list_tools.failed': where,
  'response.web_search_call.in_progress': where,
  'response.web_search_call.searching': where,
  'response.web_search_call.completed': where,
}
type ItemEventType = keyof typeof ITEM_EVENTS
const I = ITEM_EVENTS

const lifecycle = 'The response as it starts (queued: background responses only).'
const terminal = 'The last event: the final response, as stored.'
const itemText = 'An output item (message, reasoning, function_call, custom_tool_call, …) starts or is complete.'
const partText = 'A content part of a message or reasoning item starts or is complete.'
const deltaText = 'A piece of text, reasoning, function arguments or custom tool input.'
const doneText = 'The whole text, arguments (`arguments`) or input (`input`) of a part.'
const mcpListText = 'The gateway lists the tools of an MCP server (an `mcp_list_tools` item): it starts, has them, or failed.'
const mcpCallText = 'The gateway calls an MCP tool (an `mcp_call` item): it starts, answered, or failed.'
const searchText = 'The gateway runs a web search (a `web_search_call` item): it starts, searches, and has its results.'

/** An error event: OpenAI's top-level fields and Open Responses' nested `error`, both at once. */
export const ErrorEvent = t.Object(
  {
    type: t.Literal('error'),
    sequence_number: t.Optional(sequence),
    message: t.String(),
    code: Nullable(t.String()),
    param: Nullable(t.String()),
    status: t.Optional(t.Integer({ description: 'WebSocket mode: the HTTP status the request would have had' })),
    error: t.Object({ message: t.String(), type: t.String(), param: Nullable(t.String()), code: Nullable(t.String()) }),
  },
  {
    additionalProperties: true,
    description: 'A failure after the stream began (SSE: the last event), or a rejected WebSocket request (the socket stays open).',
  },
)

export const ResponseStreamEvent = t.Union(
  [
    emitted('response.created', { response: ResponseRef }, lifecycle),
    emitted('response.queued', { response: ResponseRef }, lifecycle),
    emitted('response.in_progress', { response: ResponseRef }, lifecycle),
    emitted('response.completed', { response: ResponseRef }, terminal),
    emitted('response.incomplete', { response: ResponseRef }, terminal),
    emitted('response.failed', { response: ResponseRef }, terminal),
    emitted('response.output_item.added', { output_index: t.Integer(), item: EventItem }, itemText),
    emitted('response.output_item.done', { output_index: t.Integer(), item: EventItem }, itemText),
    emitted('response.content_part.added', I['response.content_part.added'], partText),
    emitted('response.content_part.done', I['response.content_part.done'], partText),
    emitted('response.reasoning_summary_part.added', I['response.reasoning_summary_part.added'], partText),
    emitted('response.reasoning_summary_part.done', I['response.reasoning_summary_part.done'], partText),
    emitted('response.output_text.delta', I['response.output_text.delta'], deltaText),
    emitted('response.output_text.done', I['response.output_text.done'], doneText),
    emitted('response.refusal.delta', I['response.refusal.delta'], deltaText),
    emitted('response.refusal.done', I['response.refusal.done'], doneText),
    emitted('response.reasoning_text.delta', I['response.reasoning_text.delta'], deltaText),
    emitted('response.reasoning_text.done', I['response.reasoning_text.done'], doneText),
    emitted('response.reasoning_summary_text.delta', I['response.reasoning_summary_text.delta'], deltaText),
    emitted('response.reasoning_summary_text.done', I['response.reasoning_summary_text.done'], doneText),
    emitted('response.function_call_arguments.delta', I['response.function_call_arguments.delta'], deltaText),
    emitted('response.function_call_arguments.done', I['response.function_call_arguments.done'], doneText),
    emitted('response.custom_tool_call_input.delta', I['response.custom_tool_call_input.delta'], deltaText),
    emitted('response.custom_tool_call_input.done', I['response.custom_tool_call_input.done'], doneText),
    emitted('response.mcp_list_tools.in_progress', I['response.mcp_list_tools.in_progress'], mcpListText),
    emitted('response.mcp_list_tools.completed', I['response.mcp_list_tools.completed'], mcpListText),
    emitted('response.mcp_list_tools.failed', I['response.mcp_list_tools.failed'], mcpListText),
    emitted('response.mcp_call_arguments.delta', I['response.mcp_call_arguments.delta'], deltaText),
    emitted('response.mcp_call_arguments.done', I['response.mcp_call_arguments.done'], doneText),
    emitted('response.mcp_call.in_progress', I['response.mcp_call.in_progress'], mcpCallText),
    emitted('response.mcp_call.completed', I['response.mcp_call.completed'], mcpCallText),
    emitted('response.mcp_call.failed', I['response.mcp_call.failed'], mcpCallText),
    emitted('response.web_search_call.in_progress', I['response.web_search_call.in_progress'], searchText),
    emitted('response.web_search_call.searching', I['response.web_search_call.searching'], searchText),
    emitted('response.web_search_call.completed', I['response.web_search_call.completed'], searchText),
    ErrorEvent,
  ],
  {
    description:
      'One streaming event. SSE: each is one `event: <type>` + `data: <json>` frame; the stream ends after `response.completed`, `response.incomplete`, `response.failed` or `error`. WebSocket: each is one text frame.',
    examples: [
      {
        type: 'response.output_text.delta',
        sequence_number: 4,
        item_id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
        output_index: 0,
        content_index: 0,
        delta: 'Hel',
        logprobs: [],
      },
    ],
  },
)

/** Any event on a response's stream: a turn's events, or an error frame (SSE's last, or a refused WebSocket request). */
export type StreamEvent = Static<typeof ResponseStreamEvent>
export type ErrorEventT = Static<typeof ErrorEvent>
/** An event of a turn as the gateway emits it (and stores it for resume): always numbered. */
export type ResponseEvent = Exclude<StreamEvent, ErrorEventT>
export type ResponseEventType = ResponseEvent['type']
/** The event of one type. */
export type EventOf<T extends ResponseEventType> = Extract<ResponseEvent, { type: T }>
/** The terminal events: the stream ends after one of these. */
export type TerminalEvent = EventOf<'response.completed' | 'response.incomplete' | 'response.failed'>

/** An upstream item: the gateway gives it its own id; vLLM may send none (or null) yet. */
export type UpstreamItem = { type?: string; id?: string | null; [key: string]: unknown }
const UpstreamItem = t.Unsafe<UpstreamItem>(Item)

/** The final (or first) Response object as an upstream sends it: only what the engine reads is typed. */
export type UpstreamResponse = {
  status?: string
  output?: UpstreamItem[]
  usage?: unknown
  incomplete_details?: { reason?: unknown } | null
  error?: unknown
  [key: string]: unknown
}
const UpstreamResponse = t.Unsafe<UpstreamResponse>(
  t.Object({ status: t.Optional(t.String()), output: t.Optional(t.Array(UpstreamItem)) }, { additionalProperties: true }),
)

/** What an upstream adapter yields: Responses-API stream events as the upstream produced them. */
export const UpstreamStreamEvent = t.Union([
  upstream('response.created', { response: t.Optional(UpstreamResponse) }),
  upstream('response.queued', { response: t.Optional(UpstreamResponse) }),
  upstream('response.in_progress', { response: t.Optional(UpstreamResponse) }),
  upstream('response.completed', { response: t.Optional(UpstreamResponse) }),
  upstream('response.incomplete', { response: t.Optional(UpstreamResponse) }),
  upstream('response.failed', { response: t.Optional(UpstreamResponse) }),
  upstream('error', { error: t.Optional(t.Unknown()), message: t.Optional(t.Unknown()), code: t.Optional(t.Unknown()) }),
  upstream('response.output_item.added', { output_index: t.Integer(), item: UpstreamItem }),
  upstream('response.output_item.done', { output_index: t.Integer(), item: UpstreamItem }),
  upstream('response.content_part.added', I['response.content_part.added']),
  upstream('response.content_part.done', I['response.content_part.done']),
  upstream('response.reasoning_summary_part.added', I['response.reasoning_summary_part.added']),
  upstream('response.reasoning_summary_part.done', I['response.reasoning_summary_part.done']),
  upstream('response.output_text.delta', I['response.output_text.delta']),
  upstream('response.output_text.done', I['response.output_text.done']),
  upstream('response.refusal.delta', I['response.refusal.delta']),
  upstream('response.refusal.done', I['response.refusal.done']),
  upstream('response.reasoning_text.delta', I['response.reasoning_text.delta']),
  upstream('response.reasoning_text.done', I['response.reasoning_text.done']),
  upstream('response.reasoning_summary_text.delta', I['response.reasoning_summary_text.delta']),
  upstream('response.reasoning_summary_text.done', I['response.reasoning_summary_text.done']),
  upstream('response.function_call_arguments.delta', I['response.function_call_arguments.delta']),
  upstream('response.function_call_arguments.done', I['response.function_call_arguments.done']),
  upstream('response.custom_tool_call_input.delta', I['response.custom_tool_call_input.delta']),
  upstream('response.custom_tool_call_input.done', I['response.custom_tool_call_input.done']),
  // Made by the tool layer from a gateway-run tool's function call (tools/gateway-events.ts), before the normaliser.
  upstream('response.mcp_call_arguments.delta', I['response.mcp_call_arguments.delta']),
  upstream('response.mcp_call_arguments.done', I['response.mcp_call_arguments.done']),
  upstream('response.web_search_call.in_progress', I['response.web_search_call.in_progress']),
])

/**
 * An upstream event. Untyped JSON becomes one at the parse edge (upstream/responses.ts, one cast): an event of a type
 * not listed here passes through the engine with only the gateway's numbering, so it is trusted to carry `type`.
 */
export type UpstreamEvent = Static<typeof UpstreamStreamEvent>
export type UpstreamEventOf<T extends UpstreamEvent['type']> = Extract<UpstreamEvent, { type: T }>
/** The upstream events that belong to an item: the normaliser gives them the gateway's item id and index. */
export type UpstreamItemEvent = Extract<UpstreamEvent, { type: ItemEventType }>
