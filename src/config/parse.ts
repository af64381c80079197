// Resolving a Config from flags > environment (AGENTGATE_*) > config file (TOML) > defaults: argv splitting, value
// parsing and the checks that span settings (API key files, OIDC pairs, OTel resource attributes, model overrides).

import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { ApiKeySpecError, keyTable, parseApiKeySpec } from '../auth'
import { type ModelOverride, validateModelOverride } from '../codex/overrides'
import { ConfigError } from '../config-error'
import { AllowlistError, parseHostPatterns } from '../mcp/allowlist'
import { parseMcpServers } from '../mcp/config'
import { redactUrl } from '../upstream/redact'
import { SETTINGS } from './settings'
import type { Config, Setting } from './types'

/** Parses one raw value; `where` names its source (the flag, the env variable or the file key) for the error. */
function parseValue(s: Setting, raw: unknown, where: string): unknown {
  // A URL may carry credentials (user:password@, ?api_key=): echoed redacted.
  const shown = s.kind === 'url' && typeof raw === 'string' ? redactUrl(raw) : raw
  const bad = (why: string) => new ConfigError(`invalid value for ${where}: ${why}${s.secret ? '' : `, got ${JSON.stringify(shown)}`}`)
  switch (s.kind) {
    case 'string':
      if (typeof raw !== 'string' || raw === '') throw bad('expected a non-empty string')
      return raw
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN
      if (!Number.isSafeInteger(n)) throw bad('expected a whole number')
      if (s.min !== undefined && n < s.min) throw bad(`must be at least ${s.min}`)
      if (s.max !== undefined && n > s.max) throw bad(`must be at most ${s.max}`)
      return n
    }
    case 'url': {
      if (typeof raw !== 'string') throw bad('expected a URL')
      let u: URL
      try {
        u = new URL(raw)
      } catch {
        throw bad('expected an http(s) URL')
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('expected an http(s) URL')
      return raw.replace(/\/+$/, '')
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw
      if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) return true
      if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw)) return false
      throw bad('expected true or false')
    }
    case 'list': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : null
      if (!items || items.some((x) => typeof x !== 'string')) throw bad('expected a list of strings')
      // A repeated flag or a file array must not carry empty entries (`--api-key "$UNSET"` would
      // otherwise silently turn auth off); a comma-separated string may have stray commas.
      if (Array.isArray(raw) && items.some((x) => (x as string).trim() === '')) throw bad('expected non-empty strings')
      return (items as string[]).map((x) => x.trim()).filter(Boolean)
    }
    case 'enum':
      if (typeof raw !== 'string' || !s.values!.includes(raw)) throw bad(`expected one of ${s.values!.join('|')}`)
      return raw
  }
}

export interface ParsedArgs {
  /** raw flag values keyed by flag, e.g. { '--port': '0' }; list flags collect into arrays */
  flags: Record<string, string | string[] | true>
  positionals: string[]
  /** everything after a bare `--` */
  rest: string[]
}

/** Splits argv into known flags (`--x v` or `--x=v`), positionals and the part after `--`. */
export function parseArgs(argv: string[], known: ReadonlySet<string>, booleans: ReadonlySet<string> = new Set()): ParsedArgs {
  const out: ParsedArgs = { flags: {}, positionals: [], rest: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') {
      out.rest = argv.slice(i + 1)
      break
    }
    if (!a.startsWith('--')) {
      if (a.startsWith('-') && a.length > 1 && a !== '-h') throw new ConfigError(`unknown option ${a} (see --help)`)
      out.positionals.push(a === '-h' ? '--help' : a)
      continue
    }
    const eq = a.indexOf('=')
    const name = eq > 0 ? a.slice(0, eq) : a
    if (!known.has(name) && !booleans.has(name)) throw new ConfigError(`unknown option ${name} (see --help)`)
    let value: string | true
    if (booleans.has(name) && eq < 0) value = true
    else if (eq > 0) value = a.slice(eq + 1)
    // A true|false setting given alone (`--metrics-public`) is on; `--metrics-public false` still works.
    else if (BOOL_FLAGS.has(name) && !(i + 1 < argv.length && BOOL_WORD.test(argv[i + 1]))) value = 'true'
    else {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) throw new ConfigError(`option ${name} needs a value`)
      value = argv[++i]
    }
    const prev = out.flags[name]
    if (REPEATABLE.has(name) && typeof value === 'string') out.flags[name] = [...((prev as string[]) ?? []), value]
    else out.flags[name] = value
  }
  return out
}

/** List flags that collect every value given (`--api-key a --api-key b`). */
const REPEATABLE: ReadonlySet<string> = new Set(['--api-key', '--sealing-key', '--mcp-allowed-hosts'])

const BOOL_FLAGS: ReadonlySet<string> = new Set(SETTINGS.filter((s) => s.kind === 'bool').map((s) => s.flag))
const BOOL_WORD = /^(1|true|yes|on|0|false|no|off)$/i

export const CONFIG_FLAGS: ReadonlySet<string> = new Set([...SETTINGS.map((s) => s.flag), '--config'])

export interface ConfigSources {
  flags: ParsedArgs['flags']
  env: Record<string, string | undefined>
  /** reads a file's text, or null when it does not exist */
  readFile?: (path: string) => string | null
}

function defaultReadFile(path: string): string | null {
  try {
    return require('node:fs').readFileSync(path, 'utf8')
  } catch (e) {
    const err = e as NodeJS.ErrnoException | null
    if (err?.code === 'ENOENT') return null
    throw new ConfigError(`cannot read config file ${path}: ${err?.message ?? e}`)
  }
}

export function loadConfig({ flags, env, readFile = defaultReadFile }: ConfigSources): Config {
  const home = env.AGENTGATE_HOME || join(env.HOME || homedir(), '.agentgate')
  const explicitFile = typeof flags['--config'] === 'string' ? (flags['--config'] as string) : null
  const configFile = explicitFile ?? join(home, 'config.toml')
  const text = readFile(configFile)
  if (text === null && explicitFile) throw new ConfigError(`config file not found: ${explicitFile}`)
  let file: Record<string, unknown> = {}
  if (text !== null) {
    try {
      file = Bun.TOML.parse(text) as Record<string, unknown>
    } catch (e) {
      throw new ConfigError(
        `config file ${configFile} is not valid TOML: ${String((e as Error | null)?.message ?? e).replace(/^TOML Parse error:\s*/, '')}`,
      )
    }
  }
  const known = new Set([...SETTINGS.map((s) => s.file), 'models', 'mcp_servers'])
  for (const k of Object.keys(file)) {
    if (!known.has(k)) throw new ConfigError(`unknown setting "${k}" in ${configFile}`)
  }

  const cfg: Record<string, unknown> = { home, configFile: text === null ? null : configFile }
  /** where each setting given a value came from, and whether that was the config file */
  const sources: Partial<Record<keyof Config, { where: string; inFile: boolean }>> = {}
  for (const s of SETTINGS) {
    // An empty environment variable counts as unset (so the file still applies); empty flags and file
    // values are rejected by parseValue.
    const envRaw = env[s.env] || (s.envAlias ? env[s.envAlias] : undefined) || undefined
    const envName = env[s.env] ? s.env : s.envAlias!
    const [raw, where] =
      flags[s.flag] !== undefined
        ? [flags[s.flag], s.flag]
        : envRaw !== undefined
          ? [envRaw, envName]
          : [file[s.file], `${s.file} in ${configFile}`]
    cfg[s.key] =
      raw === undefined ? (typeof s.def === 'function' ? (s.def as (h: string) => unknown)(home) : s.def) : parseValue(s, raw, where)
    if (raw !== undefined) sources[s.key] = { where, inFile: flags[s.flag] === undefined && envRaw === undefined }
  }
  cfg.apiKeys = resolveApiKeys(
    cfg.apiKeys as string[],
    sources.apiKeys?.where ?? '--api-key',
    cfg.apiKeysFile as string | null,
    sources.apiKeysFile,
    configFile,
    readFile,
  )
  cfg.models = parseModelOverrides(file.models, configFile, readFile)
  cfg.mcpServers = parseMcpServers(file.mcp_servers, configFile)
  // A repeated flag may itself be a comma-separated list (`--mcp-allowed-hosts a.example,b.example`).
  cfg.mcpAllowedHosts = (cfg.mcpAllowedHosts as string[])
    .flatMap((h) => h.split(','))
    .map((h) => h.trim())
    .filter(Boolean)
  try {
    parseHostPatterns(cfg.mcpAllowedHosts as string[])
  } catch (e) {
    if (e instanceof AllowlistError)
      throw new ConfigError(`invalid value for ${sources.mcpAllowedHosts?.where ?? '--mcp-allowed-hosts'}: ${e.message}`)
    throw e
  }
  // Tokens are only safe to accept for a known audience: an issuer alone (or an audience alone) is a mistake.
  if ((cfg.oidcIssuer === null) !== ((cfg.oidcAudience as string[]).length === 0))
    throw new ConfigError(
      cfg.oidcIssuer === null
        ? `${sources.oidcAudience!.where} needs --oidc-issuer too (OIDC takes both or neither)`
        : `${sources.oidcIssuer!.where} needs --oidc-audience too (OIDC takes both or neither)`,
    )
  resolveWebSearch(cfg, env, sources)
  const attributes = parseResourceAttributes(
    cfg.otelResourceAttributes as unknown as string[],
    sources.otelResourceAttributes?.where ?? '--otel-resource-attributes',
  )
  // service.name: --otel-service-name (or OTEL_SERVICE_NAME) wins over one in the resource attributes, which wins over the default.
  if (sources.otelServiceName === undefined && attributes['service.name']) cfg.otelServiceName = attributes['service.name']
  delete attributes['service.name']
  cfg.otelResourceAttributes = attributes
  return cfg as unknown as Config
}

/**
 * The web search provider as a whole: the kind (searxng when only a URL is given), the key (from
 * AGENTGATE_WEB_SEARCH_KEY alone) and what each kind needs, checked now so a half-configured provider stops start-up
 * instead of failing every search.
 */
function resolveWebSearch(
  cfg: Record<string, unknown>,
  env: Record<string, string | undefined>,
  sources: Partial<Record<keyof Config, { where: string }>>,
): void {
  const raw = env.AGENTGATE_WEB_SEARCH_KEY?.trim()
  const key = raw ? raw : null
  // The key goes into a request header: a line break or control character would be rejected on every search.
  if (key !== null && /[\s\x00-\x1f\x7f]/.test(key))
    throw new ConfigError('invalid value for AGENTGATE_WEB_SEARCH_KEY: the key must not contain spaces or control characters')
  cfg.webSearchKey = key
  if (cfg.webSearchProvider === null && cfg.webSearchUrl !== null) cfg.webSearchProvider = 'searxng'
  const kind = cfg.webSearchProvider
  const where = sources.webSearchProvider?.where ?? '--web-search-provider'
  if (kind === 'searxng' && cfg.webSearchUrl === null)
    throw new ConfigError(`the web search provider searxng (${where}) needs --web-search-url, the base URL of the SearXNG instance`)
  if ((kind === 'brave' || kind === 'tavily') && key === null)
    throw new ConfigError(
      `the web search provider ${kind} (${where}) needs its API key in the environment variable AGENTGATE_WEB_SEARCH_KEY`,
    )
  if (kind === null && key !== null)
    throw new ConfigError('AGENTGATE_WEB_SEARCH_KEY is set but no web search provider is: add --web-search-provider brave|tavily|searxng')
}

/**
 * Every client API key spec: those from flags/env/config.toml, then the lines of the keys file (blank lines and
 * `#` comment lines skipped). Each is checked here so a bad one stops start-up with a line naming where it came
 * from — never the key itself.
 */
function resolveApiKeys(
  specs: string[],
  where: string,
  file: string | null,
  fileSource: { where: string; inFile: boolean } | undefined,
  configFile: string,
  readFile: (path: string) => string | null,
): string[] {
  const check = (spec: string, at: string) => {
    try {
      parseApiKeySpec(spec)
    } catch (e) {
      if (e instanceof ApiKeySpecError) throw new ConfigError(`invalid value for ${at}: ${e.message}`)
      throw e
    }
  }
  for (const [i, spec] of specs.entries()) check(spec, specs.length > 1 ? `${where} (key ${i + 1})` : where)
  const all = [...specs]
  if (file !== null) {
    const fileWhere = fileSource?.where ?? '--api-keys-file'
    // A relative path in config.toml is taken relative to the config file (like base_instructions_file).
    const path = fileSource?.inFile && !isAbsolute(file) ? join(dirname(configFile), file) : file
    let text: string | null
    try {
      text = readFile(path)
    } catch (e) {
      throw new ConfigError(
        `cannot read the API keys file ${path} (${fileWhere}): ${String((e as Error | null)?.message ?? e).replace(/^cannot read config file \S+: /, '')}`,
      )
    }
    if (text === null) throw new ConfigError(`API keys file not found: ${path} (${fileWhere})`)
    let n = 0
    text.split(/\r?\n/).forEach((line, i) => {
      const spec = line.trim()
      if (spec === '' || spec.startsWith('#')) return
      check(spec, `${path} line ${i + 1}`)
      all.push(spec)
      n++
    })
    // An empty file must not quietly leave the gateway open.
    if (n === 0) throw new ConfigError(`the API keys file ${path} (${fileWhere}) has no keys`)
  }
  try {
    keyTable(all)
  } catch (e) {
    if (e instanceof ApiKeySpecError) throw new ConfigError(`invalid API keys: ${e.message}`)
    throw e
  }
  return all
}

/** `k=v` pairs (OTEL_RESOURCE_ATTRIBUTES's format: values may be percent-encoded) into an object. */
function parseResourceAttributes(pairs: string[], where: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const key = eq > 0 ? pair.slice(0, eq).trim() : ''
    if (!key) throw new ConfigError(`invalid value for ${where}: expected key=value pairs separated by commas, got ${JSON.stringify(pair)}`)
    let value = pair.slice(eq + 1).trim()
    try {
      value = decodeURIComponent(value)
    } catch {}
    out[key] = value
  }
  return out
}

function parseModelOverrides(raw: unknown, where: string, readFile: (path: string) => string | null): Record<string, ModelOverride> {
  if (raw === undefined) return {}
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`invalid setting models in ${where}: expected a table of [models."<id>"] sections`)
  const out: Record<string, ModelOverride> = {}
  // Checked against the Codex catalog's enums now: one bad value would make Codex reject the whole catalog.
  for (const [id, o] of Object.entries(raw as Record<string, unknown>)) out[id] = validateModelOverride(id, o, { where, readFile })
  return out
}
