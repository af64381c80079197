// The request's tools as a Response object shows them: OpenAI's response shape for each tool type, every
// key the shape has present (null where unset, OpenAI's defaults where it has one), so strict clients
// and the Open Responses schema accept the echo. The upstream request is built elsewhere (registry.ts). Pure.

type ToolIn = Record<string, unknown>

/** The tools of a create request as the Response object lists them, in order. */
export function responseTools(tools: unknown): ToolIn[] {
  return Array.isArray(tools) ? tools.map((t) => responseTool(t as ToolIn)) : []
}

const or = <T>(v: unknown, fallback: T) => (v === undefined ? fallback : v)

function responseTool(tool: ToolIn): ToolIn {
  if (!tool || typeof tool !== 'object') return tool
  const { type } = tool
  switch (type) {
    case 'function':
      return functionTool(tool)
    case 'custom':
      return customTool(tool)
    case 'namespace': {
      const members = Array.isArray(tool.tools)
        ? (tool.tools as ToolIn[]).map((m) => (m?.type === 'custom' ? customTool(m) : m?.type === 'function' ? functionTool(m) : m))
        : []
      return { type, name: tool.name, description: or(tool.description, ''), tools: members }
    }
    case 'file_search':
      return {
        type,
        vector_store_ids: or(tool.vector_store_ids, []),
        filters: or(tool.filters, null),
        max_num_results: or(tool.max_num_results, 20),
        ranking_options: or(tool.ranking_options, { ranker: 'auto', score_threshold: 0 }),
        ...rest(tool, ['vector_store_ids', 'filters', 'max_num_results', 'ranking_options']),
      }
    case 'web_search':
    case 'web_search_2025_08_26':
      return {
        type,
        filters: or(tool.filters, null),
        search_context_size: or(tool.search_context_size, 'medium'),
        user_location: or(tool.user_location, null),
        ...rest(tool, ['filters', 'search_context_size', 'user_location']),
      }
    case 'web_search_preview':
    case 'web_search_preview_2025_03_11':
      return {
        type,
        search_context_size: or(tool.search_context_size, 'medium'),
        user_location: or(tool.user_location, null),
        ...rest(tool, ['search_context_size', 'user_location']),
      }
    case 'mcp': {
      // Credentials never leave in a response: `authorization` is dropped and `headers` shown as null, as OpenAI does.
      const { authorization: _a, headers: _h, ...kept } = tool
      return {
        type,
        server_label: tool.server_label,
        allowed_tools: or(tool.allowed_tools, null),
        headers: null,
        require_approval: or(tool.require_approval, 'always'),
        server_description: or(tool.server_description, null),
        ...rest(kept, ['server_label', 'allowed_tools', 'require_approval', 'server_description']),
      }
    }
    case 'tool_search':
      return {
        type,
        description: or(tool.description, null),
        parameters: or(tool.parameters, null),
        ...rest(tool, ['description', 'parameters']),
      }
    default:
      // local_shell, shell, apply_patch, code_interpreter, image_generation, computer…: their request shape is their response shape.
      return { ...tool }
  }
}

function functionTool(tool: ToolIn): ToolIn {
  return {
    type: 'function',
    name: tool.name,
    description: or(tool.description, null),
    parameters: or(tool.parameters, null),
    strict: or(tool.strict, null),
    ...rest(tool, ['name', 'description', 'parameters', 'strict']),
  }
}

function customTool(tool: ToolIn): ToolIn {
  return {
    type: 'custom',
    name: tool.name,
    description: or(tool.description, null),
    format: or(tool.format, { type: 'text' }),
    ...rest(tool, ['name', 'description', 'format']),
  }
}

/** The tool's other keys (not `type` and not the ones listed), kept as sent. */
function rest(tool: ToolIn, shown: string[]): ToolIn {
  const out: ToolIn = {}
  for (const [k, v] of Object.entries(tool)) if (k !== 'type' && !shown.includes(k)) out[k] = v
  return out
}
