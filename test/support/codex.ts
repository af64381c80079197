// Runs the real Codex CLI (`codex exec`, devDependency @openai/codex) against a gateway, the way a
// user would (CODEX.md "Provider configuration"), in private temp dirs: its own HOME, CODEX_HOME
// (config.toml written here) and working directory, a clean environment and a hard timeout.
// Pass `codexHome` from an earlier run to continue in the same Codex home (multi-turn tests).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const CODEX_BIN = resolve(import.meta.dir, '../../node_modules/.bin/codex')

export interface CodexRunOptions {
  /** the gateway's base URL including /v1 (TestGateway.baseURL) */
  baseURL: string
  model: string
  /** the prompt; omitted when `args` already says everything */
  prompt?: string
  /** kill the whole process group after this long (default 45 s) */
  timeoutMs?: number
  /** provider `supports_websockets` (default false: HTTP + SSE) */
  websockets?: boolean
  /** what the provider's auth command prints (Codex fetches /v1/models only with an auth command); null = no auth block */
  apiKey?: string | null
  /** reuse a Codex home from an earlier run (its config.toml is rewritten) */
  codexHome?: string
  /** working directory for the agent (default: a fresh temp dir) */
  cwd?: string
  /** extra TOML appended to config.toml, e.g. 'model_catalog_json = "/path/models.json"' */
  extraConfig?: string
  /** arguments inserted after the standard `exec` flags, before the prompt (e.g. ['resume', '--last']) */
  args?: string[]
  /** print events as JSONL on stdout (--json) */
  json?: boolean
  /** run tool calls unsandboxed and without approvals (default true; the cwd is a temp dir) */
  bypassSandbox?: boolean
  /** extra environment variables for Codex */
  env?: Record<string, string>
}

export interface CodexRun {
  /** null when killed by the timeout */
  exitCode: number | null
  timedOut: boolean
  stdout: string
  stderr: string
  /** $CODEX_HOME of the run: config.toml, models_cache.json, sessions/ */
  codexHome: string
  cwd: string
  /** the HOME Codex saw */
  home: string
  durationMs: number
  /** removes the temp dirs this helper created (not a passed-in codexHome or cwd) */
  cleanup(): void
}

/** The config.toml of CODEX.md, pointed at `baseURL`, with retries kept small so failures are fast. */
export function codexConfigToml(o: Pick<CodexRunOptions, 'baseURL' | 'websockets' | 'apiKey' | 'extraConfig'>): string {
  const lines = [
    'model_provider = "agentgate"',
    '',
    '[model_providers.agentgate]',
    'name = "agentgate"',
    `base_url = ${JSON.stringify(o.baseURL)}`,
    'wire_api = "responses"',
    'requires_openai_auth = false',
    `supports_websockets = ${o.websockets ? 'true' : 'false'}`,
    'request_max_retries = 1',
    'stream_max_retries = 1',
    'stream_idle_timeout_ms = 20000',
  ]
  if (o.apiKey !== null)
    lines.push('', '[model_providers.agentgate.auth]', 'command = "printf"', `args = ["%s", ${JSON.stringify(o.apiKey ?? 'test-key')}]`)
  // top-level keys must come before the first table, so extras go into a table-free prefix
  return (o.extraConfig ? o.extraConfig.trim() + '\n\n' : '') + lines.join('\n') + '\n'
}

export async function runCodex(o: CodexRunOptions): Promise<CodexRun> {
  const root = mkdtempSync(join(tmpdir(), 'agentgate-codex-'))
  const home = join(root, 'home')
  const codexHome = o.codexHome ?? join(root, 'codex-home')
  const cwd = o.cwd ?? join(root, 'work')
  const tmp = join(root, 'tmp')
  for (const d of [home, codexHome, cwd, tmp]) mkdirSync(d, { recursive: true })
  writeFileSync(join(codexHome, 'config.toml'), codexConfigToml(o))

  const cmd = [
    CODEX_BIN,
    'exec',
    '--skip-git-repo-check',
    '--disable',
    'image_generation',
    '-c',
    'model_provider=agentgate',
    '-m',
    o.model,
    '--color',
    'never',
  ]
  if (o.bypassSandbox ?? true) cmd.push('--dangerously-bypass-approvals-and-sandbox')
  if (o.json) cmd.push('--json')
  cmd.push(...(o.args ?? []))
  if (o.prompt !== undefined) cmd.push(o.prompt)

  // A clean environment: no OpenAI keys, proxies or the developer's own Codex config leak in.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    CODEX_HOME: codexHome,
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...o.env,
  }
  const started = performance.now()
  // Own process group, so the timeout kills the node launcher and the native binary together.
  const proc = Bun.spawn(cmd, { cwd, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', detached: true })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    try {
      process.kill(-proc.pid, 'SIGKILL')
    } catch {
      proc.kill('SIGKILL')
    }
  }, o.timeoutMs ?? 45_000)
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return {
    exitCode: timedOut ? null : exitCode,
    timedOut,
    stdout,
    stderr,
    codexHome,
    cwd,
    home,
    durationMs: Math.round(performance.now() - started),
    cleanup: () => {
      rmSync(root, { recursive: true, force: true })
    },
  }
}
