// `agentgate doctor`: checks what a running gateway depends on — config, database, upstream, the Codex catalog,
// the configured MCP servers, the agent CLIs — and reports a ✓/⚠/✗ checklist with a hint per problem. Read-only: it
// opens the database without migrating it, sends the upstream at most one 1-token request (with --probe) and asks
// each configured MCP server for its tools (starting a stdio server for as long as that takes).

import { Database } from 'bun:sqlite'
import { existsSync } from 'node:fs'
import type { Config } from '../config'
import { toCodexCatalog, upstreamModels } from '../codex/catalog'
import { isPostgresUrl, openPostgres, redactUrl as redactDatabaseUrl } from '../store/postgres/driver'
import { embeddedPgMigrations } from '../store/postgres/migrate'
import { embeddedMigrations } from '../store/sqlite/migrate'
import { silentLogger } from '../log'
import { createMcpServers } from '../mcp'
import { upstreamFromConfig } from '../upstream/client'
import { redactUrl } from '../upstream/redact'

export type CheckStatus = 'ok' | 'warn' | 'fail'

export interface Check {
  name: string
  status: CheckStatus
  /** what was found, one line */
  detail: string
  /** what to do about a warning or failure */
  hint?: string
}

export interface DoctorOptions {
  /** send a 1-token request to the upstream's generation endpoint */
  probe: boolean
  /** PATH to look for codex/claude in */
  path: string
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '⚠', fail: '✗' }

/** The checklist as printed: one line per check, its hint indented below it, then a summary line. */
export function formatChecklist(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length))
  const lines: string[] = []
  for (const c of checks) {
    lines.push(`${MARK[c.status]} ${c.name.padEnd(width)}  ${c.detail}`)
    if (c.hint && c.status !== 'ok') lines.push(`  ${' '.repeat(width)}  → ${c.hint}`)
  }
  const failed = checks.filter((c) => c.status === 'fail').length
  const warned = checks.filter((c) => c.status === 'warn').length
  lines.push(
    failed
      ? `${failed} check${failed > 1 ? 's' : ''} failed`
      : `all checks passed${warned ? ` (${warned} warning${warned > 1 ? 's' : ''})` : ''}`,
  )
  return lines.join('\n') + '\n'
}

export function doctorFailed(checks: Check[]): boolean {
  return checks.some((c) => c.status === 'fail')
}

export async function runDoctor(config: Config, opts: DoctorOptions): Promise<Check[]> {
  const checks: Check[] = [
    {
      name: 'config',
      status: 'ok',
      detail: config.configFile ? `${config.configFile} read` : 'no config file; flags, environment and defaults',
    },
    await checkDatabase(config),
  ]
  const upstream = await checkUpstream(config)
  checks.push(upstream.check)
  if (upstream.list !== undefined) {
    checks.push(checkCatalog(config, upstream.list))
    if (opts.probe) checks.push(await probeUpstream(config, upstream.models[0]))
  } else if (opts.probe) {
    checks.push({
      name: 'upstream probe',
      status: 'fail',
      detail: 'skipped: the upstream did not list its models',
      hint: 'fix the upstream check first',
    })
  }
  checks.push(...(await checkMcpServers(config)))
  checks.push(await checkCli('codex', opts.path, 'the Codex CLI: npm install -g @openai/codex (needed only for `agentgate codex`)'))
  checks.push(await checkCli('claude', opts.path, 'Claude Code: npm install -g @anthropic-ai/claude-code (optional)'))
  return checks
}

/** Why something failed, one line. */
const reason = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]

async function checkDatabase(config: Config): Promise<Check> {
  if (config.databaseUrl) return checkPostgres(config.databaseUrl)
  const path = config.db
  if (!existsSync(path)) return { name: 'database', status: 'ok', detail: `${path} does not exist yet; \`agentgate serve\` creates it` }
  let db: Database | null = null
  try {
    db = new Database(path, { readonly: true, strict: true })
    const integrity = (db.query('PRAGMA quick_check').all() as Record<string, string>[]).map((r) => Object.values(r)[0])
    if (integrity.length !== 1 || integrity[0] !== 'ok')
      return {
        name: 'database',
        status: 'fail',
        detail: `${path} is damaged: ${integrity.slice(0, 3).join('; ')}`,
        hint: 'restore it from a backup, or move it aside to start afresh',
      }
    const applied = tableExists(db, '__drizzle_migrations')
      ? (db.query('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n
      : 0
    return migrationCheck(`SQLite ${path}`, applied, embeddedMigrations().length)
  } catch (e) {
    return {
      name: 'database',
      status: 'fail',
      detail: `cannot open ${path}: ${reason(e)}`,
      hint: 'check that --db names an agentgate SQLite database and that this user can read it',
    }
  } finally {
    db?.close()
  }
}

function tableExists(db: Database, name: string): boolean {
  return !!db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)
}

function migrationCheck(what: string, applied: number, known: number): Check {
  if (applied > known)
    return {
      name: 'database',
      status: 'fail',
      detail: `${what}: schema version ${applied}, newer than this agentgate knows (${known})`,
      hint: 'a newer agentgate wrote it: upgrade this one',
    }
  if (applied < known)
    return {
      name: 'database',
      status: 'ok',
      detail: `${what}: integrity ok, schema version ${applied} of ${known} (\`agentgate serve\` migrates it at start)`,
    }
  return { name: 'database', status: 'ok', detail: `${what}: integrity ok, schema version ${applied} (current)` }
}

async function checkPostgres(url: string): Promise<Check> {
  const shown = redactDatabaseUrl(url)
  if (!isPostgresUrl(url))
    return {
      name: 'database',
      status: 'fail',
      detail: `--database-url ${shown} is not a postgres:// URL`,
      hint: 'use postgres://USER:PASSWORD@HOST:PORT/DB',
    }
  const { client } = openPostgres(url, { max: 1 })
  try {
    await client.unsafe('SELECT 1')
    const [row] = await client.unsafe(`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`)
    const applied = row.present ? Number((await client.unsafe('SELECT count(*) AS n FROM drizzle.__drizzle_migrations'))[0].n) : 0
    return migrationCheck(`PostgreSQL ${shown}`, applied, embeddedPgMigrations().length)
  } catch (e) {
    return {
      name: 'database',
      status: 'fail',
      detail: `cannot query PostgreSQL at ${shown}: ${reason(e).replaceAll(url, shown)}`,
      hint: 'check that the server runs and that the URL, user and password are right',
    }
  } finally {
    await client.close({ timeout: 0 }).catch(() => {})
  }
}

async function checkUpstream(config: Config): Promise<{ check: Check; list?: unknown; models: string[] }> {
  const shown = redactUrl(config.upstream)
  const client = upstreamFromConfig(config)
  try {
    const res = await client.call({ path: '/models' })
    const text = await res.text()
    if (!res.ok) {
      const hint =
        res.status === 401 || res.status === 403
          ? 'the upstream wants a key: set --upstream-key'
          : res.status === 404 && !/\/v1$/.test(new URL(config.upstream).pathname)
            ? `the base URL usually ends in /v1: try --upstream ${shown}/v1`
            : 'check --upstream'
      return { check: { name: 'upstream', status: 'fail', detail: `${shown} answered ${res.status} to GET /models`, hint }, models: [] }
    }
    let list: unknown
    try {
      list = JSON.parse(text)
    } catch {
      list = null
    }
    const models = upstreamModels(list)
    if (!models)
      return {
        check: {
          name: 'upstream',
          status: 'fail',
          detail: `${shown}/models did not answer an OpenAI model list`,
          hint: 'is --upstream an OpenAI-compatible server (vLLM …)?',
        },
        models: [],
      }
    if (!models.length)
      return {
        check: { name: 'upstream', status: 'fail', detail: `${shown} serves no models`, hint: 'start the inference server with a model' },
        models: [],
      }
    const ids = models.map((m) => m.id)
    return { check: { name: 'upstream', status: 'ok', detail: `${shown} serves ${ids.join(', ')}` }, list, models: ids }
  } catch (e) {
    return {
      // the client's own message usually names the URL already
      check: {
        name: 'upstream',
        status: 'fail',
        detail: reason(e).includes(shown) ? `not answering: ${reason(e)}` : `${shown} is not answering: ${reason(e)}`,
        hint: 'start the inference server, or point --upstream at it',
      },
      models: [],
    }
  }
}

function checkCatalog(config: Config, list: unknown): Check {
  try {
    const catalog = toCodexCatalog(list, config.models)
    const unknown = Object.keys(config.models).filter((id) => !catalog.models.some((m) => m.slug === id))
    if (unknown.length)
      return {
        name: 'codex catalog',
        status: 'warn',
        detail: `${catalog.models.length} models; [models."${unknown.join('"], [models."')}"] in the config match no upstream model`,
        hint: 'fix the model id or remove the section',
      }
    return {
      name: 'codex catalog',
      status: 'ok',
      detail: `${catalog.models.length} model${catalog.models.length > 1 ? 's' : ''} (${catalog.models.map((m) => `${m.slug}: ${m.context_window ?? '?'} tokens`).join(', ')})`,
    }
  } catch (e) {
    return {
      name: 'codex catalog',
      status: 'fail',
      detail: `cannot build it: ${reason(e)}`,
      hint: 'check the [models] sections of the config file',
    }
  }
}

/** One 1-token generation on the wire API the gateway will use (--upstream-api). */
async function probeUpstream(config: Config, model: string): Promise<Check> {
  const shown = redactUrl(config.upstream)
  const [path, body] =
    config.upstreamApi === 'chat'
      ? ['/chat/completions', { model, messages: [{ role: 'user', content: 'Say OK.' }], max_tokens: 1, stream: false }]
      : ['/responses', { model, input: 'Say OK.', max_output_tokens: 1, stream: false, store: false }]
  const client = upstreamFromConfig(config)
  try {
    const res = await client.call({
      method: 'POST',
      path,
      kind: 'generate',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const text = await res.text()
    if (!res.ok) {
      const hint =
        res.status === 404 && config.upstreamApi === 'responses'
          ? 'this upstream has no /responses: try --upstream-api chat'
          : "see the upstream's answer above"
      return {
        name: 'upstream probe',
        status: 'fail',
        detail: `POST ${shown}${path} (${model}) answered ${res.status}: ${text.slice(0, 200).replace(/\s+/g, ' ')}`,
        hint,
      }
    }
    return { name: 'upstream probe', status: 'ok', detail: `POST ${shown}${path} with ${model} answered a 1-token request` }
  } catch (e) {
    return {
      name: 'upstream probe',
      status: 'fail',
      detail: `POST ${shown}${path} failed: ${reason(e)}`,
      hint: 'the upstream lists models but cannot generate: check its logs',
    }
  }
}

/** Each [mcp_servers.LABEL]: connected and asked for its tools (all at once, each within --mcp-timeout-ms). */
async function checkMcpServers(config: Config): Promise<Check[]> {
  const labels = Object.keys(config.mcpServers)
  if (labels.length === 0) return []
  const mcp = createMcpServers(config, silentLogger)
  try {
    return await Promise.all(
      labels.map(async (label): Promise<Check> => {
        const server = mcp.resolve({ type: 'mcp', server_label: label }, 'mcp_servers')
        const transport = config.mcpServers[label].kind === 'stdio' ? 'stdio' : 'HTTP'
        try {
          const tools = await mcp.listTools(server, {})
          const names = tools.map((t) => t.name)
          const shown = names.length > 8 ? `${names.slice(0, 8).join(', ')}, …` : names.join(', ')
          return {
            name: `mcp ${label}`,
            status: 'ok',
            detail: `${server.where} (${transport}): ${tools.length} tool${tools.length === 1 ? '' : 's'}${shown ? ` (${shown})` : ''}`,
          }
        } catch (e) {
          return {
            name: `mcp ${label}`,
            status: 'fail',
            detail: reason(e),
            hint: `check [mcp_servers.${label}] in ${config.configFile ?? 'the config file'} (${transport === 'stdio' ? 'command, args, env' : 'url, headers'}) and that the server runs`,
          }
        }
      }),
    )
  } finally {
    await mcp.close()
  }
}

/** An agent CLI on PATH and its version. Missing is a warning: the gateway serves without it. */
async function checkCli(name: string, path: string, install: string): Promise<Check> {
  const exe = Bun.which(name, { PATH: path })
  if (!exe) return { name, status: 'warn', detail: 'not on PATH', hint: install }
  try {
    const proc = Bun.spawn([exe, '--version'], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
    const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
    clearTimeout(timer)
    const version = out.trim().split('\n')[0]
    if (code !== 0) return { name, status: 'warn', detail: `${exe} --version exited ${code}`, hint: `reinstall it: ${install}` }
    return { name, status: 'ok', detail: `${version} (${exe})` }
  } catch (e) {
    return { name, status: 'warn', detail: `${exe} does not run: ${reason(e)}`, hint: `reinstall it: ${install}` }
  }
}
