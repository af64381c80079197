// `agentgate codex`: from download to a Codex session in one command. Attaches to a gateway already
// serving on the configured address (or starts one in this process), writes a private CODEX_HOME
// with agentgate as the model provider and the gateway's catalog as model_catalog_json, then runs
// the user's `codex` with their arguments.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseApiKeySpec } from '../auth'
import type { Config } from '../config'
import { redactUrl } from '../upstream/redact'

/** The Codex version whose catalog shape we serve (CODEX.md); sent as client_version. */
export const CODEX_CLIENT_VERSION = '0.169.0'

export interface LaunchPlan {
  codexHome: string
  configToml: string
  catalogPath: string
  model: string
}

/**
 * The environment variable the launcher hands Codex the gateway's API key in (the provider's `env_key`): Codex sends it
 * as `Authorization: Bearer …` on every request and on the WebSocket upgrade, and the key is never written to disk.
 */
export const CODEX_KEY_ENV = 'AGENTGATE_CODEX_API_KEY'

/**
 * config.toml for the private CODEX_HOME (pure; the provider block of CODEX.md). With `withKey`, the provider reads
 * its key from CODEX_KEY_ENV.
 */
export function codexConfigToml(baseUrl: string, model: string, catalogPath: string, withKey = false): string {
  return [
    '# Written by `agentgate codex` on every launch; edit agentgate settings instead.',
    `model = ${JSON.stringify(model)}`,
    'model_provider = "agentgate"',
    `model_catalog_json = ${JSON.stringify(catalogPath)}`,
    '',
    '[model_providers.agentgate]',
    'name = "agentgate"',
    `base_url = ${JSON.stringify(baseUrl + '/v1')}`,
    'wire_api = "responses"',
    'requires_openai_auth = false',
    'supports_websockets = true',
    ...(withKey ? [`env_key = ${JSON.stringify(CODEX_KEY_ENV)}`] : []),
    '',
    '[features]',
    '# the TUI runs its app-server in-process: a background daemon would outlive the session (and keep holding it,',
    '# so a later `codex resume` finds "an active writer")',
    'daemon_auto_start = false',
    '# agentgate does not run hosted image generation',
    'image_generation = false',
    '',
  ].join('\n')
}

/** Is an agentgate answering at `url`? (attach instead of starting a second one) */
export async function probeGateway(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })
    const body = (await res.json().catch(() => null)) as { status?: string; version?: string } | null
    return res.ok && body?.status === 'ok' && typeof body.version === 'string'
  } catch {
    return false
  }
}

/**
 * The key Codex authenticates with: the first configured key written in plain text (`--api-key [TENANT:]KEY`, env,
 * config.toml or the keys file). null when no key is configured. Only hashed keys: an error, since Codex needs the key.
 */
export function launcherKey(config: Pick<Config, 'apiKeys'>): string | null {
  if (!config.apiKeys.length) return null
  for (const spec of config.apiKeys) {
    const { key } = parseApiKeySpec(spec)
    if (key !== null) return key
  }
  throw new Error('the configured API keys are all sha256: hashes, and Codex needs a key itself: pass one with --api-key [TENANT:]KEY')
}

/** Fetches the Codex catalog from the gateway (with `key` when it needs one) and writes the private CODEX_HOME. */
export async function prepareCodexHome(
  config: Config,
  gatewayUrl: string,
  model: string | null,
  key: string | null = null,
): Promise<LaunchPlan> {
  const res = await fetch(`${gatewayUrl}/v1/models?client_version=${CODEX_CLIENT_VERSION}`, {
    headers: key === null ? {} : { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(config.connectTimeoutMs + 5000),
  })
  // Untyped JSON: the gateway's /v1/models answer with Codex's catalog (`models`), or an error body.
  const body = (await res.json().catch(() => null)) as { error?: { message?: string }; models?: { slug: string }[] } | null
  if (res.status === 401)
    throw new Error(
      `the gateway at ${gatewayUrl} ${key === null ? 'needs an API key: pass the one it accepts with --api-key [TENANT:]KEY' : 'did not accept the API key: pass the one it accepts with --api-key [TENANT:]KEY'}`,
    )
  if (!res.ok)
    throw new Error(
      `the gateway could not list the upstream's models (${body?.error?.message ?? res.status}); is the upstream at ${redactUrl(config.upstream)} running?`,
    )
  const slugs: string[] = (body?.models ?? []).map((m) => m.slug)
  if (!slugs.length) throw new Error(`the upstream at ${redactUrl(config.upstream)} lists no models`)
  const chosen = model ?? slugs[0]
  if (!slugs.includes(chosen)) throw new Error(`model "${chosen}" is not served by the upstream; it has: ${slugs.join(', ')}`)
  const codexHome = join(config.home, 'codex-home')
  mkdirSync(codexHome, { recursive: true, mode: 0o700 })
  const catalogPath = join(codexHome, 'agentgate-models.json')
  writeFileSync(catalogPath, JSON.stringify(body, null, 2) + '\n')
  const configToml = codexConfigToml(gatewayUrl, chosen, catalogPath, key !== null)
  writeFileSync(join(codexHome, 'config.toml'), configToml)
  return { codexHome, configToml, catalogPath, model: chosen }
}

/** Where the `codex` executable is: --codex, AGENTGATE_CODEX, or PATH. */
export function findCodex(explicit: string | undefined, env: Record<string, string | undefined>): string | null {
  return explicit ?? env.AGENTGATE_CODEX ?? Bun.which('codex', { PATH: env.PATH ?? '' })
}

export const CODEX_MISSING =
  'the Codex CLI (`codex`) is not on PATH. Install it with `npm install -g @openai/codex` (or pass --codex /path/to/codex), then run `agentgate codex` again.'
