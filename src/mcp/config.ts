// The [mcp_servers.LABEL] tables of config.toml: parsed and checked at start-up into McpServerConfig, so a typo
// stops the gateway with one line naming the server and the key (like every other config error) instead of
// failing the first turn that uses it. No SDK here: config loading stays light.

import { ConfigError } from '../config-error'
import { redactUrl } from '../upstream/redact'

/** A server the gateway reaches over HTTP (Streamable HTTP, SSE as fallback). */
export interface McpUrlServerConfig {
  kind: 'url'
  url: string
  /** sent with every request to this server only; never logged */
  headers: Record<string, string>
  description: string | null
}

/** A server the gateway starts itself and talks to over stdin/stdout. */
export interface McpStdioServerConfig {
  kind: 'stdio'
  command: string
  args: string[]
  /** added to the few variables a child gets by default (PATH, HOME, USER, …; not the gateway's own settings) */
  env: Record<string, string>
  /** working directory; null: the gateway's */
  cwd: string | null
  description: string | null
}

export type McpServerConfig = McpUrlServerConfig | McpStdioServerConfig

/** server_label's shape (OpenAI's: letters, digits, `_` and `-`), so a label fits in a function name. */
export const SERVER_LABEL = /^[A-Za-z0-9_-]{1,64}$/

const URL_KEYS = new Set(['url', 'headers', 'description'])
const STDIO_KEYS = new Set(['command', 'args', 'env', 'cwd', 'description'])
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const isTable = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Checks a table of string → string. Errors name the key, never the value (headers and env carry secrets). */
function stringTable(v: unknown, at: string, check?: (k: string, val: string) => string | null): Record<string, string> {
  if (v === undefined) return {}
  if (!isTable(v)) throw new ConfigError(`invalid ${at}: expected a table of strings, e.g. { NAME = "value" }`)
  const out: Record<string, string> = {}
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new ConfigError(`invalid ${at}.${k}: expected a string`)
    const why = check?.(k, val)
    if (why) throw new ConfigError(`invalid ${at}.${k}: ${why}`)
    out[k] = val
  }
  return out
}

const headerProblem = (name: string, value: string): string | null =>
  !HEADER_NAME.test(name) ? 'not a valid HTTP header name' : /[\r\n\0]/.test(value) ? 'the value contains a line break' : null

/** One [mcp_servers.LABEL] table. */
function parseServer(label: string, raw: unknown, where: string): McpServerConfig {
  const at = `mcp_servers.${label} in ${where}`
  if (!SERVER_LABEL.test(label))
    throw new ConfigError(`invalid [mcp_servers.${label}] in ${where}: a label is 1-64 letters, digits, _ or -`)
  if (!isTable(raw)) throw new ConfigError(`invalid ${at}: expected a table with url = "…" or command = "…"`)
  const description = raw.description
  if (description !== undefined && typeof description !== 'string') throw new ConfigError(`invalid ${at}: description must be a string`)
  const hasUrl = raw.url !== undefined
  const hasCommand = raw.command !== undefined
  if (hasUrl === hasCommand)
    throw new ConfigError(
      `invalid ${at}: give either url (an HTTP server) or command (a stdio server the gateway starts)${hasUrl ? ', not both' : ''}`,
    )
  const keys = hasUrl ? URL_KEYS : STDIO_KEYS
  for (const k of Object.keys(raw))
    if (!keys.has(k))
      throw new ConfigError(
        `unknown key "${k}" in ${at} (${hasUrl ? 'url servers take url, headers, description' : 'command servers take command, args, env, cwd, description'})`,
      )
  if (hasUrl) {
    const url = raw.url
    let u: URL | null = null
    try {
      u = typeof url === 'string' ? new URL(url) : null
    } catch {}
    const shown = typeof url === 'string' ? `, got ${JSON.stringify(redactUrl(url))}` : ''
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:'))
      throw new ConfigError(`invalid ${at}: url must be an http(s) URL${shown}`)
    if (u.username || u.password)
      throw new ConfigError(`invalid ${at}: url must not carry credentials (user:password@); put them in headers${shown}`)
    return {
      kind: 'url',
      url: url as string,
      headers: stringTable(raw.headers, `${at}: headers`, headerProblem),
      description: description ?? null,
    }
  }
  const command = raw.command
  if (typeof command !== 'string' || command.trim() === '') throw new ConfigError(`invalid ${at}: command must be a non-empty string`)
  const args = raw.args ?? []
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))
    throw new ConfigError(`invalid ${at}: args must be a list of strings`)
  const cwd = raw.cwd
  if (cwd !== undefined && (typeof cwd !== 'string' || cwd === '')) throw new ConfigError(`invalid ${at}: cwd must be a non-empty string`)
  return {
    kind: 'stdio',
    command,
    args: args as string[],
    env: stringTable(raw.env, `${at}: env`, (k) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? null : 'not a valid variable name')),
    cwd: (cwd as string | undefined) ?? null,
    description: description ?? null,
  }
}

/** The `mcp_servers` value of config.toml (undefined: none) → servers by label. Throws ConfigError. */
export function parseMcpServers(raw: unknown, where: string): Record<string, McpServerConfig> {
  if (raw === undefined) return {}
  if (!isTable(raw)) throw new ConfigError(`invalid setting mcp_servers in ${where}: expected [mcp_servers.LABEL] tables`)
  const out: Record<string, McpServerConfig> = {}
  for (const [label, server] of Object.entries(raw)) out[label] = parseServer(label, server, where)
  return out
}
