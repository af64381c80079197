// The one HTTP call a search makes, bounded (a timeout over the whole exchange, the caller's signal, a size cap) and
// with every failure put in our words: a WebSearchError naming the provider and its URL (origin and path only: no
// query, no credentials) and why, never the runtime's own message and never a key.

import { VERSION } from '../version'
import { describeCall, errorCode, reasonOf } from '../upstream/failure'
import { readCapped } from '../upstream/stream-limit'
import { WebSearchError } from './types'

/** Largest answer read from a provider: a results page is tens of KiB; anything near this is not one. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024

const PEER = 'the search provider'

export interface ProviderCall {
  /** the provider's name in messages: SearXNG, Brave, Tavily */
  label: string
  method: 'GET' | 'POST'
  url: URL
  headers?: Record<string, string>
  /** a JSON body (POST) */
  json?: unknown
  signal?: AbortSignal
  timeoutMs: number
  /** a provider-specific explanation of a status (e.g. SearXNG's 403 when format=json is off); undefined: the generic one */
  explainStatus?: (status: number) => string | undefined
}

/** What the call is called in messages: `GET http://host:8080/search` (no query string, no userinfo). */
function where(call: Pick<ProviderCall, 'method' | 'url'>): string {
  return describeCall(call.method, `${call.url.origin}${call.url.pathname}`)
}

function statusReason(call: ProviderCall, status: number, statusText: string): { why: string; failure: 'rejected' | 'http_status' } {
  const special = call.explainStatus?.(status)
  const shown = `HTTP ${status}${statusText ? ` ${statusText.replace(/[^\x20-\x7e]/g, '').slice(0, 60)}` : ''}`
  if (special) return { why: `${special} (${shown})`, failure: status === 401 || status === 403 ? 'rejected' : 'http_status' }
  if (status === 401 || status === 403)
    return { why: `${PEER} rejected the request (${shown}); check the key in AGENTGATE_WEB_SEARCH_KEY`, failure: 'rejected' }
  if (status === 429) return { why: `${PEER} is rate limiting the gateway (${shown})`, failure: 'http_status' }
  if (status >= 300 && status < 400)
    return {
      why: `${PEER} answered with a redirect (${shown}); point --web-search-url at the address it redirects to`,
      failure: 'http_status',
    }
  return { why: `${PEER} answered ${shown}`, failure: 'http_status' }
}

/** Runs the call and returns its JSON answer; throws WebSearchError on anything else. */
export async function callProvider(call: ProviderCall): Promise<unknown> {
  const fail = (why: string, failure: ConstructorParameters<typeof WebSearchError>[1]) =>
    new WebSearchError(`${call.label} search failed (${where(call)}): ${why}`, failure)
  if (call.signal?.aborted) throw fail('the search was cancelled', 'cancelled')

  const controller = new AbortController()
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    controller.abort()
  }, call.timeoutMs)
  const onAbort = () => controller.abort()
  call.signal?.addEventListener('abort', onAbort, { once: true })
  /** a failure of the exchange itself, in the phase it happened */
  const broken = (e: unknown, phase: 'connect' | 'stream') => {
    if (call.signal?.aborted) return fail('the search was cancelled', 'cancelled')
    if (timedOut)
      return fail(
        phase === 'connect' ? `no answer within ${call.timeoutMs} ms` : `the answer did not arrive within ${call.timeoutMs} ms`,
        'timeout',
      )
    const code = errorCode(e)
    return fail(code ? `${reasonOf(code, phase, PEER)} (${code})` : reasonOf(null, phase, PEER), 'unreachable')
  }
  try {
    let res: Response
    try {
      res = await fetch(call.url, {
        method: call.method,
        headers: {
          accept: 'application/json',
          'user-agent': `agentgate/${VERSION}`,
          ...(call.json === undefined ? {} : { 'content-type': 'application/json' }),
          ...call.headers,
        },
        body: call.json === undefined ? undefined : JSON.stringify(call.json),
        // A redirect is reported, not followed: the key headers must not travel to another host.
        redirect: 'manual',
        signal: controller.signal,
      })
    } catch (e) {
      throw broken(e, 'connect')
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {})
      const { why, failure } = statusReason(call, res.status, res.statusText)
      throw fail(why, failure)
    }
    let bytes: Uint8Array | null
    try {
      bytes = await readCapped(res, MAX_ANSWER_BYTES)
    } catch (e) {
      throw broken(e, 'stream')
    }
    if (bytes === null) throw fail(`${PEER} sent an answer larger than ${MAX_ANSWER_BYTES / (1024 * 1024)} MiB`, 'bad_response')
    try {
      return JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      const type = (res.headers.get('content-type') ?? '').match(/^[\w.+-]+\/[\w.+-]+/)?.[0]
      throw fail(`${PEER} answered with something that is not JSON${type ? ` (${type})` : ''}`, 'bad_response')
    }
  } finally {
    clearTimeout(timer)
    call.signal?.removeEventListener('abort', onAbort)
  }
}

/** A WebSearchError for an answer that is JSON but not the provider's results shape. */
export function unexpectedAnswer(call: Pick<ProviderCall, 'label' | 'method' | 'url'>, what: string): WebSearchError {
  return new WebSearchError(`${call.label} search failed (${where(call)}): ${PEER} answered JSON without ${what}`, 'bad_response')
}
