// The bounds of a turn that runs tools itself (MCP and web search, engine/tool-rounds.ts): how many model rounds
// of tool calls, how long one call may take, how many calls of a round run at once, how much of a call's output is kept.

import type { Setting } from './types'

export const TOOL_ROUND_SETTINGS: readonly Setting[] = [
  {
    key: 'maxToolRounds',
    flag: '--max-tool-rounds',
    env: 'AGENTGATE_MAX_TOOL_ROUNDS',
    file: 'max_tool_rounds',
    kind: 'int',
    min: 1,
    max: 1000,
    help: 'rounds of gateway-run tool calls (MCP, web search) one turn may make; past it the turn ends incomplete (max_tool_rounds)',
    def: 10,
  },
  {
    key: 'toolCallTimeoutMs',
    flag: '--tool-call-timeout-ms',
    env: 'AGENTGATE_TOOL_CALL_TIMEOUT_MS',
    file: 'tool_call_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'how long one gateway-run tool call may take; a call past it fails, and the model is told',
    def: 60_000,
  },
  {
    key: 'toolCallConcurrency',
    flag: '--tool-call-concurrency',
    env: 'AGENTGATE_TOOL_CALL_CONCURRENCY',
    file: 'tool_call_concurrency',
    kind: 'int',
    min: 1,
    max: 64,
    help: 'gateway-run tool calls of one model round that run at the same time',
    def: 4,
  },
  {
    key: 'maxToolOutputBytes',
    flag: '--max-tool-output-bytes',
    env: 'AGENTGATE_MAX_TOOL_OUTPUT_BYTES',
    file: 'max_tool_output_bytes',
    kind: 'int',
    min: 1024,
    help: "bytes of one MCP tool call's output (or error) kept: past it the text is cut, with a note saying so, before the model or the store sees it",
    def: 100_000,
  },
]
