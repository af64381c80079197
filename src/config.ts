// One typed Config, resolved from flags > environment (AGENTGATE_*) > config file (TOML) > defaults.
// The public face of src/config/: every setting is declared once in SETTINGS (config/settings.ts), resolved by
// config/parse.ts and listed for --help by config/help.ts; importers keep using './config'.

export { ConfigError } from './config-error'
export type { ModelOverride } from './codex/overrides'
export { settingArg, settingsHelp } from './config/help'
export { CONFIG_FLAGS, type ConfigSources, loadConfig, type ParsedArgs, parseArgs } from './config/parse'
export { SETTINGS } from './config/settings'
export type { Config } from './config/types'
