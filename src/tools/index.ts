// The tool layer: what the request declares (registry), how it reaches the upstream (function tools,
// translated history) and how calls come back as the item types the client declared (events).
export { buildToolRegistry, toolRegistryFor, flatName, HOSTED_TOOL_TYPES, type DeclaredTool, type ToolRegistry } from './registry'
export { toUpstreamItems } from './history'
export { ToolCallMapper, toolCallMapping, mapBatch } from './events'
export { responseTools } from './echo'
