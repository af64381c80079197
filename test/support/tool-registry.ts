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
