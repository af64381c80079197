// TypeBox schemas of the gateway-run tools (MCP servers and web search): the tools a request declares and the
// output items a turn using them produces. The document lists them (http/docs.ts); requests keep the open Tool and
// Item schemas of responses.ts, so these describe rather than validate (the approval answer is validated there).
import { t } from 'elysia'

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()])
const Approval = t.Union([
  t.Literal('always'),
  t.Literal('never'),
  t.Object(
    {
      always: t.Optional(t.Object({ tool_names: t.Optional(t.Array(t.String())) })),
      never: t.Optional(t.Object({ tool_names: t.Optional(t.Array(t.String())) })),
    },
    { additionalProperties: true },
  ),
])

export const McpTool = t.Object(
  {
    type: t.Literal('mcp'),
    server_label: t.String({
      description: 'the name the items and tool_choice use; a configured server ([mcp_servers.LABEL]) when server_url is absent',
    }),
    server_url: t.Optional(t.String({ description: 'a request-declared server: only hosts in --mcp-allowed-hosts' })),
    server_description: t.Optional(Nullable(t.String())),
    headers: t.Optional(
      Nullable(t.Record(t.String(), t.String(), { description: 'sent to that server only; never stored, echoed or logged' })),
    ),
    authorization: t.Optional(t.String({ description: 'a bearer token for that server only; never stored, echoed or logged' })),
    allowed_tools: t.Optional(
      Nullable(
        t.Union([
          t.Array(t.String()),
          t.Object({ tool_names: t.Optional(t.Array(t.String())), read_only: t.Optional(t.Boolean()) }, { additionalProperties: true }),
        ]),
      ),
    ),
    require_approval: t.Optional(Nullable(Approval)),
  },
  {
    $id: '#/components/schemas/McpTool',
    additionalProperties: true,
    description: 'An MCP server whose tools the gateway runs for the model (OpenAI default: require_approval "always").',
  },
)

export const WebSearchTool = t.Object(
  {
    type: t.String({ description: 'web_search, web_search_preview or a dated variant' }),
    filters: t.Optional(Nullable(t.Object({ allowed_domains: t.Optional(t.Array(t.String())) }, { additionalProperties: true }))),
    search_context_size: t.Optional(t.Union([t.Literal('low'), t.Literal('medium'), t.Literal('high')])),
  },
  {
    $id: '#/components/schemas/WebSearchTool',
    additionalProperties: true,
    description: 'Web search, run by the gateway through --web-search-provider; left out of the model request without one.',
  },
)

const McpToolInfo = t.Object({
  name: t.String(),
  description: Nullable(t.String()),
  input_schema: t.Record(t.String(), t.Unknown()),
  annotations: Nullable(t.Record(t.String(), t.Unknown())),
})

export const McpListToolsItem = t.Object(
  {
    id: t.String(),
    type: t.Literal('mcp_list_tools'),
    server_label: t.String(),
    tools: t.Array(McpToolInfo),
    error: Nullable(t.String({ description: 'why the server could not be listed; the turn goes on without its tools' })),
  },
  { $id: '#/components/schemas/McpListToolsItem', additionalProperties: true },
)

export const McpCallItem = t.Object(
  {
    id: t.String(),
    type: t.Literal('mcp_call'),
    server_label: t.String(),
    name: t.String(),
    arguments: t.String(),
    output: Nullable(t.String()),
    error: Nullable(t.String()),
    status: t.String({ description: 'in_progress, completed, failed or incomplete' }),
    approval_request_id: Nullable(t.String()),
  },
  { $id: '#/components/schemas/McpCallItem', additionalProperties: true },
)

export const McpApprovalRequestItem = t.Object(
  { id: t.String(), type: t.Literal('mcp_approval_request'), server_label: t.String(), name: t.String(), arguments: t.String() },
  {
    $id: '#/components/schemas/McpApprovalRequestItem',
    additionalProperties: true,
    description: 'The turn ended waiting for the client: answer with an mcp_approval_response input item.',
  },
)

export const WebSearchSource = t.Object({
  type: t.Literal('url'),
  url: t.String(),
  title: t.Optional(t.String()),
  snippet: t.Optional(t.String({ description: 'the text the model was given for this result' })),
})

export const WebSearchCallItem = t.Object(
  {
    id: t.String(),
    type: t.Literal('web_search_call'),
    status: t.String({ description: 'in_progress, searching, completed or failed' }),
    action: t.Object(
      {
        type: t.Literal('search'),
        query: t.String(),
        sources: t.Optional(t.Array(WebSearchSource, { description: 'only with include: ["web_search_call.action.sources"]' })),
      },
      { additionalProperties: true },
    ),
  },
  { $id: '#/components/schemas/WebSearchCallItem', additionalProperties: true },
)
