// The tool set the tool-mapping tests declare: one of each kind Codex sends (function, custom, namespace, shells).
import { buildToolRegistry } from '../../src/tools'

/** A registry of exec_command, apply_patch, multi_agent_v1.close_agent, local_shell and shell. */
export const codexToolRegistry = () =>
  buildToolRegistry([
    { type: 'function', name: 'exec_command', parameters: {} },
    { type: 'custom', name: 'apply_patch' },
    { type: 'namespace', name: 'multi_agent_v1', tools: [{ type: 'function', name: 'close_agent', parameters: {} }] },
    { type: 'local_shell' },
    { type: 'shell' },
  ])

/** The function names the upstream sees for Codex 0.169's real tool list (test/fixtures/codex), in order. */
export const CODEX_UPSTREAM_TOOL_NAMES = [
  'exec_command',
  'write_stdin',
  'request_user_input',
  'apply_patch',
  'view_image',
  'multi_agent_v1__close_agent',
  'multi_agent_v1__resume_agent',
  'multi_agent_v1__send_input',
  'multi_agent_v1__spawn_agent',
  'multi_agent_v1__wait_agent',
  'get_goal',
  'create_goal',
  'update_goal',
]
