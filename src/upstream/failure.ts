// Upstream failures in our words. Every error the runtime raises while talking to the upstream (fetch, the
// socket, DNS, TLS, the HTTP parser) is mapped here — and only here — to a message that says what happened,
// names the call (method and URL, credentials redacted) and keeps the runtime's error code, never its text:
// Bun's messages carry hints meant for the programmer ("pass `verbose: true` … to fetch()").
import { ApiError } from '../errors'
import { redactUrl } from './redact'

/** `METHOD URL` of an upstream call, as errors name it: `POST http://gpu:8000/v1/responses` (credentials redacted). */
export function describeCall(method: string, url: string): string {
  return `${method} ${redactUrl(url)}`
}

/** Where in the call it broke: before the upstream answered, or while its body was being read. */
export type Phase = 'connect' | 'stream'

/** The runtime's error code (ECONNRESET, ENOTFOUND, InvalidHTTPResponse, …) when it is one: a short identifier. */
export function errorCode(e: unknown): string | null {
  for (const c of [(e as { code?: unknown })?.code, (e as { cause?: { code?: unknown } })?.cause?.code])
    if (typeof c === 'string' && /^[A-Za-z][A-Za-z0-9_]{1,40}$/.test(c)) return c
  return null
}

const TLS_CERT = /CERT|SELF_SIGNED|UNABLE_TO_(?:GET|VERIFY)|ALTNAME|HOSTNAME_MISMATCH/

/**
 * What happened, in a few words, for an error code (null: not a code we know). `peer` names the server in the words
 * (the web search service says 'the search provider'); its default is the upstream.
 */
export function reasonOf(code: string | null, phase: Phase, peer = 'the upstream'): string {
  switch (code) {
    case 'ECONNREFUSED':
    case 'ConnectionRefused':
      return `${peer} refused the connection`
    case 'ENOTFOUND':
      return `${peer} host name does not resolve`
    case 'EAI_AGAIN':
    case 'DNSException':
      return `${peer} host name could not be looked up`
    case 'ECONNRESET':
    case 'ConnectionClosed':
    case 'EPIPE':
      return phase === 'stream' ? `${peer} closed the connection mid-stream` : `${peer} closed the connection before answering`
    case 'ETIMEDOUT':
    case 'Timeout':
      return `the connection to ${peer} timed out`
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return `there is no route to ${peer} host`
    case 'EPROTO':
      return `the TLS handshake with ${peer} failed`
    case 'InvalidHTTPResponse':
    case 'HTTPParserError':
      return phase === 'stream' ? `${peer} sent a malformed HTTP body` : `${peer} answered with something that is not HTTP`
    case 'FailedToOpenSocket':
    case 'EMFILE':
    case 'ENFILE':
      return `the gateway could not open a connection to ${peer}`
  }
  if (code && TLS_CERT.test(code)) return `${peer}'s TLS certificate was not accepted`
  if (code && /Decompress|Zlib|Brotli|Zstd/i.test(code)) return `${peer} sent a body that could not be decompressed`
  return phase === 'stream' ? `${peer} stream broke off` : `the connection to ${peer} failed`
}

/** `reason (CODE)`, or the reason alone when the error carries no code. */
function explain(e: unknown, phase: Phase): string {
  const code = errorCode(e)
  return code ? `${reasonOf(code, phase)} (${code})` : reasonOf(null, phase)
}

/** A call that got no answer: 502 upstream_unreachable. */
export function connectFailure(e: unknown, call: string): ApiError {
  return ApiError.badGateway(`upstream unreachable (${call}): ${explain(e, 'connect')}`, 'upstream_unreachable')
}

/** A body that broke off while being read (the answer had started): 502 upstream_error. ApiErrors pass as they are. */
export function streamFailure(e: unknown, call: string | null): ApiError {
  if (e instanceof ApiError) return e
  return ApiError.badGateway(`upstream stream failed${call ? ` (${call})` : ''}: ${explain(e, 'stream')}`, 'upstream_error')
}

/** No answer headers within the time allowed: 504 upstream_timeout. */
export function answerTimeout(ms: number, call: string): ApiError {
  return ApiError.gatewayTimeout(`upstream did not answer within ${ms} ms (${call})`)
}

/** A stream that went silent: 504 upstream_timeout. */
export function idleTimeout(ms: number, call: string | null): ApiError {
  return ApiError.gatewayTimeout(`upstream stream idle for ${ms} ms${call ? ` (${call})` : ''}`)
}
