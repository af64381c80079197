// Stateless pass-through of the OpenAI-compatible routes the gateway adds nothing to.
// Bodies are streamed both ways untouched (SSE included); only headers are filtered.
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'

const ROUTES = [
  { path: '/v1/chat/completions', summary: 'Chat Completions, passed through to the upstream (SSE untouched)', example: { model: 'Qwen/Qwen3-8B', messages: [{ role: 'user', content: 'Say hello' }] } },
  { path: '/v1/completions', summary: 'Completions, passed through to the upstream', example: { model: 'Qwen/Qwen3-8B', prompt: 'Once upon a time', max_tokens: 16 } },
  { path: '/v1/embeddings', summary: 'Embeddings, passed through to the upstream', example: { model: 'intfloat/e5-small', input: 'hello' } },
] as const

export function passthroughRoutes({ upstream }: AppDeps) {
  const app = new Elysia({ detail: { tags: ['pass-through'] } })
  for (const r of ROUTES) {
    app.post(
      r.path,
      ({ request }) =>
        upstream.proxy({
          method: 'POST',
          path: r.path.slice('/v1'.length),
          search: new URL(request.url).search,
          headers: request.headers,
          body: request.body,
          signal: request.signal,
          kind: 'generate',
        }),
      {
        // The body is not parsed: the upstream is the judge of it and we stream it through.
        parse: 'none',
        detail: {
          summary: r.summary,
          requestBody: { content: { 'application/json': { schema: { type: 'object', additionalProperties: true }, example: r.example } } },
          responses: {
            200: { description: 'The upstream response, unchanged' },
            ...Object.fromEntries([502, 504].map((s) => [s, { description: s === 502 ? 'Upstream unreachable' : 'Upstream timeout', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } } }])),
          },
        } as any,
      },
    )
  }
  return app
}
