// GET /v1/models: the upstream's list passed through unchanged, or — when the Codex CLI asks
// (`?client_version=…`) — reshaped into the Codex catalog with an ETag Codex caches it by.
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../deps'
import { asIs } from './as-is'
import { searchOf } from './request-url'
import { bodyETag, etagMatches, readTextFile, toCodexCatalog, upstreamModels, type ReadText } from '../codex/catalog'
import { ApiError } from '../errors'
import { describeCall, streamFailure } from '../upstream/failure'
import { ErrorBody } from '../schema/common'
import { CodexCatalog, ModelsQuery, OpenAIModelList } from '../schema/models'
import { toAnthropicModelList } from '../messages/models'
import { AnthropicModelList } from '../messages/schema'
import { requestIdOf } from '../metrics/http'

/** Conditional-request headers are about our catalog, not the upstream's list. */
const NOT_FORWARDED = ['if-none-match', 'if-modified-since']

export function modelsRoutes({ upstream, config, logger, tracing }: AppDeps) {
  const readFile: ReadText = (path) => {
    const text = readTextFile(path)
    if (text === null) logger.warn('base_instructions_file unreadable; using the built-in instructions', { path })
    return text
  }

  /** Fetches and parses the upstream list; anything but a 2xx JSON list is a 502 the caller can act on. */
  async function fetchUpstreamList(request: Request): Promise<unknown> {
    const headers = new Headers(request.headers)
    for (const h of NOT_FORWARDED) headers.delete(h)
    const res = await upstream.call({ path: '/models', headers, signal: request.signal, parentSpan: tracing?.spanOf(request) })
    const call = describeCall('GET', upstream.baseUrl + '/models')
    let text: string
    try {
      text = await res.text()
    } catch (e) {
      throw streamFailure(e, call)
    }
    if (!res.ok) {
      const hint = res.status === 401 || res.status === 403 ? ' (check --upstream-key)' : ''
      throw ApiError.badGateway(`upstream answered ${res.status} (${call})${hint}: ${upstreamMessage(text)}`, 'upstream_error')
    }
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      throw ApiError.badGateway(
        `upstream answered with a body that is not JSON (${call}): ${text.slice(0, 200)}`,
        'upstream_invalid_response',
      )
    }
    if (!upstreamModels(body))
      throw ApiError.badGateway(`upstream answered without a "data" array of models (${call})`, 'upstream_invalid_response')
    return body
  }

  return new Elysia({ detail: { tags: ['models'] } }).get(
    '/v1/models',
    async ({ request, query, set }) => {
      // Anthropic's clients (Claude Code, @anthropic-ai/sdk) send anthropic-version: the list in their shape.
      if (request.headers.get('anthropic-version') && query.client_version === undefined)
        return Response.json(toAnthropicModelList((await fetchUpstreamList(request)) as { data?: unknown }))
      if (query.client_version === undefined) {
        // One request id end to end, as on the other pass-through routes; the upstream's own Response goes back (asIs).
        const requestId = requestIdOf(set)
        const res = await upstream.proxy({
          path: '/models',
          search: searchOf(request.url),
          headers: request.headers,
          requestId,
          signal: request.signal,
        })
        return asIs(res, set)
      }
      const list = await fetchUpstreamList(request)
      const body = JSON.stringify(toCodexCatalog(list, config.models, readFile))
      const etag = bodyETag(body)
      if (etagMatches(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers: { etag } })
      return new Response(body, { headers: { 'content-type': 'application/json', etag } })
    },
    {
      query: ModelsQuery,
      response: {
        200: t.Union([OpenAIModelList, CodexCatalog, AnthropicModelList], {
          description:
            "The upstream list unchanged, the Codex catalog when client_version is given, or Anthropic's list shape with an anthropic-version header",
        }),
        502: ErrorBody,
        504: ErrorBody,
      },
      // 304 (If-None-Match hit) is described in words: the plugin renders a body-less status as invalid content.
      detail: {
        summary: 'List models: the upstream list unchanged, or the Codex catalog when client_version is given',
        description:
          'Without `client_version` the upstream `GET /models` answer (status, body and headers) is passed through unchanged. ' +
          'With `client_version` (sent by the Codex CLI) the list is reshaped to `{"models":[ModelInfo…]}`: context window from ' +
          'the upstream, base instructions and other metadata embedded in agentgate, per-model overrides from `[models."<id>"]` in ' +
          'config.toml. That answer carries an `ETag`; a matching `If-None-Match` gets `304 Not Modified`. ' +
          'With an `anthropic-version` header (Anthropic\'s clients) the list comes in Anthropic\'s shape: `{data:[{type:"model", id, display_name, created_at}], has_more, first_id, last_id}`.',
      },
    },
  )
}

/** The upstream's error message when its body has one, else the start of the body. */
function upstreamMessage(text: string): string {
  try {
    const j = JSON.parse(text)
    const m = j?.error?.message ?? j?.message ?? j?.detail
    if (typeof m === 'string' && m) return m
  } catch {}
  return text.slice(0, 200) || '(empty body)'
}
