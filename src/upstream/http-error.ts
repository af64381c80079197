// A non-2xx answer from the upstream as an ApiError for our client: the upstream's status class and message
// kept, the call named (credentials redacted), and our own account of an unknown model and of a base URL
// that points past the API.
import { ApiError } from '../errors'
import { redactUrl } from './redact'
import type { ServedModels } from './served-models'

/** What upstreamHttpError needs to know about the call that failed. */
export interface FailedCall {
  /** `METHOD URL`, credentials redacted (failure.ts describeCall) */
  call: string
  /** the configured base URL and the path below it that was called */
  baseUrl: string
  path: string
  /** the model the request asked for */
  model?: unknown
  /** the upstream's model list, for an unknown model's error */
  models?: ServedModels
}

/**
 * Turns a non-2xx upstream answer into an ApiError that keeps the upstream's status class and message, naming the
 * call. Two answers get our own account: an unknown model (vLLM: 404 "The model `x` does not exist.") becomes a
 * 404 model_not_found listing the models the upstream serves, and a 404 for the endpoint itself (a base URL
 * without /v1, or a server without /v1/responses) becomes a 502 that says how to fix the configuration.
 */
export async function upstreamHttpError(res: Response, failed: FailedCall): Promise<ApiError> {
  const text = await res.text().catch(() => '')
  const detail = errorDetail(text)
  const message = detail.message ?? text.slice(0, 2000)
  const msg = `upstream answered ${res.status} (${failed.call}): ${message || res.statusText}`
  if (res.status === 429) {
    const retryAfter = res.headers.get('retry-after')
    return new ApiError(429, msg, 'rate_limit_error', detail.code ?? 'rate_limit_exceeded').withHeaders(
      retryAfter ? { 'retry-after': retryAfter } : {},
    )
  }
  if ((res.status === 404 || res.status === 400) && isUnknownModel(detail)) return await unknownModel(failed)
  if (res.status === 404) {
    const hint = missingRouteHint(failed, detail)
    if (hint) return ApiError.badGateway(`${msg}. ${hint}`, 'upstream_route_not_found')
  }
  // The upstream's 4xx is about the request the client made: pass it on as such.
  if (res.status >= 400 && res.status < 500)
    return new ApiError(res.status === 404 ? 404 : 400, msg, 'invalid_request_error', detail.code ?? 'upstream_rejected')
  return ApiError.badGateway(msg, 'upstream_error')
}

interface ErrorDetail {
  message: string | null
  type: string | null
  param: string | null
  code: string | null
}

/** The fields of an upstream error body: OpenAI's `{error:{…}}`, vLLM's older top-level `{object:"error",…}`, FastAPI's `{detail}`. */
function errorDetail(text: string): ErrorDetail {
  const out: ErrorDetail = { message: null, type: null, param: null, code: null }
  // Untyped JSON (any value): read only through optional chains and typeof checks.
  let j: Record<string, unknown> | null
  try {
    j = JSON.parse(text)
  } catch {
    return out
  }
  const e = (j?.error && typeof j.error === 'object' ? j.error : j) as Record<string, unknown> | null
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null)
  out.message = str(e?.message) ?? str(j?.detail) ?? (typeof j?.error === 'string' ? j.error : null)
  out.type = str(e?.type)
  out.param = str(e?.param)
  out.code = str(e?.code)
  return out
}

const UNKNOWN_MODEL = /\bmodel\b.*\b(?:does not exist|doesn't exist|not found|is not served|not available|unknown)\b|\bunknown model\b/i

function isUnknownModel(d: ErrorDetail): boolean {
  return (
    d.code === 'model_not_found' ||
    (d.message !== null && UNKNOWN_MODEL.test(d.message)) ||
    (d.type === 'NotFoundError' && d.param === 'model')
  )
}

/** 404 model_not_found in OpenAI's shape, with the models the upstream does serve (when it can list them). */
async function unknownModel(failed: FailedCall): Promise<ApiError> {
  const name = typeof failed.model === 'string' ? `The model \`${failed.model}\`` : 'The requested model'
  const ids = await failed.models?.list().catch(() => null)
  const served = ids?.length
    ? ` It serves: ${ids.slice(0, 20).join(', ')}${ids.length > 20 ? ` and ${ids.length - 20} more (GET /v1/models lists them)` : ''}.`
    : ' Its model list could not be read (GET /v1/models).'
  // The client needs the names, not where the upstream is (only the 502/504s, the gateway's failures, name it).
  return new ApiError(404, `${name} does not exist on the upstream.${served}`, 'invalid_request_error', 'model_not_found', 'model')
}

/** How to fix a base URL whose endpoint the upstream does not have, or null when the 404 is not about the route. */
function missingRouteHint(failed: FailedCall, d: ErrorDetail): string | null {
  let base: URL
  try {
    base = new URL(failed.baseUrl)
  } catch {
    return null
  }
  if (!/\/v1\/?$/.test(base.pathname)) {
    const suggested = redactUrl(failed.baseUrl.replace(/\/+$/, '') + '/v1')
    return `The upstream URL ${redactUrl(failed.baseUrl)} does not end in /v1, where vLLM and other OpenAI-compatible servers serve the API: try --upstream ${suggested}`
  }
  // A route-level 404 from a server that has /v1 but no /v1/responses (FastAPI answers {"detail":"Not Found"}).
  if (failed.path === '/responses' && (d.message === null || /^not found$/i.test(d.message)))
    return 'The upstream has no /v1/responses endpoint; if it only serves Chat Completions, start the gateway with --upstream-api chat'
  return null
}
