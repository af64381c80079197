// createMcpServers: the McpServers the engine uses — resolving a request's {"type":"mcp"} tool to a server
// (allowlist, configured labels), tools/list with every page, tools/call with its timeout, and shutdown.
// Request headers and authorization live only in the Endpoint kept beside each resolved server (a WeakMap, so they
// are not even properties of the object the engine holds, logs or serialises).

import { createHash } from 'node:crypto'
import { basename } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { Config } from '../config'
import { ApiError } from '../errors'
import type { Logger } from '../log'
import { redactUrl } from '../upstream/redact'
import { errorCode } from '../upstream/failure'
import { AllowlistError, checkServerUrl, type HostPattern, parseHostPatterns } from './allowlist'
import { callResultText } from './content'
import { SERVER_LABEL } from './config'
import { httpStatus, isSdkTimeout, isServerError, reasonOf, seconds } from './failure'
import { type Endpoint, McpPool } from './pool'
import { McpError, type McpServer, type McpServers, type McpToolInfo } from './types'

/** tools/list is paged by the server; a server that keeps handing out cursors is cut off here. */
export const MAX_LIST_PAGES = 100
export const MAX_TOOLS = 2_000

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export interface McpServersOptions {
  /** for tests: replaces mcpIdleTimeoutMs */
  idleTimeoutMs?: number
}

export function createMcpServers(config: Config, logger: Logger, options: McpServersOptions = {}): McpServers {
  const patterns: HostPattern[] = parseHostPatterns(config.mcpAllowedHosts)
  const pool = new McpPool({
    logger,
    connectTimeoutMs: config.mcpTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs ?? config.mcpIdleTimeoutMs,
  })
  const endpoints = new WeakMap<McpServer, Endpoint>()

  const configured = new Map<string, McpServer>()
  for (const [label, c] of Object.entries(config.mcpServers)) {
    const server: McpServer = Object.freeze({
      label,
      source: 'configured' as const,
      where: c.kind === 'url' ? redactUrl(c.url) : basename(c.command),
      description: c.description,
    })
    endpoints.set(
      server,
      c.kind === 'url'
        ? { kind: 'http', key: `configured:${label}`, label, url: new URL(c.url), headers: { ...c.headers } }
        : { kind: 'stdio', key: `configured:${label}`, label, config: c },
    )
    configured.set(label, server)
  }

  function endpointOf(server: McpServer): Endpoint {
    const ep = endpoints.get(server)
    // Only servers handed out by resolve() carry an endpoint: anything else is a bug in the caller.
    if (!ep) throw new McpError(`MCP server "${server.label}" was not resolved by this gateway`)
    return ep
  }

  /** The headers a request declared for its server (plus authorization as a bearer token), checked. */
  function requestHeaders(tool: Record<string, unknown>, param: string): Record<string, string> {
    const headers: Record<string, string> = {}
    if (tool.headers !== undefined && tool.headers !== null) {
      if (!isRecord(tool.headers))
        throw ApiError.badRequest('headers must be an object of header names to string values', `${param}.headers`)
      for (const [name, value] of Object.entries(tool.headers)) {
        // The value is never quoted back: it is likely a credential.
        if (!HEADER_NAME.test(name))
          throw ApiError.badRequest(`headers: "${name.slice(0, 64)}" is not a valid HTTP header name`, `${param}.headers`)
        if (typeof value !== 'string' || /[\r\n\0]/.test(value))
          throw ApiError.badRequest(`headers: the value of "${name}" must be a string on one line`, `${param}.headers`)
        headers[name] = value
      }
    }
    if (tool.authorization !== undefined && tool.authorization !== null) {
      if (typeof tool.authorization !== 'string' || tool.authorization === '' || /[\r\n\0]/.test(tool.authorization))
        throw ApiError.badRequest('authorization must be a non-empty string (an access token)', `${param}.authorization`)
      for (const k of Object.keys(headers)) if (k.toLowerCase() === 'authorization') delete headers[k]
      headers.Authorization = /^bearer\s/i.test(tool.authorization) ? tool.authorization : `Bearer ${tool.authorization}`
    }
    return headers
  }

  function resolve(tool: Record<string, unknown>, param: string): McpServer {
    const label = tool.server_label
    if (typeof label !== 'string' || !SERVER_LABEL.test(label))
      throw ApiError.badRequest('server_label must be 1-64 letters, digits, _ or -', `${param}.server_label`)
    const description = typeof tool.server_description === 'string' ? tool.server_description : null
    const url = tool.server_url
    if (url === undefined || url === null) {
      if (tool.connector_id !== undefined)
        throw ApiError.badRequest(
          'connector_id (OpenAI connectors) is not supported by this gateway; declare server_url',
          `${param}.connector_id`,
        )
      const server = configured.get(label)
      if (!server)
        throw new ApiError(
          400,
          `No MCP server "${label}" is configured on this gateway: give server_url, or add [mcp_servers.${label}] to its config file.`,
          'invalid_request_error',
          'unknown_mcp_server',
          `${param}.server_label`,
        )
      return server
    }
    if (typeof url !== 'string') throw ApiError.badRequest('server_url must be a string', `${param}.server_url`)
    let u: URL
    try {
      u = checkServerUrl(url, patterns)
    } catch (e) {
      if (!(e instanceof AllowlistError)) throw e
      throw new ApiError(
        400,
        `MCP server ${redactUrl(url).slice(0, 300)} is not allowed: ${e.message}.`,
        'invalid_request_error',
        'mcp_server_not_allowed',
        `${param}.server_url`,
      )
    }
    const headers = requestHeaders(tool, param)
    // One pooled session per URL and credentials: two requests with different tokens never share a session.
    const credentials = createHash('sha256')
      .update(JSON.stringify(Object.entries(headers).sort(([a], [b]) => (a < b ? -1 : 1))))
      .digest('hex')
    const server: McpServer = Object.freeze({ label, source: 'request' as const, where: redactUrl(u.href), description })
    endpoints.set(server, { kind: 'http', key: `request:${u.href}#${credentials}`, label, url: u, headers })
    return server
  }

  /** `MCP server "label" (where)`, as every message names it. */
  const named = (server: McpServer) => `MCP server "${server.label}" (${server.where})`

  /** Runs one operation with a deadline: the caller's signal and timeoutMs together. Retries once on a stale session. */
  async function withClient<T>(
    server: McpServer,
    ep: Endpoint,
    deadline: AbortSignal,
    op: (client: Client) => Promise<T>,
    retrySafe: (e: unknown) => boolean,
  ): Promise<T> {
    try {
      return await pool.use(ep, deadline, async (client, reused) => {
        try {
          return await op(client)
        } catch (e) {
          // A transport failure leaves the session in doubt: drop it. The server's own errors, timeouts and our
          // own checks (McpError) say nothing against it.
          if (!deadline.aborted && !isServerError(e) && !isSdkTimeout(e) && !(e instanceof McpError)) await pool.reset(ep, client)
          // A pooled session the server no longer knows (it restarted, or expired it): the request did not run.
          if (reused && !deadline.aborted && retrySafe(e)) throw new StaleSession()
          throw e
        }
      })
    } catch (e) {
      if (!(e instanceof StaleSession)) throw e
      logger.debug('mcp session gone; reconnecting once', { server: server.label })
      return await pool.use(ep, deadline, (client) => op(client))
    }
  }

  /** Whether a failed request certainly did not reach the tool (so running it again is safe). */
  const notDelivered = (e: unknown) => httpStatus(e) === 404 || ['ECONNREFUSED', 'ConnectionRefused'].includes(errorCode(e) ?? '')

  async function listTools(server: McpServer, opts: { signal?: AbortSignal; timeoutMs?: number }): Promise<McpToolInfo[]> {
    const ep = endpointOf(server)
    const timeoutMs = opts.timeoutMs ?? config.mcpTimeoutMs
    const timer = AbortSignal.timeout(timeoutMs)
    const deadline = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer
    try {
      return await withClient(
        server,
        ep,
        deadline,
        async (client) => {
          const tools: McpToolInfo[] = []
          const seen = new Set<string>()
          let cursor: string | undefined
          for (let page = 0; ; page++) {
            if (page >= MAX_LIST_PAGES) throw new McpError(`${named(server)} listed more than ${MAX_LIST_PAGES} pages of tools`)
            const r = await client.listTools(cursor === undefined ? {} : { cursor }, { signal: deadline, timeout: timeoutMs })
            for (const t of r.tools) {
              tools.push({
                name: t.name,
                description: t.description ?? null,
                input_schema: t.inputSchema as Record<string, unknown>,
                annotations: (t.annotations as Record<string, unknown> | undefined) ?? null,
              })
            }
            if (tools.length > MAX_TOOLS) throw new McpError(`${named(server)} listed more than ${MAX_TOOLS} tools`)
            cursor = r.nextCursor
            if (cursor === undefined || cursor === '') return tools
            if (seen.has(cursor)) throw new McpError(`${named(server)} handed out the same tools/list cursor twice`)
            seen.add(cursor)
          }
        },
        notDelivered,
      )
    } catch (e) {
      if (e instanceof McpError) throw e
      if (opts.signal?.aborted) throw new McpError(`tools/list on ${named(server)} was cancelled`)
      if (timer.aborted || isSdkTimeout(e)) throw new McpError(`tools/list on ${named(server)} timed out after ${seconds(timeoutMs)}`)
      logger.debug('mcp tools/list failed', { server: server.label, error: reasonOf(e) })
      throw new McpError(`tools/list on ${named(server)} failed: ${reasonOf(e)}`)
    }
  }

  async function callTool(
    server: McpServer,
    name: string,
    args: Record<string, unknown>,
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<{ ok: true; output: string } | { ok: false; error: string }> {
    const ep = endpointOf(server)
    const timer = AbortSignal.timeout(opts.timeoutMs)
    const deadline = opts.signal ? AbortSignal.any([opts.signal, timer]) : timer
    const call = `tool "${name}" on ${named(server)}`
    try {
      const result = await withClient(
        server,
        ep,
        deadline,
        (client) => client.callTool({ name, arguments: args }, undefined, { signal: deadline, timeout: opts.timeoutMs }),
        notDelivered,
      )
      const text = callResultText(result as { content?: unknown; structuredContent?: unknown })
      if (result.isError === true) return { ok: false, error: text || `${call} reported an error without a message` }
      return { ok: true, output: text }
    } catch (e) {
      if (opts.signal?.aborted) return { ok: false, error: `${call} was cancelled` }
      if (timer.aborted || isSdkTimeout(e)) return { ok: false, error: `${call} timed out after ${seconds(opts.timeoutMs)}` }
      logger.debug('mcp tools/call failed', { server: server.label, tool: name, error: reasonOf(e) })
      return { ok: false, error: `${call} failed: ${reasonOf(e)}` }
    }
  }

  return { resolve, listTools, callTool, close: () => pool.close() }
}

/** Thrown inside withClient to ask for one fresh session. */
class StaleSession extends Error {}
