// One typed Config, resolved from flags > environment (AGENTGATE_*) > config file (TOML) > defaults.
// Every setting is declared once in SETTINGS: its flag, env name, file key, parser and default, so
// --help, the README table and validation all come from the same place.

import { homedir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'
import { ApiKeySpecError, keyTable, parseApiKeySpec } from './auth'
import type { LogFormatSetting, LogLevel } from './log'
import { redactUrl } from './upstream/redact'
import { validateModelOverride, type ModelOverride } from './codex/overrides'
import { ConfigError } from './config-error'

export { ConfigError } from './config-error'
export type { ModelOverride } from './codex/overrides'

export interface Config {
  home: string
  configFile: string | null
  host: string
  port: number
  upstream: string
  upstreamKey: string | null
  upstreamApi: 'responses' | 'chat'
  db: string
  databaseUrl: string | null
  /** client API key specs ([TENANT:]KEY or [TENANT:]sha256:HEX), from flags/env/file plus every line of apiKeysFile */
  apiKeys: string[]
  apiKeysFile: string | null
  /** OIDC issuer whose access tokens are accepted beside the API keys (with oidcAudience), or null */
  oidcIssuer: string | null
  /** accepted token audiences; set exactly when oidcIssuer is */
  oidcAudience: string[]
  oidcTenantClaim: string
  /** OTLP/HTTP base URL traces are exported to (…/v1/traces), or null: no tracing */
  otelEndpoint: string | null
  otelServiceName: string
  /** resource attributes of every exported span, from k=v,… (service.name comes from otelServiceName) */
  otelResourceAttributes: Record<string, string>
  logLevel: LogLevel
  logFormat: LogFormatSetting
  connectTimeoutMs: number
  firstByteTimeoutMs: number
  idleTimeoutMs: number
  maxBodyBytes: number
  maxWsFrameBytes: number
  maxStoredResponseBytes: number
  maxSseLineBytes: number
  maxStreamBytes: number
  maxHistoryItems: number
  maxWsQueue: number
  wsIdleTimeoutS: number
  wsForceStore: boolean
  shutdownGraceMs: number
  metricsPublic: boolean
  /** null: keep responses forever */
  retentionDays: number | null
  eventLogRetentionHours: number
  /** base64 keys for sealed encrypted_content (src/sealing); empty: one generated into the home directory */
  sealingKeys: string[]
  /** the upstream model that serves Messages requests for model ids the upstream does not know; null: its first model */
  anthropicModel: string | null
  /** keep each /v1/messages turn in the store like a response */
  storeMessages: boolean
  /** a /v1/messages stream sends a ping after this long without an event */
  messagesPingMs: number
  models: Record<string, ModelOverride>
}

type Kind = 'string' | 'int' | 'url' | 'bool' | 'list' | 'enum'

interface Setting {
  key: keyof Config
  flag: string
  env: string
  /** key in config.toml */
  file: string
  kind: Kind
  /** what --help shows after the flag for a string setting (ADDR, PATH, KEY, …); other kinds derive theirs */
  arg?: string
  values?: readonly string[]
  min?: number
  max?: number
  help: string
  /** a credential: a bad value is reported without echoing it */
  secret?: boolean
  /** a standard environment variable read when `env` is unset (OpenTelemetry's OTEL_*) */
  envAlias?: string
  /** default; a function gets the resolved home directory */
  def: unknown | ((home: string) => unknown)
}

const MiB = 1024 * 1024

export const SETTINGS: readonly Setting[] = [
  {
    key: 'host',
    flag: '--host',
    env: 'AGENTGATE_HOST',
    file: 'host',
    kind: 'string',
    arg: 'ADDR',
    help: 'address to listen on',
    def: '127.0.0.1',
  },
  {
    key: 'port',
    flag: '--port',
    env: 'AGENTGATE_PORT',
    file: 'port',
    kind: 'int',
    min: 0,
    max: 65535,
    help: 'port to listen on (0 = pick a free port)',
    def: 9000,
  },
  {
    key: 'upstream',
    flag: '--upstream',
    env: 'AGENTGATE_UPSTREAM',
    file: 'upstream',
    kind: 'url',
    help: 'base URL of the inference server',
    def: 'http://localhost:8000/v1',
  },
  {
    key: 'upstreamKey',
    flag: '--upstream-key',
    env: 'AGENTGATE_UPSTREAM_KEY',
    file: 'upstream_key',
    kind: 'string',
    arg: 'KEY',
    help: 'API key sent to the upstream',
    secret: true,
    def: null,
  },
  {
    key: 'upstreamApi',
    flag: '--upstream-api',
    env: 'AGENTGATE_UPSTREAM_API',
    file: 'upstream_api',
    kind: 'enum',
    values: ['responses', 'chat'],
    help: 'wire API of the upstream',
    def: 'responses',
  },
  {
    key: 'db',
    flag: '--db',
    env: 'AGENTGATE_DB',
    file: 'db',
    kind: 'string',
    arg: 'PATH',
    help: 'SQLite database file',
    def: (home: string) => join(home, 'agentgate.db'),
  },
  {
    key: 'databaseUrl',
    flag: '--database-url',
    env: 'AGENTGATE_DATABASE_URL',
    file: 'database_url',
    kind: 'string',
    arg: 'URL',
    help: 'postgres://… (PostgreSQL instead of SQLite)',
    def: null,
  },
  {
    key: 'apiKeys',
    flag: '--api-key',
    env: 'AGENTGATE_API_KEYS',
    file: 'api_keys',
    kind: 'list',
    arg: 'KEY',
    help: 'client API key, [TENANT:]KEY or [TENANT:]sha256:HEX (repeatable; env: comma-separated); turns auth on',
    secret: true,
    def: [],
  },
  {
    key: 'apiKeysFile',
    flag: '--api-keys-file',
    env: 'AGENTGATE_API_KEYS_FILE',
    file: 'api_keys_file',
    kind: 'string',
    arg: 'PATH',
    help: 'file of client API keys, one [TENANT:]KEY or [TENANT:]sha256:HEX per line (# comments); added to the others',
    def: null,
  },
  {
    key: 'oidcIssuer',
    flag: '--oidc-issuer',
    env: 'AGENTGATE_OIDC_ISSUER',
    file: 'oidc_issuer',
    kind: 'url',
    help: 'OIDC issuer whose access tokens are accepted (needs --oidc-audience); turns auth on',
    def: null,
  },
  {
    key: 'oidcAudience',
    flag: '--oidc-audience',
    env: 'AGENTGATE_OIDC_AUDIENCE',
    file: 'oidc_audience',
    kind: 'list',
    arg: 'AUD',
    help: 'audience a token must carry (comma-separated for several; needs --oidc-issuer)',
    def: [],
  },
  {
    key: 'oidcTenantClaim',
    flag: '--oidc-tenant-claim',
    env: 'AGENTGATE_OIDC_TENANT_CLAIM',
    file: 'oidc_tenant_claim',
    kind: 'string',
    arg: 'NAME',
    help: 'token claim whose value is the tenant',
    def: 'sub',
  },
  {
    key: 'otelEndpoint',
    flag: '--otel-endpoint',
    env: 'AGENTGATE_OTEL_ENDPOINT',
    envAlias: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    file: 'otel_endpoint',
    kind: 'url',
    help: 'OTLP/HTTP collector base URL traces are sent to (…/v1/traces); unset: no tracing',
    def: null,
  },
  {
    key: 'otelServiceName',
    flag: '--otel-service-name',
    env: 'AGENTGATE_OTEL_SERVICE_NAME',
    envAlias: 'OTEL_SERVICE_NAME',
    file: 'otel_service_name',
    kind: 'string',
    arg: 'NAME',
    help: 'service.name of exported spans',
    def: 'agentgate',
  },
  {
    key: 'otelResourceAttributes',
    flag: '--otel-resource-attributes',
    env: 'AGENTGATE_OTEL_RESOURCE_ATTRIBUTES',
    envAlias: 'OTEL_RESOURCE_ATTRIBUTES',
    file: 'otel_resource_attributes',
    kind: 'list',
    arg: 'K=V,…',
    help: 'resource attributes of exported spans, k=v,…',
    def: [],
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    env: 'AGENTGATE_LOG_LEVEL',
    file: 'log_level',
    kind: 'enum',
    values: ['debug', 'info', 'warn', 'error', 'silent'],
    help: 'log level',
    def: 'info',
  },
  {
    key: 'logFormat',
    flag: '--log-format',
    env: 'AGENTGATE_LOG_FORMAT',
    file: 'log_format',
    kind: 'enum',
    values: ['auto', 'json', 'text'],
    help: 'log lines: text (readable) or json; auto = text when stderr is a terminal, else json',
    def: 'auto',
  },
  {
    key: 'connectTimeoutMs',
    flag: '--connect-timeout-ms',
    env: 'AGENTGATE_CONNECT_TIMEOUT_MS',
    file: 'connect_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'upstream connect timeout',
    def: 10_000,
  },
  {
    key: 'firstByteTimeoutMs',
    flag: '--first-byte-timeout-ms',
    env: 'AGENTGATE_FIRST_BYTE_TIMEOUT_MS',
    file: 'first_byte_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'upstream time to response headers',
    def: 300_000,
  },
  {
    key: 'idleTimeoutMs',
    flag: '--idle-timeout-ms',
    env: 'AGENTGATE_IDLE_TIMEOUT_MS',
    file: 'idle_timeout_ms',
    kind: 'int',
    min: 1,
    help: 'upstream stream idle timeout',
    def: 300_000,
  },
  {
    key: 'maxBodyBytes',
    flag: '--max-body-bytes',
    env: 'AGENTGATE_MAX_BODY_BYTES',
    file: 'max_body_bytes',
    kind: 'int',
    min: 1024,
    help: 'max request body',
    def: 10 * MiB,
  },
  {
    key: 'maxWsFrameBytes',
    flag: '--max-ws-frame-bytes',
    env: 'AGENTGATE_MAX_WS_FRAME_BYTES',
    file: 'max_ws_frame_bytes',
    kind: 'int',
    min: 1024,
    help: 'max WebSocket frame',
    def: 10 * MiB,
  },
  {
    key: 'maxStoredResponseBytes',
    flag: '--max-stored-response-bytes',
    env: 'AGENTGATE_MAX_STORED_RESPONSE_BYTES',
    file: 'max_stored_response_bytes',
    kind: 'int',
    min: 1024,
    help: 'max size of one stored response',
    def: 8 * MiB,
  },
  {
    key: 'maxSseLineBytes',
    flag: '--max-sse-line-bytes',
    env: 'AGENTGATE_MAX_SSE_LINE_BYTES',
    file: 'max_sse_line_bytes',
    kind: 'int',
    min: 1024,
    help: 'max upstream SSE line',
    def: 16 * MiB,
  },
  {
    key: 'maxStreamBytes',
    flag: '--max-stream-bytes',
    env: 'AGENTGATE_MAX_STREAM_BYTES',
    file: 'max_stream_bytes',
    kind: 'int',
    min: 1024,
    help: 'max bytes of one upstream stream (the turn fails past it)',
    def: 64 * MiB,
  },
  {
    key: 'maxHistoryItems',
    flag: '--max-history-items',
    env: 'AGENTGATE_MAX_HISTORY_ITEMS',
    file: 'max_history_items',
    kind: 'int',
    min: 1,
    help: 'max items in a previous_response_id or conversation history (400 past it)',
    def: 10_000,
  },
  {
    key: 'maxWsQueue',
    flag: '--max-ws-queue',
    env: 'AGENTGATE_MAX_WS_QUEUE',
    file: 'max_ws_queue',
    kind: 'int',
    min: 1,
    help: 'max queued response.create per socket',
    def: 16,
  },
  {
    key: 'wsIdleTimeoutS',
    flag: '--ws-idle-timeout-s',
    env: 'AGENTGATE_WS_IDLE_TIMEOUT_S',
    file: 'ws_idle_timeout_s',
    kind: 'int',
    min: 0,
    max: 960,
    help: 'close idle WebSockets after this many seconds',
    def: 600,
  },
  {
    key: 'sealingKeys',
    flag: '--sealing-key',
    env: 'AGENTGATE_SEALING_KEYS',
    file: 'sealing_keys',
    kind: 'list',
    help: 'key for sealed encrypted_content (reasoning, compaction), base64 of 32 bytes (repeatable; env: comma-separated); the first seals, all open',
    secret: true,
    def: [],
  },
  {
    key: 'wsForceStore',
    flag: '--ws-force-store',
    env: 'AGENTGATE_WS_FORCE_STORE',
    file: 'ws_force_store',
    kind: 'bool',
    help: 'store every WebSocket turn (Codex chains need it)',
    def: true,
  },
  {
    key: 'shutdownGraceMs',
    flag: '--shutdown-grace-ms',
    env: 'AGENTGATE_SHUTDOWN_GRACE_MS',
    file: 'shutdown_grace_ms',
    kind: 'int',
    min: 0,
    help: 'on SIGTERM/SIGINT, how long running turns may finish before they are ended as failed',
    def: 25_000,
  },
  {
    key: 'metricsPublic',
    flag: '--metrics-public',
    env: 'AGENTGATE_METRICS_PUBLIC',
    file: 'metrics_public',
    kind: 'bool',
    help: 'serve /metrics without an API key when auth is on (for a Prometheus scraper)',
    def: false,
  },
  {
    key: 'retentionDays',
    flag: '--retention-days',
    env: 'AGENTGATE_RETENTION_DAYS',
    file: 'retention_days',
    kind: 'int',
    min: 1,
    help: 'delete responses (with their items and events) and deleted or empty conversations older than this many days; unset: keep everything',
    def: null,
  },
  {
    key: 'eventLogRetentionHours',
    flag: '--event-log-retention-hours',
    env: 'AGENTGATE_EVENT_LOG_RETENTION_HOURS',
    file: 'event_log_retention_hours',
    kind: 'int',
    min: 0,
    help: 'drop the stored events of responses finished this many hours ago (only resuming a stream reads them)',
    def: 24,
  },
  {
    key: 'anthropicModel',
    flag: '--anthropic-model',
    env: 'AGENTGATE_ANTHROPIC_MODEL',
    file: 'anthropic_model',
    kind: 'string',
    arg: 'ID',
    help: "upstream model that serves /v1/messages requests for model ids the upstream does not know (claude-…); unset: the upstream's first model",
    def: null,
  },
  {
    key: 'storeMessages',
    flag: '--store-messages',
    env: 'AGENTGATE_STORE_MESSAGES',
    file: 'store_messages',
    kind: 'bool',
    help: 'store each /v1/messages turn like a response (tenant, request id, status, usage)',
    def: true,
  },
  {
    key: 'messagesPingMs',
    flag: '--messages-ping-ms',
    env: 'AGENTGATE_MESSAGES_PING_MS',
    file: 'messages_ping_ms',
    kind: 'int',
    min: 10,
    help: 'a /v1/messages stream sends a ping event after this many ms without one',
    def: 10_000,
  },
]

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
    if ((name === '--api-key' || name === '--sealing-key') && typeof value === 'string')
      out.flags[name] = [...((prev as string[]) ?? []), value]
    else out.flags[name] = value
  }
  return out
}

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
  const known = new Set([...SETTINGS.map((s) => s.file), 'models'])
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
  // Tokens are only safe to accept for a known audience: an issuer alone (or an audience alone) is a mistake.
  if ((cfg.oidcIssuer === null) !== ((cfg.oidcAudience as string[]).length === 0))
    throw new ConfigError(
      cfg.oidcIssuer === null
        ? `${sources.oidcAudience!.where} needs --oidc-issuer too (OIDC takes both or neither)`
        : `${sources.oidcIssuer!.where} needs --oidc-audience too (OIDC takes both or neither)`,
    )
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
  }).join('\n')
}
