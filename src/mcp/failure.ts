// MCP failures in our words: every error the SDK, the network or a child process raises while the gateway talks to
// an MCP server becomes one line that says which server (label and redacted URL or command), what was being done
// and why — never a stack, a header or the runtime's programmer-facing text. The model and the client both see it.

import { ErrorCode, McpError as SdkMcpError } from '@modelcontextprotocol/sdk/types.js'
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js'
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { errorCode } from '../upstream/failure'

/** The longest piece of a server's own error text passed on (a server may answer with a whole HTML page). */
const MAX_SERVER_TEXT = 300

/** `N s` for a timeout in ms: whole seconds when it is, else one decimal (`0.5 s`). */
export function seconds(ms: number): string {
  const s = ms / 1000
  return `${Number.isInteger(s) ? s : Number(s.toFixed(1)) || 0.1} s`
}

/** The HTTP status of a transport error (Streamable HTTP or SSE), or null. */
export function httpStatus(e: unknown): number | null {
  if ((e instanceof StreamableHTTPError || e instanceof SseError) && typeof e.code === 'number' && e.code >= 100 && e.code < 600)
    return e.code
  return null
}

/** Whether the server answered with a JSON-RPC error of its own (as opposed to a transport failure). */
export function isServerError(e: unknown): e is SdkMcpError {
  return e instanceof SdkMcpError && e.code !== ErrorCode.ConnectionClosed && e.code !== ErrorCode.RequestTimeout
}

export function isSdkTimeout(e: unknown): boolean {
  return e instanceof SdkMcpError && e.code === ErrorCode.RequestTimeout
}

function statusReason(status: number): string {
  if (status === 401 || status === 403) return `answered HTTP ${status}: it did not accept the credentials`
  if (status === 404) return 'answered HTTP 404: no MCP endpoint at this URL (or the session expired)'
  // Redirects are followed only within the server's origin (the SDK's policy): anything else could lead the gateway
  // to a host the allowlist never agreed to.
  if (status >= 300 && status < 400) return `answered with a redirect (HTTP ${status}) to another origin, which is not followed`
  return `answered HTTP ${status}`
}

const CODE_REASONS: Record<string, string> = {
  ECONNREFUSED: 'the connection was refused',
  ConnectionRefused: 'the connection was refused',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be looked up',
  DNSException: 'the host name could not be looked up',
  ECONNRESET: 'the server closed the connection',
  ConnectionClosed: 'the server closed the connection',
  EPIPE: 'the server closed the connection',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'there is no route to the host',
  ENETUNREACH: 'there is no route to the host',
  EPROTO: 'the TLS handshake failed',
  ENOENT: 'the command was not found',
  EACCES: 'the command may not be run (permission denied)',
}

/** Why a call to a server failed, in a few words (no server or operation named: the caller adds those). */
export function reasonOf(e: unknown): string {
  const status = httpStatus(e)
  if (status !== null) return statusReason(status)
  if (isServerError(e)) {
    const text = e.message
      .replace(/^MCP error -?\d+:\s*/, '')
      .replace(/\s+/g, ' ')
      .trim()
    return `it returned an error: ${text.length > MAX_SERVER_TEXT ? `${text.slice(0, MAX_SERVER_TEXT)}…` : text || `code ${e.code}`}`
  }
  if (e instanceof SdkMcpError && e.code === ErrorCode.ConnectionClosed) return 'the connection to it closed'
  const code = errorCode(e)
  if (code && CODE_REASONS[code]) return `${CODE_REASONS[code]} (${code})`
  if (code && /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|ALTNAME/.test(code)) return `its TLS certificate was not accepted (${code})`
  if (e instanceof SseError) return 'its SSE stream failed'
  // The SDK checks every answer against the MCP schema (zod): a server that answers something else.
  if (e instanceof Error && (e.name === 'ZodError' || e.name === '$ZodError' || Array.isArray((e as { issues?: unknown }).issues)))
    return 'it answered with something that is not valid MCP'
  if (e instanceof Error && /Not connected|closed/i.test(e.message)) return 'the connection to it closed'
  if (e instanceof Error && /protocol version/i.test(e.message)) return 'it speaks an MCP protocol version the gateway does not'
  return code ? `the connection failed (${code})` : 'the connection failed'
}
