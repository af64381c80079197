// Shared setup of the MCP service tests: a Config from flags and a config.toml text (in memory), and a logger that
// keeps its lines.

import { CONFIG_FLAGS, type Config, loadConfig, parseArgs } from '../../src/config'
import { createLogger, type Logger } from '../../src/log'

/** A Config from argv-style flags and the text of config.toml. */
export function mcpConfig(argv: string[] = [], toml: string | null = null): Config {
  const { flags } = parseArgs(argv, CONFIG_FLAGS)
  const file = '/tmp/agentgate-mcp-test/config.toml'
  return loadConfig({ flags, env: { AGENTGATE_HOME: '/tmp/agentgate-mcp-test' }, readFile: (p) => (p === file ? toml : null) })
}

/** A debug logger whose lines (JSON) are kept in `lines`. */
export function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  return { logger: createLogger('debug', (l) => lines.push(l)), lines }
}

/** A TOML string literal. */
export const tomlString = (s: string) => JSON.stringify(s)
