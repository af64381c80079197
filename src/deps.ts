// AppDeps: what the HTTP/WebSocket surface is built from (createApp) and what each route file takes from it —
// apart from app.ts so a route file does not import the app that mounts it.
import type { Auth } from './auth'
import type { BackgroundRunner } from './engine/background'
import type { Config } from './config'
import type { Drain } from './engine/drain'
import type { IdSource } from './ids'
import type { Logger } from './log'
import type { McpServers } from './mcp'
import type { GatewayMetrics } from './metrics'
import type { Store } from './store/types'
import type { Sealer } from './sealing/sealer'
import type { Tracing } from './tracing'
import type { UpstreamClient } from './upstream/client'
import type { WebSearchProvider } from './websearch'

export interface AppDeps {
  config: Config
  upstream: UpstreamClient
  store: Store
  /** unix ms */
  clock: () => number
  ids: IdSource
  logger: Logger
  version: string
  /**
   * Runs background turns. The binary passes its own so it can stop them (stored as failed) before closing the
   * store; createApp makes one otherwise.
   */
  background?: BackgroundRunner
  /** The metrics registry behind GET /metrics. The binary passes its own (its background runner reports to it); createApp makes one otherwise. */
  metrics?: GatewayMetrics
  /** Graceful shutdown (engine/drain.ts). The binary passes its own to drain on SIGTERM; createApp makes one otherwise. */
  drain?: Drain
  /** API keys and OIDC tokens → tenants (src/auth.ts). The gateway passes its own; createApp makes one from the config otherwise. */
  auth?: Auth
  /** Spans and their exporter (src/tracing), made by createApp from the config; null when --otel-endpoint is unset. */
  tracing?: Tracing | null
  /** Seals encrypted_content (src/sealing). createApp makes one from the configured keys (or the home directory's) otherwise. */
  sealer?: Sealer
  /** The MCP servers turns may use (src/mcp), made and closed by the gateway; without: mcp tools are left out. */
  mcp?: McpServers
  /** The web search provider (src/websearch), or null when none is configured (web_search tools are left out). */
  webSearch?: WebSearchProvider | null
  /** Called for every request and every WebSocket message: the gateway's idle watch (src/idle-release.ts). */
  onActivity?: () => void
}
