// SETTINGS: every setting declared once (flag, env name, file key, parser and default), in --help and README order,
// so --help, the README table and validation all come from the same place.

import { DEPLOYMENT_SETTINGS } from './deployment-settings'
import { MCP_SETTINGS } from './mcp-settings'
import { TOOL_ROUND_SETTINGS } from './tool-round-settings'
import { TUNING_SETTINGS } from './tuning-settings'
import type { Setting } from './types'
import { WEB_SEARCH_SETTINGS } from './web-search-settings'

export const SETTINGS: readonly Setting[] = [
  ...DEPLOYMENT_SETTINGS,
  ...TUNING_SETTINGS,
  ...WEB_SEARCH_SETTINGS,
  ...MCP_SETTINGS,
  ...TOOL_ROUND_SETTINGS,
]
