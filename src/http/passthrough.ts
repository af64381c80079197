// Stateless pass-through of the OpenAI-compatible routes the gateway adds nothing to.
// Bodies pass untouched (responses, SSE included, are streamed); only headers are filtered.
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import { asIs } from './as-is'
import { searchOf } from './request-url'
import { EXAMPLE_MODEL } from '../schema/common'
import { requestIdOf } from '../metrics/http'

const ROUTES = [
  {
    path: '/v1/chat/completions',
    summary: 'Chat Completions, passed through to the upstream (SSE untouched)',
    example: { model: EXAMPLE_MODEL, messages: [{ role: 'user', content: 'Say hello' }] },
  },
  {
    path: '/v1/completions',
    summary: 'Completions, passed through to the upstream',
    example: { model: EXAMPLE_MODEL, prompt: 'Once upon a time', max_tokens: 16 },
  },
  {
    path: '/v1/embeddings',
    summary: 'Embeddings, passed through to the upstream',
    example: { model: 'intfloat/e5-small', input: 'hello' },
  },
] as const

/**
 * Whether a JSON request body asks for an event stream: a `"stream"` key set to true (at any depth: a nested one only
 * makes a whole answer take the streams' path). Read as bytes, not parsed: outside a string a key is written just so,
 * and inside one its quotes would be escaped.
 */
export function asksForStream(body: ArrayBuffer): boolean {
  const b = Buffer.from(body)
  for (let at = b.indexOf('"stream"'); at >= 0; at = b.indexOf('"stream"', at + 8)) {
    let i = at + 8
    while (isSpace(b[i])) i++
    if (b[i] !== 0x3a) continue // ':'
    i++
    while (isSpace(b[i])) i++
    if (b[i] === 0x74 && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65) return true // 'true'
  }
  return false
}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

export function passthroughRoutes({ upstream, metrics, tracing }: AppDeps) {
  const app = new Elysia({ detail: { tags: ['pass-through'] } })
  for (const r of ROUTES) {
    app.post(
      r.path,
      async ({ request, set }) => {
        // One request id end to end: the upstream logs ours, and the client gets ours back even when the
        // upstream answers with its own (asIs).
        const requestId = requestIdOf(set)
        // Read whole (it is bounded by --max-body-bytes, see app.ts) so the upstream gets a Content-Length
        // rather than a chunked upload, which not every OpenAI-compatible server accepts.
        const body = await request.arrayBuffer()
        const res = await upstream.proxy({
          method: 'POST',
          path: r.path.slice('/v1'.length),
          search: searchOf(request.url),
          headers: request.headers,
          requestId,
          body,
          signal: request.signal,
          kind: 'generate',
          // an answer asked for as an event stream takes Bun's fetch once many are open
          // (upstream/client.ts OURS_STREAMS_BELOW)
          stream: asksForStream(body),
          parentSpan: tracing?.spanOf(request),
          // an event stream counts as open until it ends, fails or the client leaves
          openStreams: metrics?.activeSseStreams,
        })
        return asIs(res, set)
      },
      {
        // The body is not parsed: the upstream is the judge of it; we pass its bytes on.
        parse: 'none',
        detail: {
          summary: r.summary,
          requestBody: { content: { 'application/json': { schema: { type: 'object', additionalProperties: true }, example: r.example } } },
          responses: {
            200: { description: 'The upstream response, unchanged' },
            ...Object.fromEntries(
              [502, 504].map((s) => [
                s,
                {
                  description: s === 502 ? 'Upstream unreachable' : 'Upstream timeout',
                  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
                },
              ]),
            ),
          },
        },
      },
    )
  }
  return app
}
