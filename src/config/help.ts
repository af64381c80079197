// --help text for the settings: each flag with its choices or placeholder, meaning, env names and default.

import { SETTINGS } from './settings'
import type { Setting } from './types'

/** What --help shows after a setting's flag: its choices for an enum or a bool, else a placeholder (N, URL, PATH…). */
export function settingArg(s: Setting): string {
  if (s.kind === 'enum') return s.values!.join('|')
  if (s.kind === 'bool') return 'true|false'
  if (s.kind === 'int') return 'N'
  if (s.kind === 'url') return 'URL'
  return s.arg ?? 'TEXT'
}

/** Lines for --help: one per setting: flag with its choices or placeholder, meaning, env and default (when there is one). */
export function settingsHelp(): string {
  return SETTINGS.map((s) => {
    const def =
      typeof s.def === 'function'
        ? '$AGENTGATE_HOME/agentgate.db'
        : s.def === null || (Array.isArray(s.def) && !s.def.length)
          ? null
          : String(s.def)
    return `  ${`${s.flag} ${settingArg(s)}`.padEnd(36)} ${s.help} [env ${s.env}${s.envAlias ? ` or ${s.envAlias}` : ''}${def === null ? '' : `; default ${def}`}]`
  })
    .concat(ENV_ONLY.map(([env, help]) => `  ${'(environment only)'.padEnd(36)} ${help} [env ${env}]`))
    .join('\n')
}

/** Settings that have no flag on purpose (a secret that must stay out of `ps`), read from the environment alone. */
const ENV_ONLY: readonly (readonly [string, string])[] = [
  ['AGENTGATE_WEB_SEARCH_KEY', 'API key of the web search provider (needed by brave and tavily; sent to searxng as a bearer token)'],
]
