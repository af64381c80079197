// `agentgate claude`: what Claude Code is started with — the gateway as ANTHROPIC_BASE_URL, the key, the upstream
// model for every model slot (main, small/fast, haiku/sonnet/opus), the model's context window from the upstream's
// max_model_len (else Claude Code assumes 1M tokens for an id it does not know), and no non-essential traffic.
import { redactUrl } from '../upstream/redact'
import { upstreamContextWindow, upstreamModels } from '../codex/catalog'
import type { Config } from '../config'

export interface ClaudePlan {
  model: string
  /** the model's context length as the upstream advertises it, when it does */
  contextWindow: number | undefined
}

/** What Claude Code asks for by default is 32000 output tokens; a small context cannot hold that beside the input. */
const DEFAULT_MAX_OUTPUT = 32_000
/** The smallest CLAUDE_CODE_AUTO_COMPACT_WINDOW Claude Code takes as given. */
const MIN_COMPACT_WINDOW = 100_000

/** The environment Claude Code runs with (pure): added to, and overriding, the user's. */
export function claudeEnvironment(gatewayUrl: string, plan: ClaudePlan, key: string | null): Record<string, string> {
  const env: Record<string, string> = {
    ANTHROPIC_BASE_URL: gatewayUrl,
    // A bearer token, not ANTHROPIC_API_KEY: Claude Code asks before using an API key from the environment, and
    // would otherwise ask to log in. Without gateway keys any non-empty token does.
    ANTHROPIC_AUTH_TOKEN: key ?? 'agentgate',
    ANTHROPIC_MODEL: plan.model,
    ANTHROPIC_SMALL_FAST_MODEL: plan.model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: plan.model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: plan.model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: plan.model,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  }
  if (plan.contextWindow) {
    // Compaction happens within the model's real window, and answers leave room for the input. Claude Code 2.1.332
    // reads a window under 100k as 100k (measured: it says so on stderr), so a smaller one is expressed as a
    // compaction threshold in percent of 100k instead: 90% of the real window.
    if (plan.contextWindow >= MIN_COMPACT_WINDOW) env.CLAUDE_CODE_AUTO_COMPACT_WINDOW = String(plan.contextWindow)
    else {
      env.CLAUDE_CODE_AUTO_COMPACT_WINDOW = String(MIN_COMPACT_WINDOW)
      env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE = String(Math.max(1, Math.floor((plan.contextWindow * 0.9 * 100) / MIN_COMPACT_WINDOW)))
    }
    env.CLAUDE_CODE_MAX_OUTPUT_TOKENS = String(Math.min(DEFAULT_MAX_OUTPUT, Math.max(1024, Math.floor(plan.contextWindow / 4))))
  }
  return env
}

/** Variables of the user's environment that would override the gateway's (a real Anthropic key, another base URL). */
export const CLAUDE_ENV_REMOVED = ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_USE_BEDROCK', 'CLAUDE_CODE_USE_VERTEX', 'CLAUDE_CODE_USE_FOUNDRY']

/** Picks the model from the gateway's list of the upstream's models (with `key` when it needs one). */
export async function planClaude(config: Config, gatewayUrl: string, model: string | null, key: string | null): Promise<ClaudePlan> {
  const res = await fetch(`${gatewayUrl}/v1/models`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(config.connectTimeoutMs + 5000),
  })
  // biome-ignore lint/suspicious/noExplicitAny: the gateway's JSON answer, an error body or a model list, read defensively below
  const body = (await res.json().catch(() => null)) as any
  if (res.status === 401)
    throw new Error(
      `the gateway at ${gatewayUrl} ${key === null ? 'needs an API key' : 'did not accept the API key'}: pass the one it accepts with --api-key [TENANT:]KEY`,
    )
  if (!res.ok)
    throw new Error(
      `the gateway could not list the upstream's models (${body?.error?.message ?? res.status}); is the upstream at ${redactUrl(config.upstream)} running?`,
    )
  const models = upstreamModels(body) ?? []
  if (!models.length) throw new Error(`the upstream at ${redactUrl(config.upstream)} lists no models`)
  const chosen = model ?? config.anthropicModel ?? models[0]!.id
  const entry = models.find((m) => m.id === chosen)
  if (!entry) throw new Error(`model "${chosen}" is not served by the upstream; it has: ${models.map((m) => m.id).join(', ')}`)
  return { model: chosen, contextWindow: upstreamContextWindow(entry) }
}

/** Where the `claude` executable is: --claude, AGENTGATE_CLAUDE, or PATH. */
export function findClaude(explicit: string | undefined, env: Record<string, string | undefined>): string | null {
  return explicit ?? env.AGENTGATE_CLAUDE ?? Bun.which('claude', { PATH: env.PATH ?? '' })
}

export const CLAUDE_MISSING =
  'Claude Code (`claude`) is not on PATH. Install it with `npm install -g @anthropic-ai/claude-code` (or pass --claude /path/to/claude), then run `agentgate claude` again.'
