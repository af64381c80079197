// Swagger UI at /docs and the OpenAPI document at /docs/json. The Swagger UI assets are embedded in
// the executable (`with { type: 'file' }`) and served from /docs/assets/*, so the page works offline.
// The document is built from the app's routes by @elysiajs/openapi, loaded with the first request for it: most
// runs never open /docs, and a gateway that starts without the plugin starts sooner and smaller.
import { OPEN_ROUTES } from './routes'
import { Elysia, type AnyElysia } from 'elysia'
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

/** The OpenAPI version of the document (the plugin's default). */
const OPENAPI_VERSION = '3.1.2'

/** The Swagger UI page: the embedded assets, the absolute document URL (so /docs/ finds it too), no validator badge. */
function swaggerPage(title: string, description: string): string {
  const options = {
    dom_id: '#swagger-ui',
    url: OPENAPI_PATH,
    // the default pings https://validator.swagger.io with the document
    validatorUrl: null,
    deepLinking: true,
    displayRequestDuration: true,
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <meta name="description" content="${description}" />
    <meta name="og:description" content="${description}" />
    <link rel="stylesheet" href="${ASSETS_PATH}/swagger-ui.css" />
</head>
<body>
    <div id="swagger-ui"></div>
    <script src="${ASSETS_PATH}/swagger-ui-bundle.js" crossorigin></script>
    <script>
        window.onload = () => {
            window.ui = SwaggerUIBundle(${JSON.stringify(options)});
        };
    </script>
</body>
</html>`
}

export function docsRoutes({ version, config, upstream }: AppDeps) {
  // The first model the upstream serves, for the examples; asked at most once a minute. Null when the upstream
  // does not answer: the placeholder stays.
  const served = servedModels(upstream, { ttlMs: 60_000 })
  const exampleModel = async () => (await served.list())?.[0] ?? null
  const documentation = {
    info: { title: 'agentgate', description: DESCRIPTION, version },
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
  }
  const page = swaggerPage('agentgate', DESCRIPTION)
  // Built once, at the first request: by then the app has all its routes. A failed build is tried again next time.
  let built: Promise<unknown> | null = null
  const document = () =>
    (built ??= buildDocument(docs, documentation).catch((e) => {
      built = null
      throw e
    }))
  // Mounted into the app, this plugin's getGlobalRoutes() lists every route of the root app, whenever it was added.
  const docs = new Elysia({ name: 'docs' })
    .get(DOCS_PATH, () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf8' } }), {
      detail: { hide: true },
    })
    .get(OPENAPI_PATH, async (): Promise<unknown> => withExampleModel(await document(), await exampleModel()), { detail: { hide: true } })
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
  return docs
}

/**
 * The OpenAPI document of `app`'s routes: @elysiajs/openapi (loaded now) turns the routes into paths and schemas,
 * `documentation` adds what the routes do not say — assembled the way the plugin's own /json route does — and
 * normaliseOpenApiDocument fixes the result up.
 */
async function buildDocument(app: AnyElysia, documentation: OpenApiJson): Promise<unknown> {
  const { toOpenAPISchema } = await import('@elysiajs/openapi')
  const { paths, components } = toOpenAPISchema(app, undefined, undefined, undefined, OPENAPI_VERSION)
  return normaliseOpenApiDocument({
    ...documentation,
    openapi: OPENAPI_VERSION,
    tags: documentation.tags,
    info: documentation.info,
    paths: { ...paths, ...documentation.paths },
    components: { ...documentation.components, schemas: { ...components.schemas, ...documentation.components?.schemas } },
  })
}
