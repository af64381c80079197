// createGateway(config): the one composition root. `agentgate serve`, the Codex launcher and the tests build the
// running gateway here — store (its recovery at start and the sweep after, the retention sweep), upstream client,
// metrics, auth, background runner, drain (graceful shutdown) and the app — then listen, stop or shut it down.
import { createApp, type App } from './app'
import { authFromConfig, logAuthMode, type Auth } from './auth'
import type { Config } from './config'
import { createBackgroundRunner, INTERRUPTED_MESSAGE, startRecoverySweep } from './engine/background'
import { Drain, type DrainSummary } from './engine/drain'
import { ownerIsAlive } from './engine/lease'
import { releaseMemory, watchIdle } from './idle-release'
import { timeOrderedId, type IdSource } from './ids'
import { createLogger, resolveLogFormat, stderrIsTerminal, type Logger } from './log'
import type { McpServers } from './mcp'
import { createMetrics, type GatewayMetrics } from './metrics'
import { listenError } from './startup-errors'
import { logProbe, probeUpstream, startupFields } from './startup-summary'
import { openStore } from './store'
import { startRetention } from './store/retention'
import type { Store } from './store/types'
import { upstreamFromConfig, type UpstreamClient } from './upstream/client'
import { VERSION } from './version'
import { webSearchProviderFromConfig, type WebSearchProvider } from './websearch'

/** What a caller may put in place of the production pieces; everything else comes from the config. */
export interface GatewayOptions {
  version?: string
  /** no "listening" line on stdout and no start-up probe of the upstream (the launcher, the tests) */
  quiet?: boolean
  /** where log lines go instead of stderr (a file, a test's array); the format is then JSON unless --log-format says otherwise */
  log?: (line: string) => void
  /** the logger itself (tests pick their level); default: from --log-level and --log-format */
  logger?: Logger
  /** unix ms */
  clock?: () => number
  ids?: IdSource
  /** the upstream client; default: the one --upstream and the timeouts describe */
  upstream?: UpstreamClient
  /** graceful-shutdown state, for a caller that drains by hand */
  drain?: Drain
  /** the MCP servers turns use; default: the configured ones and --mcp-allowed-hosts (closed by stop() either way) */
  mcp?: McpServers
  /** the web search provider; default: the one --web-search-provider describes (null: none) */
  webSearch?: WebSearchProvider | null
  /**
   * The process-wide part of the idle release (--idle-release-ms; src/idle-release.ts) in place of releaseMemory, and
   * the minimum interval between two: the tests count releases instead of collecting their own process's heap (the
   * store gives back its part either way, before this one).
   */
  idleRelease?: { release?: () => void; minIntervalMs?: number }
}

export interface Gateway {
  readonly app: App
  readonly config: Config
  readonly store: Store
  readonly logger: Logger
  readonly metrics: GatewayMetrics
  readonly drain: Drain
  readonly auth: Auth
  /** Listens on --host/--port (the listening line unless quiet); returns the URL. Fails with a StartupError, everything released. */
  listen(): Promise<string>
  /** Stops listening and the background work; running background turns are stored as failed; closes the store. */
  stop(): Promise<void>
  /**
   * Graceful shutdown (SIGTERM/SIGINT): /ready turns 503 and no new turn starts at once; running turns may finish
   * for --shutdown-grace-ms, then the rest end as failed; sockets close with 1001; then stop(). Logs a line when it
   * begins and one saying what was drained.
   */
  shutdown(reason: string): Promise<DrainSummary>
}

/** How long a shutdown waits, after the drain, for open responses to be written out before closing connections. */
const FLUSH_MS = 2_000

export async function createGateway(config: Config, opts: GatewayOptions = {}): Promise<Gateway> {
  const version = opts.version ?? VERSION
  const logger =
    opts.logger ?? createLogger(config.logLevel, opts.log, resolveLogFormat(config.logFormat, opts.log ? false : stderrIsTerminal()))
  const store = await openStore(config)
  // Turns a previous process left queued/in_progress (it crashed or was killed) end as failed, never in_progress
  // forever. Turns of other live processes sharing the database are left alone (their leases are renewed); the
  // sweep catches those whose process dies later.
  const interrupted = await store.failInterrupted(INTERRUPTED_MESSAGE, Date.now(), { alive: (owner) => ownerIsAlive(owner) })
  if (interrupted.length) logger.warn('marked responses left running by a previous process as failed', { count: interrupted.length })
  const stopSweep = startRecoverySweep(store, logger)
  const stopRetention = startRetention(
    store,
    { retentionDays: config.retentionDays, eventLogRetentionHours: config.eventLogRetentionHours },
    logger,
  )
  const metrics = createMetrics()
  const background = createBackgroundRunner({ store, logger, metrics })
  const upstream = opts.upstream ?? upstreamFromConfig(config)
  const drain = opts.drain ?? new Drain()
  // API keys → tenants; with an OIDC issuer, bearer tokens that are not keys are verified against its keys.
  const auth = authFromConfig(config, logger)
  // The tools the gateway runs itself (issue 14): MCP servers (sessions pooled, stdio servers kept) and web search.
  // The MCP client (and its SDK) is loaded only when a server can be used — one configured, or hosts allowed —, so a
  // gateway without MCP starts without it; the engine then refuses {"type":"mcp"} tools itself.
  const mcp =
    opts.mcp ??
    (config.mcpAllowedHosts.length || Object.keys(config.mcpServers).length
      ? (await import('./mcp')).createMcpServers(config, logger)
      : undefined)
  const webSearch = opts.webSearch !== undefined ? opts.webSearch : webSearchProviderFromConfig(config, logger)
  // Memory back once the gateway goes idle. In flight: requests being answered (Bun's count ends at the response
  // headers), turns running on any edge (background ones too), streams open, background turns waiting to start.
  const idle = watchIdle({
    afterMs: config.idleReleaseMs,
    busy: () =>
      (app.server?.pendingRequests ?? 0) > 0 ||
      metrics.activeTurns.value > 0 ||
      metrics.activeSseStreams.value > 0 ||
      metrics.backgroundQueued.value > 0,
    // The store's part first: what SQLite frees (its page cache, PRAGMA shrink_memory) goes back to Bun's allocator,
    // which returns freed pages to the kernel only after serve's purge delay (allocator-env.ts: 5 s) — unless a full
    // collection comes after, as the process-wide part is. The other way round, ~1.5–2 MiB stayed resident 5 s longer.
    before: () => store.releaseMemory().catch((e) => logger.warn('the store could not give its memory back', { err: String(e) })),
    release: opts.idleRelease?.release ?? releaseMemory,
    minIntervalMs: opts.idleRelease?.minIntervalMs,
    onRelease: (ms, after) =>
      logger.debug(after === 'start' ? 'gave back what the start left' : 'gave memory back after idle', {
        idle_ms: config.idleReleaseMs,
        release_ms: Math.round(ms),
      }),
  })
  const app = createApp({
    config,
    upstream,
    store,
    clock: opts.clock ?? Date.now,
    ids: opts.ids ?? timeOrderedId,
    logger,
    version,
    background,
    metrics,
    drain,
    auth,
    mcp,
    webSearch,
    onActivity: idle.touch,
  })

  let stopped: Promise<void> | null = null
  const stop = () =>
    (stopped ??= (async () => {
      stopSweep()
      idle.stop()
      await stopRetention()
      if (app.server) await app.stop(true)
      // Background turns still running are stored as failed while the store is still open.
      await background.shutdown()
      // MCP sessions closed and the stdio servers the gateway started stopped, once no turn can call them.
      await mcp?.close().catch((e) => logger.warn('could not close the MCP servers', { err: String(e) }))
      await store.close()
    })())

  return {
    app,
    config,
    store,
    logger,
    metrics,
    drain,
    auth,
    async listen() {
      try {
        app.listen({ hostname: config.host, port: config.port })
      } catch (e) {
        await stop().catch(() => {})
        throw listenError(e, config.host, config.port)
      }
      const server = app.server!
      const host = server.hostname ?? config.host
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`
      // The one line scripts read to find the port; always printed, whatever the log level.
      // console.log, not process.stdout.write: written at once, and no stream to set up first (see log.ts).
      if (!opts.quiet) console.log(`agentgate listening on ${url}`)
      logger.info('started', startupFields(config, version, url))
      logAuthMode(logger, auth, config.host)
      // Whether the upstream answers (and with which models) is logged when known; it never delays "listening".
      if (!opts.quiet) void probeUpstream(upstream).then((r) => logProbe(logger, config.upstream, r))
      // what the start left is given back once the gateway has waited --idle-release-ms for a first request
      idle.started()
      return url
    },
    stop,
    async shutdown(reason) {
      const sockets = metrics.activeWebSockets.value
      logger.info('shutting down: no new turns; running ones may finish', {
        signal: reason,
        running_turns: drain.active(),
        websockets: sockets,
        grace_ms: config.shutdownGraceMs,
      })
      const summary = await drain.drain(config.shutdownGraceMs)
      // Let the last terminal events reach their clients before connections are closed: stop listening, give
      // open responses a moment to end, then close whatever is left.
      if (app.server) await Promise.race([app.server.stop(false), Bun.sleep(FLUSH_MS)])
      await stop()
      logger.info('shut down', {
        signal: reason,
        turns_finished: summary.finished,
        turns_failed_at_deadline: summary.stopped,
        ...(summary.unfinished ? { turns_not_stored: summary.unfinished } : {}),
        websockets_closed: sockets,
        waited_ms: summary.waitedMs,
      })
      return summary
    },
  }
}
