// The shapes of configuration: the resolved Config the gateway runs with, and Setting, one declared setting
// (flag, env name, file key, kind, default) that parsing, --help and the README table are all derived from.

import type { ModelOverride } from '../codex/overrides'
import type { LogFormatSetting, LogLevel } from '../log'
import type { McpServerConfig } from '../mcp/config'
import type { WebSearchProviderKind } from '../websearch/types'

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
  /** after traffic, ms with no request and nothing in flight before memory is given back (src/idle-release.ts); 0: never */
  idleReleaseMs: number
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
  /** rounds of gateway-run tool calls per turn (engine/tool-rounds.ts) */
  maxToolRounds: number
  toolCallTimeoutMs: number
  toolCallConcurrency: number
  maxToolOutputBytes: number
  models: Record<string, ModelOverride>
  /** the provider web_search tools run on; null: none (the tools are left out of the upstream request) */
  webSearchProvider: WebSearchProviderKind | null
  /** its base URL; null: the public API of brave/tavily (searxng always has one) */
  webSearchUrl: string | null
  /** the provider's key, from AGENTGATE_WEB_SEARCH_KEY only (never a flag or a file key); set for brave and tavily */
  webSearchKey: string | null
  webSearchTimeoutMs: number
  /** --mcp-allowed-hosts entries (host, *.suffix, host:port), checked at start-up (src/mcp/allowlist.ts) */
  mcpAllowedHosts: string[]
  /** connect + tools/list bound for an MCP server */
  mcpTimeoutMs: number
  /** an unused HTTP MCP connection is closed after this long */
  mcpIdleTimeoutMs: number
  /** [mcp_servers.LABEL] tables of the config file, by label */
  mcpServers: Record<string, McpServerConfig>
}

export type Kind = 'string' | 'int' | 'url' | 'bool' | 'list' | 'enum'

export interface Setting {
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
