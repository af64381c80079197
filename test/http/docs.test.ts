// /docs (Swagger UI), /docs/assets/* (embedded swagger-ui-dist) and /docs/json (OpenAPI), over real
// HTTP against a gateway on port 0. The document must list every visible route of the app, whoever
// added it and wherever in createApp, with schemas a client can use.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { loadedModules } from '../support/loaded-modules'
import { CreateMessageBody } from '../../src/messages/schema'
import { CreateResponseBody } from '../../src/schema/responses'

const EXTERNAL_URL = /https?:\/\/(?!127\.0\.0\.1[:/]|localhost[:/])[^\s"'<>)]+/g
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

let upstream: FakeUpstream
let gw: TestGateway
let doc: any

beforeAll(async () => {
  upstream = startFakeUpstream()
  gw = await startGateway({ upstream: upstream.url, logLevel: 'warn' })
  const r = await fetch(`${gw.url}/docs/json`)
  expect(r.status).toBe(200)
  doc = await r.json()
})

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

/** The app's routes as OpenAPI (path, method) pairs, hidden ones left out. */
function visibleRoutes(): { path: string; method: string; hooks: any }[] {
  return gw.app.routes
    .filter((r: any) => !r.hooks?.detail?.hide && r.method !== 'OPTIONS')
    .map((r: any) => ({
      path: r.path.replace(/:([^/]+)/g, '{$1}'),
      method: r.method === 'WS' ? 'get' : r.method.toLowerCase(),
      hooks: r.hooks ?? {},
    }))
}

function operations(): { path: string; method: string; op: any }[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => HTTP_METHODS.includes(m))
      .map(([method, op]) => ({ path, method, op })),
  )
}

/** Every `$ref` value in a JSON value. */
function refs(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) for (const x of v) refs(x, out)
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') out.push(x)
      else refs(x, out)
    }
  return out
}

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true)
  return ref
    .slice(2)
    .split('/')
    .reduce<any>((node, key) => node?.[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc)
}

describe('GET /docs', () => {
  test('is Swagger UI loading its assets from the gateway, with no external URL', async () => {
    const r = await fetch(`${gw.url}/docs`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/html')
    const html = await r.text()
    expect(html.match(EXTERNAL_URL)).toBeNull()
    expect(html).toContain('<script src="/docs/assets/swagger-ui-bundle.js"')
    expect(html).toContain('<link rel="stylesheet" href="/docs/assets/swagger-ui.css"')
    // no badge that sends the document to validator.swagger.io
    expect(html).toContain('"validatorUrl":null')
    expect(html).toContain('"url":"/docs/json"')
    expect(html).toContain('<title>agentgate</title>')
  })

  test('works with a trailing slash too (the document URL is absolute)', async () => {
    const r = await fetch(`${gw.url}/docs/`)
    expect(r.status).toBe(200)
    expect(await r.text()).toContain('"url":"/docs/json"')
  })
})

describe('GET /docs/assets/*', () => {
  test.each([
    ['swagger-ui-bundle.js', 'text/javascript', 'SwaggerUIBundle'],
    ['swagger-ui.css', 'text/css', '.swagger-ui'],
  ])('%s is served from the embedded swagger-ui-dist with content type %s', async (file, type, marker) => {
    const r = await fetch(`${gw.url}/docs/assets/${file}`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toStartWith(type)
    const bytes = await r.arrayBuffer()
    expect(bytes.byteLength).toBe(Bun.file(`${import.meta.dir}/../../node_modules/swagger-ui-dist/${file}`).size)
    expect(new TextDecoder().decode(bytes)).toContain(marker)
  })

  test('an unknown asset is a 404 with the error body', async () => {
    const r = await fetch(`${gw.url}/docs/assets/index.html`)
    expect(r.status).toBe(404)
    expect(await r.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null, code: 'unknown_url' } })
  })
})

describe('GET /docs/json', () => {
  test('is an OpenAPI 3.x document about agentgate', () => {
    expect(doc.openapi).toMatch(/^3\.[01]\.\d+$/)
    expect(doc.info.title).toBe('agentgate')
    expect(doc.info.version).toBe('test') // deps.version of the test gateway
    expect(doc.info.description.length).toBeGreaterThan(20)
    expect(doc.tags.map((t: any) => t.name)).toEqual(
      expect.arrayContaining(['health', 'models', 'responses', 'conversations', 'pass-through']),
    )
  })

  test('lists every visible route of the app, and nothing else', () => {
    const expected = visibleRoutes()
      .map((r) => `${r.method.toUpperCase()} ${r.path}`)
      .sort()
    const listed = operations()
      .map((o) => `${o.method.toUpperCase()} ${o.path}`)
      .sort()
    expect(listed).toEqual([...new Set(expected)])
    // the routes the skeleton and SPEC promise, at the least
    expect(listed).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /ready',
        'GET /v1/models',
        'POST /v1/chat/completions',
        'POST /v1/completions',
        'POST /v1/embeddings',
      ]),
    )
  })

  test('leaves out its own routes', () => {
    for (const p of ['/docs', '/docs/json', '/docs/assets/{file}']) expect(doc.paths[p]).toBeUndefined()
  })

  test('every operation has a tag, a summary, a unique operationId and at least one success response', () => {
    const known = new Set(doc.tags.map((t: any) => t.name))
    const ids = new Set<string>()
    for (const { path, method, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`
      expect({ where, tagged: (op.tags ?? []).length > 0 && op.tags.every((t: string) => known.has(t)) }).toEqual({ where, tagged: true })
      expect({ where, summary: typeof op.summary === 'string' && op.summary.length > 0 }).toEqual({ where, summary: true })
      expect({ where, duplicate: ids.has(op.operationId) }).toEqual({ where, duplicate: false })
      ids.add(op.operationId)
      const statuses = Object.keys(op.responses ?? {})
      expect({ where, success: statuses.some((s) => /^(1|2)\d\d$/.test(s)) }).toEqual({ where, success: true })
    }
  })

  test('routes with a body or response schema carry it in the document', () => {
    for (const r of visibleRoutes()) {
      const op = doc.paths[r.path][r.method]
      const where = `${r.method.toUpperCase()} ${r.path}`
      if (r.hooks.body && r.method !== 'get')
        expect({ where, schema: !!op.requestBody?.content?.['application/json']?.schema }).toEqual({ where, schema: true })
      if (r.hooks.response) {
        const withSchema = Object.values(op.responses ?? {}).filter((x: any) => x?.content?.['application/json']?.schema)
        expect({ where, responseSchemas: withSchema.length > 0 }).toEqual({ where, responseSchemas: true })
      }
    }
  })

  test('the create-response body documents the values the gateway checks', () => {
    const body = doc.paths['/v1/responses'].post.requestBody.content['application/json'].schema
    const text = JSON.stringify(body)
    expect(body.properties.reasoning.properties.effort.enum).toEqual(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'])
    expect(body.properties.include.items?.enum ?? body.properties.include.anyOf).toContain('reasoning.encrypted_content')
    // Item, tool and text format types, and the call_id a tool output needs.
    for (const value of ['function_call_output', 'local_shell_call', 'web_search_preview', 'json_schema', 'call_id'])
      expect(text).toContain(`"${value}"`)
    expect(text).not.toContain('"ultra"')
  })

  test('a body the gateway checks itself (schema/validate.ts checkedBody) is documented as its schema, with nothing of the checker', () => {
    const documented = (path: string) => doc.paths[path].post.requestBody.content['application/json'].schema
    expect(JSON.stringify(doc)).not.toContain('~standard')
    expect(documented('/v1/responses').properties.model).toEqual(JSON.parse(JSON.stringify(CreateResponseBody.properties.model)))
    expect(Object.keys(documented('/v1/responses').properties)).toEqual(Object.keys(CreateResponseBody.properties))
    expect(Object.keys(documented('/v1/messages').properties)).toEqual(Object.keys(CreateMessageBody.properties))
  })

  test('every path parameter is declared', () => {
    for (const { path, method, op } of operations()) {
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        const p = (op.parameters ?? []).find((x: any) => x.in === 'path' && x.name === name)
        expect({ op: `${method} ${path}`, name, declared: !!p && p.required === true }).toEqual({
          op: `${method} ${path}`,
          name,
          declared: true,
        })
      }
    }
  })

  test('ErrorBody is a component, and client errors refer to it', () => {
    const errorBody = doc.components.schemas.ErrorBody
    expect(errorBody.type).toBe('object')
    expect(errorBody.properties.error.required).toEqual(['message', 'type', 'param', 'code'])
    for (const { path, method, op } of operations()) {
      for (const [status, res] of Object.entries<any>(op.responses ?? {})) {
        const schema = res?.content?.['application/json']?.schema
        if (!/^4\d\d$/.test(status) || !schema) continue
        // The Anthropic Messages routes answer in Anthropic's envelope.
        const component = path.startsWith('/v1/messages') ? 'AnthropicErrorBody' : 'ErrorBody'
        expect({ op: `${method} ${path} ${status}`, schema }).toEqual({
          op: `${method} ${path} ${status}`,
          schema: { $ref: `#/components/schemas/${component}` },
        })
      }
    }
  })

  test('every operation on stored responses and conversations documents the 503 a failing storage answers', () => {
    const stored = operations().filter((o) => /^\/v1\/(responses|conversations)/.test(o.path) && o.op.responses?.['200'])
    expect(stored.length).toBeGreaterThan(10)
    for (const { path, method, op } of stored) {
      const where = `${method.toUpperCase()} ${path}`
      expect({ where, schema: op.responses['503']?.content?.['application/json']?.schema }).toEqual({
        where,
        schema: { $ref: '#/components/schemas/ErrorBody' },
      })
    }
  })

  test('every $ref resolves inside the document and no schema keeps a fragment $id', () => {
    for (const ref of refs(doc)) expect({ ref, resolved: resolve(ref) !== undefined }).toEqual({ ref, resolved: true })
    expect(JSON.stringify(doc)).not.toContain('"$id":"#')
  })

  test('the open routes say they need no credential (security: []); the /v1 routes do not', () => {
    const open = operations()
      .filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0)
      .map((o) => `${o.method} ${o.path}`)
    expect(open.sort()).toEqual(['get /health', 'get /ready'])
  })

  test('is the same document on every call', async () => {
    const again = await (await fetch(`${gw.url}/docs/json`)).json()
    expect(again).toEqual(doc)
  })
  test('POST /v1/responses documents its text/event-stream answer: the union of streaming events', () => {
    const ok = doc.paths['/v1/responses'].post.responses['200']
    expect(ok.content['application/json'].schema).toBeDefined()
    expect(ok.content['text/event-stream'].schema).toEqual({ $ref: '#/components/schemas/ResponseStreamEvent' })
    expect(ok.description).toContain('text/event-stream')
    const union = doc.components.schemas.ResponseStreamEvent
    const types = JSON.stringify(union)
    for (const t of [
      'response.created',
      'response.output_item.added',
      'response.output_text.delta',
      'response.function_call_arguments.done',
      'response.completed',
      'response.failed',
      'error',
    ])
      expect(types).toContain(`"${t}"`)
    expect(union.anyOf.length).toBeGreaterThan(5)
    // resume (GET …?stream=true) answers the same events
    expect(doc.paths['/v1/responses/{id}'].get.responses['200'].content['text/event-stream'].schema).toEqual({
      $ref: '#/components/schemas/ResponseStreamEvent',
    })
  })

  test('the gateway-run tools are documented: their tool and item shapes, and their streaming events', () => {
    const schemas = doc.components.schemas
    for (const name of [
      'McpTool',
      'WebSearchTool',
      'McpListToolsItem',
      'McpCallItem',
      'McpApprovalRequestItem',
      'McpApprovalResponseItem',
      'WebSearchCallItem',
    ])
      expect({ name, listed: schemas[name]?.type === 'object' }).toEqual({ name, listed: true })
    expect(schemas.McpCallItem.properties.type).toMatchObject({ const: 'mcp_call' })
    expect(schemas.McpApprovalResponseItem.required).toEqual(expect.arrayContaining(['type', 'approval_request_id', 'approve']))
    const types = JSON.stringify(schemas.ResponseStreamEvent)
    for (const t of [
      'response.mcp_list_tools.in_progress',
      'response.mcp_list_tools.completed',
      'response.mcp_list_tools.failed',
      'response.mcp_call_arguments.delta',
      'response.mcp_call_arguments.done',
      'response.mcp_call.in_progress',
      'response.mcp_call.completed',
      'response.mcp_call.failed',
      'response.web_search_call.in_progress',
      'response.web_search_call.searching',
      'response.web_search_call.completed',
    ])
      expect(types).toContain(`"${t}"`)
  })

  test('the WebSocket mode is documented as the GET upgrade of /v1/responses', () => {
    const op = doc.paths['/v1/responses'].get
    expect(op.tags).toEqual(['responses'])
    expect(op.summary).toContain('WebSocket')
    expect(op.description).toContain('response.create')
    expect(Object.keys(op.responses)).toContain('101')
  })

  test('the examples use a model the upstream serves, not a fixed one', () => {
    const text = JSON.stringify(doc)
    expect(text).not.toContain('Qwen/Qwen3-8B')
    expect(text).not.toContain('your-model-id')
    expect(doc.paths['/v1/responses'].post.requestBody.content['application/json'].schema.examples[0].model).toBe('test-model')
    expect(doc.paths['/v1/chat/completions'].post.requestBody.content['application/json'].example.model).toBe('test-model')
  })
})

test('with the upstream not answering, the examples show a neutral placeholder model', async () => {
  const dead = startFakeUpstream()
  await dead.stop()
  const gw2 = await startGateway({ upstream: dead.url, logLevel: 'warn' })
  try {
    const d = (await (await fetch(`${gw2.url}/docs/json`)).json()) as any
    expect(d.paths['/v1/responses'].post.requestBody.content['application/json'].schema.examples[0].model).toBe('your-model-id')
    expect(JSON.stringify(d)).not.toContain('Qwen/Qwen3-8B')
  } finally {
    await gw2.stop()
  }
})

test('the OpenAPI plugin is loaded by the first request for the document, not when the gateway starts', async () => {
  expect(await loadedModules(['@elysiajs/openapi'], { requests: ['/health', '/docs', '/docs/json'] })).toEqual({
    atStart: { '@elysiajs/openapi': false },
    statuses: [200, 200, 200],
    afterRequests: { '@elysiajs/openapi': true },
  })
})
