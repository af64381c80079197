// Errors on the Messages routes in Anthropic's envelope: `{type:"error", error:{type, message}}` with Anthropic's
// statuses and types. Every error is first rendered the gateway's way (errors.ts); this maps the result. Pure.
import type { ErrorBody } from '../errors'

export interface AnthropicError {
  status: number
  body: { type: 'error'; error: { type: string; message: string } }
}

/** Paths whose errors are rendered Anthropic's way. */
export function isMessagesPath(path: string): boolean {
  return /^\/v1\/messages(\/|$)/.test(path)
}

/**
 * The gateway's status and error → Anthropic's. An overloaded or unavailable service (the upstream answering 503, the
 * gateway shutting down or its storage failing) is 529 overloaded_error, which Anthropic's clients retry; any other
 * server-side failure is 500 api_error; client errors keep their status.
 */
export function toAnthropicError(status: number, body: ErrorBody): AnthropicError {
  const { message, code } = body.error
  const wrap = (s: number, type: string) => ({ status: s, body: { type: 'error' as const, error: { type, message } } })
  if (status === 503 || (status === 502 && /upstream answered (503|529)\b/.test(message)) || code === 'upstream_overloaded')
    return wrap(529, 'overloaded_error')
  if (status >= 500) return wrap(500, 'api_error')
  switch (status) {
    case 401:
      return wrap(401, 'authentication_error')
    case 403:
      return wrap(403, 'permission_error')
    case 404:
      return wrap(404, 'not_found_error')
    case 405:
      return wrap(405, 'invalid_request_error')
    case 413:
      return wrap(413, 'request_too_large')
    case 429:
      return wrap(429, 'rate_limit_error')
    default:
      return wrap(status, 'invalid_request_error')
  }
}

/** The `error` event a stream ends with when the turn fails after it started. */
export function streamErrorEvent(status: number, body: ErrorBody): { type: 'error'; error: { type: string; message: string } } {
  return toAnthropicError(status, body).body
}
