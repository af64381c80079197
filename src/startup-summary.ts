// What the gateway says about itself when it starts: version, where it listens, the upstream (redacted) and the
// models it serves — or that it is not answering —, how many upstream requests run at once, the database (a path, or
// PostgreSQL's host, never a password), auth on/off and the docs URL. The upstream probe runs after "listening" and is
// logged when known.
import type { Config } from './config'
import { fetchCapOf } from './fetch-cap'
import type { Logger } from './log'
import type { UpstreamClient } from './upstream/client'
import { redactUrl, redactUrlIn } from './upstream/redact'
import { describeWebSearch } from './websearch'

/** How long the start-up probe of the upstream's /models may take before it is reported as not answering. */
export const STARTUP_PROBE_MS = 3_000
const MAX_LOGGED_MODELS = 20

/** The database in words: the SQLite path, or `postgresql://host:port/name` without user and password. */
export function describeDatabase(config: Pick<Config, 'db' | 'databaseUrl'>): string {
  if (!config.databaseUrl) return config.db
  try {
    const u = new URL(config.databaseUrl)
    return `postgresql://${u.host}${u.pathname}`
  } catch {
    return redactUrl(config.databaseUrl)
  }
}

/**
 * The fields of the "started" line. `maxUpstreamRequests`: how many upstream requests Bun's fetch runs at once in this
 * process (fetch-cap.ts), by default from the environment it started with.
 */
export function startupFields(
  config: Config,
  version: string,
  url: string,
  maxUpstreamRequests = fetchCapOf(process.env).cap,
): Record<string, unknown> {
  return {
    version,
    url,
    upstream: redactUrl(config.upstream),
    upstream_api: config.upstreamApi,
    max_upstream_requests: maxUpstreamRequests,
    database: describeDatabase(config),
    auth: config.apiKeys.length > 0 || config.oidcIssuer ? 'on' : 'off',
    ...(config.otelEndpoint ? { traces: redactUrl(config.otelEndpoint) } : {}),
    ...(config.webSearchProvider ? { web_search: describeWebSearch(config) } : {}),
    docs: `${url}/docs`,
  }
}

export type ProbeResult = { ok: true; models: string[] } | { ok: false; reason: string }

/** Asks the upstream for its models, bounded by `timeoutMs`; never throws. */
export async function probeUpstream(upstream: UpstreamClient, timeoutMs = STARTUP_PROBE_MS): Promise<ProbeResult> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const res = await upstream.call({ path: '/models', signal })
    if (!res.ok) {
      await res.body?.cancel()
      return { ok: false, reason: `it answered ${res.status} on /models` }
    }
    const body = (await res.json()) as { data?: { id?: unknown }[] }
    const models = Array.isArray(body?.data) ? body.data.map((m) => m?.id).filter((id): id is string => typeof id === 'string') : []
    return { ok: true, models }
  } catch (e) {
    if (signal.aborted) return { ok: false, reason: `no answer within ${timeoutMs} ms` }
    return { ok: false, reason: redactUrlIn(String((e as Error)?.message ?? e), upstream.baseUrl) }
  }
}

/** Logs the probe's result against the (redacted) upstream URL. */
export function logProbe(logger: Logger, upstreamUrl: string, r: ProbeResult): void {
  // A server with hundreds of models gets a line, not a page: the first MAX_LOGGED_MODELS and the count.
  if (r.ok)
    logger.info('upstream answering', {
      upstream: redactUrl(upstreamUrl),
      models: r.models.slice(0, MAX_LOGGED_MODELS),
      ...(r.models.length > MAX_LOGGED_MODELS ? { models_total: r.models.length } : {}),
    })
  else logger.warn('upstream not answering', { upstream: redactUrl(upstreamUrl), reason: r.reason })
}
