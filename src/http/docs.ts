// Swagger UI at /docs and the OpenAPI document at /docs/json. The Swagger UI assets are embedded in
// the executable (`with { type: 'file' }`) and served from /docs/assets/*, so the page works offline.
import { OPEN_ROUTES } from './routes'
import { openapi } from '@elysiajs/openapi'
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import { ApiError } from '../errors'
import { ErrorBody, EXAMPLE_MODEL } from '../schema/common'
import { ResponseStreamEvent } from '../schema/events'
import { McpApprovalResponseItem, ResponseObject } from '../schema/responses'
import { McpApprovalRequestItem, McpCallItem, McpListToolsItem, McpTool, WebSearchCallItem, WebSearchTool } from '../schema/gateway-tools'
import { servedModels } from '../upstream/served-models'
import { AnthropicErrorBody } from '../messages/schema'
// @ts-expect-error -- a file import: the value is a path (a $bunfs path inside the binary), not a module
import swaggerBundlePath from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
// @ts-expect-error -- same
import swaggerCssPath from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }

export const DOCS_PATH = '/docs'
export const OPENAPI_PATH = '/docs/json'
export const ASSETS_PATH = '/docs/assets'

const ASSETS: Record<string, { path: string; type: string }> = {
  'swagger-ui-bundle.js': { path: swaggerBundlePath as unknown as string, type: 'text/javascript; charset=utf-8' },
  'swagger-ui.css': { path: swaggerCssPath as unknown as string, type: 'text/css; charset=utf-8' },
}

const DESCRIPTION =
  'A stateful gateway for the OpenAI Responses API in front of vLLM or any OpenAI-compatible server: ' +
  'stored responses, previous_response_id chains, conversations, background runs, SSE and WebSocket streaming. ' +
  "Every error has the body ErrorBody (on /v1/messages: AnthropicErrorBody, Anthropic's envelope)."

const TAGS = [
  { name: 'health', description: 'Liveness and readiness' },
  { name: 'models', description: 'The upstream model list (reshaped for the Codex CLI when it asks)' },
  { name: 'responses', description: 'The Responses API, stateful: stored responses, chains, background runs, streaming' },
  { name: 'conversations', description: 'Conversations and their items' },
  {
    name: 'messages',
    description: "The Anthropic Messages API (Claude Code) on the same engine; errors in Anthropic's envelope AnthropicErrorBody",
  },
  { name: 'pass-through', description: 'OpenAI-compatible routes passed to the upstream unchanged' },
]

const COMPONENT_ID = '#/components/schemas/'
/** The gateway-run tools and their items (schema/gateway-tools.ts), listed so clients can find their shapes. */
const GATEWAY_TOOL_SCHEMAS = {
  McpTool,
  WebSearchTool,
  McpListToolsItem,
  McpCallItem,
  McpApprovalRequestItem,
  McpApprovalResponseItem,
  WebSearchCallItem,
}
const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'])
// biome-ignore lint/suspicious/noExplicitAny: the plugin's OpenAPI document is untyped JSON, read and rewritten field by field below
type OpenApiJson = Record<string, any>

const normalised = new WeakMap<object, object>()

/**
 * Fixes up the plugin's document so that Swagger UI and strict OpenAPI tools accept all of it:
 * - a schema that carries `$id: '#/components/schemas/Name'` (like ErrorBody) is written inline by the
 *   plugin, `$id` and all (a `$id` with a fragment is not valid JSON Schema 2020-12): every inline copy
 *   becomes `{ $ref }` and `components.schemas.Name` holds it once;
 * - a visible `.ws()` route comes out under a `ws` key, which is no OpenAPI method: it is listed as the
 *   GET it is on the wire (the upgrade request), unless the path already has a GET.
 * The plugin caches its document object, so the result is cached per object.
 */
export function normaliseOpenApiDocument(doc: unknown): unknown {
  if (!doc || typeof doc !== 'object') return doc
  const hit = normalised.get(doc)
  if (hit) return hit
  const found: Record<string, unknown> = {}
  const walk = (v: unknown, inComponent: string | null): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, null))
    if (!v || typeof v !== 'object') return v
    const o = v as Record<string, unknown>
    if (typeof o.$id === 'string' && o.$id.startsWith(COMPONENT_ID)) {
      const name = o.$id.slice(COMPONENT_ID.length)
      const { $id: _id, ...rest } = o
      const body = Object.fromEntries(Object.entries(rest).map(([k, x]) => [k, walk(x, null)]))
      if (name === inComponent) return body
      found[name] ??= body
      return { $ref: COMPONENT_ID + name }
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, walk(x, null)]))
  }
  const src = doc as { paths?: Record<string, OpenApiJson>; components?: { schemas?: Record<string, unknown> } }
  const out = walk({ ...src, components: undefined }, null) as OpenApiJson
  for (const item of Object.values((out.paths ?? {}) as Record<string, OpenApiJson>)) {
    for (const key of Object.keys(item)) {
      if (HTTP_METHODS.has(key) || key.startsWith('x-') || ['summary', 'description', 'servers', 'parameters', '$ref'].includes(key))
        continue
      const op = item[key]
      delete item[key]
      if (key !== 'ws' || item.get) continue
      // a GET has no body; the frames are described by the route's own summary/description
      const { requestBody: _frames, ...upgrade } = op
      item.get = {
        ...upgrade,
        summary: op.summary ?? 'WebSocket upgrade',
        responses: op.responses ?? { 101: { description: 'Switching Protocols: the connection is now a WebSocket' } },
      }
    }
  }
  describeStreams(out.paths ?? {})
  // The open routes (http/routes.ts) need no credential: `security: []` overrides the document's bearerAuth.
  for (const [path, item] of Object.entries((out.paths ?? {}) as Record<string, OpenApiJson>))
    if (OPEN_ROUTES.includes(path.replace(/\{([^}]+)\}/g, ':$1')))
      for (const method of Object.keys(item)) if (HTTP_METHODS.has(method)) item[method].security = []
  const schemas: Record<string, unknown> = {}
  for (const [name, schema] of Object.entries(src.components?.schemas ?? {})) schemas[name] = walk(schema, name)
  for (const [name, schema] of Object.entries(found)) schemas[name] ??= schema
  out.components = { ...src.components, schemas }
  normalised.set(doc, out)
  return out
}

/**
 * Operations whose success answer may be a Server-Sent Events stream instead of JSON. The route schemas (and the
 * plugin) know only the JSON answer, so the `text/event-stream` one is added to the document here.
 */
const STREAMED: { path: string; method: string; when: string }[] = [
  { path: '/v1/responses', method: 'post', when: 'With `stream: true`' },
  { path: '/v1/responses/{id}', method: 'get', when: 'With `?stream=true`' },
]

function describeStreams(paths: Record<string, OpenApiJson>): void {
  for (const { path, method, when } of STREAMED) {
    const ok = paths[path]?.[method]?.responses?.['200']
    if (!ok) continue
    ok.description = `${ok.description ?? 'The response'}. ${when}: \`text/event-stream\`, one \`event: <type>\` + \`data: <json>\` frame per ResponseStreamEvent, ending with response.completed, response.incomplete, response.failed or error.`
    ok.content = { ...ok.content, 'text/event-stream': { schema: { $ref: `${COMPONENT_ID}ResponseStreamEvent` } } }
  }
}

/** The document with every EXAMPLE_MODEL in its examples replaced by `model` (a copy; cached per document and model). */
const withModel = new WeakMap<object, { model: string; doc: unknown }>()
export function withExampleModel(doc: unknown, model: string | null): unknown {
  if (!model || model === EXAMPLE_MODEL || !doc || typeof doc !== 'object') return doc
  const hit = withModel.get(doc)
  if (hit?.model === model) return hit.doc
  const swap = (v: unknown): unknown =>
    v === EXAMPLE_MODEL
      ? model
      : Array.isArray(v)
        ? v.map(swap)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, swap(x)]))
          : v
  const out = swap(doc)
  withModel.set(doc, { model, doc: out })
  return out
}

/** The scheme Swagger UI's Authorize button fills in: the gateway's API keys (src/auth.ts). */
const SECURITY_SCHEMES = {
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An agentgate API key (--api-key / --api-keys-file), sent as `Authorization: Bearer KEY`. Needed on every /v1 route when keys are configured; /health and /ready stay open.',
  },
} as const

export function docsRoutes({ version, config, upstream }: AppDeps) {
  // The first model the upstream serves, for the examples; asked at most once a minute. Null when the upstream
  // does not answer: the placeholder stays.
  const served = servedModels(upstream, { ttlMs: 60_000 })
  const exampleModel = async () => (await served.list())?.[0] ?? null
  return (
    new Elysia({ name: 'docs' })
      // A local hook, so it applies to the plugin's routes below and never to the app's other routes.
      .onAfterHandle(async ({ path, response }) =>
        path === OPENAPI_PATH ? withExampleModel(normaliseOpenApiDocument(response), await exampleModel()) : undefined,
      )
      // The plugin documents app.getGlobalRoutes(), i.e. every route of the root app, whenever it was added.
      .use(
        openapi({
          provider: 'swagger-ui',
          path: DOCS_PATH,
          specPath: OPENAPI_PATH,
          documentation: {
            info: { title: 'agentgate', version, description: DESCRIPTION },
            tags: TAGS,
            // listed even before any route uses it, so clients can rely on the name
            components: {
              schemas: {
                ErrorBody,
                AnthropicErrorBody,
                ResponseObject,
                ResponseStreamEvent,
                ...GATEWAY_TOOL_SCHEMAS,
              },
              securitySchemes: SECURITY_SCHEMES,
            },
            // With keys configured every operation needs one, except the open routes (`security: []`, set above).
            ...(config.apiKeys.length ? { security: [{ bearerAuth: [] }] } : {}),
          },
          swagger: {
            // absolute, so /docs/ (trailing slash) finds the document too
            url: OPENAPI_PATH,
            cdn: `${ASSETS_PATH}/swagger-ui-bundle.js`,
            theme: `${ASSETS_PATH}/swagger-ui.css`,
            autoDarkMode: false,
            // the default pings https://validator.swagger.io with the document
            validatorUrl: null,
            deepLinking: true,
            displayRequestDuration: true,
            // biome-ignore lint/suspicious/noExplicitAny: plugin options: its type omits `url` and `validatorUrl: null`, which Swagger UI reads
          } as any,
        }),
      )
      .get(
        `${ASSETS_PATH}/:file`,
        ({ params }) => {
          const asset = ASSETS[params.file]
          if (!asset) throw ApiError.notFound(`Unknown documentation asset: ${params.file}`, 'unknown_url')
          return new Response(Bun.file(asset.path), {
            headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' },
          })
        },
        { detail: { hide: true } },
      )
  )
}
