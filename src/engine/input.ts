// Turning a request's `input` into stored items: the string shorthand and "easy" messages become
// full message items, and every item gets a gateway id. Pure.
import { ApiError } from '../errors'
import type { IdPrefix, IdSource } from '../ids'
import type { CreateResponseRequest } from '../schema/responses'
import type { ItemBody } from '../store/types'

const PREFIX: Record<string, IdPrefix> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  custom_tool_call: 'ctc',
  custom_tool_call_output: 'ctco',
  reasoning: 'rs',
  local_shell_call: 'lsh',
  shell_call: 'sh',
  compaction: 'cmp',
  mcp_call: 'mcp',
  mcp_list_tools: 'mcpl',
  mcp_approval_request: 'mcpr',
  mcp_approval_response: 'mcpa',
  web_search_call: 'ws',
}

export function idPrefixFor(type: string): IdPrefix {
  return PREFIX[type] ?? 'item'
}

/** The request's input as items with ids, in order. */
export function toInputItems(input: CreateResponseRequest['input'], ids: IdSource): ItemBody[] {
  if (input === undefined || input === null) return []
  if (typeof input === 'string') return [{ id: ids('msg'), type: 'message', role: 'user', content: [{ type: 'input_text', text: input }] }]
  return input.map((raw, i) => {
    const item: Record<string, unknown> = { ...raw }
    if (item.type === undefined) {
      if (typeof item.role !== 'string')
        throw ApiError.badRequest(`Invalid input item: an item without 'type' must be a message with a 'role'.`, `input.${i}`)
      item.type = 'message'
    }
    const type = String(item.type)
    if (type === 'message') normaliseMessage(item, i)
    if (type === 'mcp_list_tools') checkListedTools(item.tools, `input.${i}.tools`)
    // Resolved against the store by the caller (engine/references.ts): the id is the referenced item's.
    if (type === 'item_reference' && (typeof item.id !== 'string' || item.id === ''))
      throw ApiError.badRequest(`Missing required parameter: 'input.${i}.id'.`, `input.${i}.id`, 'missing_required_parameter')
    if (typeof item.id !== 'string' || item.id === '') item.id = ids(idPrefixFor(type))
    // The request's item as validated (schema InputItem), now with its type and id set: what ItemBody says.
    return item as ItemBody
  })
}

function normaliseMessage(item: Record<string, unknown>, i: number) {
  const role = item.role
  if (role !== 'user' && role !== 'assistant' && role !== 'system' && role !== 'developer')
    throw ApiError.badRequest(`Invalid value for 'input.${i}.role': expected one of user, assistant, system, developer.`, `input.${i}.role`)
  if (typeof item.content === 'string') {
    item.content = [
      role === 'assistant'
        ? { type: 'output_text', text: item.content, annotations: [], logprobs: [] }
        : { type: 'input_text', text: item.content },
    ]
  } else if (!Array.isArray(item.content)) {
    throw ApiError.badRequest(`Invalid value for 'input.${i}.content': expected a string or a list of content parts.`, `input.${i}.content`)
  }
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The tools of an mcp_list_tools item a client sends back (store:false chains): later turns offer them to the model
 * as they are, so each must be a tool — a name, and description, input_schema and annotations of the right types.
 */
function checkListedTools(tools: unknown, param: string) {
  const bad = (p: string, expected: string) => ApiError.badRequest(`Invalid type for '${p}': expected ${expected}.`, p, 'invalid_type')
  if (tools === undefined) return
  if (!Array.isArray(tools)) throw bad(param, 'a list of tools')
  tools.forEach((t, j) => {
    const at = `${param}.${j}`
    if (!isObject(t)) throw bad(at, 'a tool {name, description, input_schema, annotations}')
    const tool = t as Record<string, unknown>
    if (typeof tool.name !== 'string' || tool.name === '') throw bad(`${at}.name`, 'a non-empty string')
    if (tool.description !== undefined && tool.description !== null && typeof tool.description !== 'string')
      throw bad(`${at}.description`, 'a string or null')
    if (tool.input_schema !== undefined && !isObject(tool.input_schema)) throw bad(`${at}.input_schema`, 'a JSON schema object')
    if (tool.annotations !== undefined && tool.annotations !== null && !isObject(tool.annotations))
      throw bad(`${at}.annotations`, 'an object or null')
  })
}
