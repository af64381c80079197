// TypeBox validation problems → the OpenAI error shape. Shared by the HTTP edge (Elysia's
// VALIDATION errors) and the WebSocket edge (frames checked against the same schemas).
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from '@sinclair/typebox'
import { ApiError } from '../errors'

/** The parts of a JSON Schema node (TypeBox's, plus our `error` text) that the explanation reads. */
type SchemaNode = { error?: unknown; anyOf?: SchemaNode[]; const?: unknown; type?: string }
type Problem = { path?: string; value?: unknown; message?: string; summary?: string; schema?: SchemaNode; errors?: Iterable<unknown>[] }

/**
 * TypeBox reports a failed union (e.g. "object or null", or the item types) at the union's path, with each variant's
 * errors inside. The useful error is the one of the variant the client meant: one of the same JSON kind as the value
 * and, for tagged objects (items, tools), the one whose `type` matched; within it, the deepest, which names the field.
 * A schema with its own `error` text is reported as it stands.
 */
function explain(err: Problem): Problem {
  if (err?.schema?.error !== undefined || !Array.isArray(err?.errors) || err.errors.length === 0) return err
  const variants: (SchemaNode | undefined)[] = err.schema?.anyOf ?? []
  const branches = err.errors.map((b) => [...b] as Problem[])
  const sameKind = branches.map((_, i) => i).filter((i) => kindMatches(variants[i], err.value))
  // An enum (a union of literals) missed, or no variant of the value's kind: say what is expected.
  if (sameKind.length === 0 || variants.every((v) => v?.const !== undefined)) {
    const expected = `expected ${variants.map(describeKind).join(' or ')}`
    return { ...err, message: expected, summary: expected }
  }
  const typePath = `${err.path}/type`
  const tagged = sameKind.filter((i) => !branches[i].some((e) => e.path === typePath))
  const problems = (tagged.length ? tagged : sameKind).flatMap((i) => branches[i]).map(explain)
  if (tagged.length === 0) {
    const wrongType =
      problems.find((e) => e.path === typePath && e.schema?.error !== undefined) ?? problems.find((e) => e.path === typePath)
    if (wrongType) return wrongType
  }
  if (problems.length === 0) return err
  return problems.reduce<Problem>((best, e) => (depth(e.path) > depth(best.path) ? e : best), problems[0])
}

const depth = (path: string | undefined) => (path ? path.split('/').length : 0)

/** The JSON kind of a value, in JSON Schema's words (integers are numbers here). */
function kindOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  return typeof v
}

function kindMatches(schema: SchemaNode | undefined, value: unknown): boolean {
  if (!schema) return true
  if (Array.isArray(schema.anyOf)) return schema.anyOf.some((s) => kindMatches(s, value))
  if (schema.const !== undefined) return kindOf(schema.const) === kindOf(value)
  const type = schema.type === 'integer' ? 'number' : schema.type
  return type === undefined || type === kindOf(value)
}

function describeKind(schema: SchemaNode | undefined): string {
  if (Array.isArray(schema?.anyOf)) return schema.anyOf.map(describeKind).join(' or ')
  if (schema?.const !== undefined) return JSON.stringify(schema.const)
  const names: Record<string, string> = {
    object: 'an object',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'a boolean',
    null: 'null',
  }
  return names[schema?.type ?? ''] ?? 'a valid value'
}

/** An ApiError (400) for TypeBox's first error on the body, query or path. */
export function validationError(firstError: unknown, where: 'body' | 'query' | 'path'): ApiError {
  const first: Problem = explain((firstError ?? {}) as Problem)
  const param = typeof first.path === 'string' && first.path.length > 1 ? first.path.slice(1).replaceAll('/', '.') : null
  const what = param ? `${where === 'body' ? '' : where + ' parameter '}'${param}'` : `the request ${where}`
  const reason = first?.schema?.error ?? first?.summary ?? first?.message ?? 'is invalid'
  const message =
    first?.value === undefined && param
      ? `Missing required parameter: ${what}.`
      : `Invalid value for ${what}: ${String(reason).replace(/^Property '[^']*' /, '')}`
  return new ApiError(400, message, 'invalid_request_error', where === 'body' ? 'invalid_value' : `invalid_${where}`, param)
}

/**
 * A compiled checker for a schema: returns the value, or throws the 400 validationError would give. Compiled on first
 * use, not when the route or module is set up: compiling every route's schema was a fifth of the gateway's start-up.
 */
export function compileValidator<T>(schema: TSchema): (value: unknown) => T {
  let check: ReturnType<typeof TypeCompiler.Compile> | null = null
  return (value) => {
    check ??= TypeCompiler.Compile(schema)
    if (check.Check(value)) return value as T
    throw validationError(check.Errors(value).First(), 'body')
  }
}

/**
 * A route's body schema that is checked once, by us: the TypeBox schema itself (the OpenAPI document and the handler's
 * type read it as before) with a Standard Schema validator beside it, under a key JSON leaves out. Elysia validates a
 * body whose schema has one by calling it, and nothing else: no exact-mirror copy of the body into the schema's shape
 * and no second TypeBox check after it. The mirror also hid wrong values: an object field sent as `5` arrived as `{}`
 * and passed. The check is compileValidator's, on the body as the client sent it, and its 400 is thrown from there.
 * Cost on the serving thread: a Codex-like body of 100 tool items 13–18 µs before, 1.5–1.7 µs now; the bench's small
 * body 0.13–0.16 µs before, 0.025 now (and the mirror was one of the JIT's largest compiles).
 * For schemas that take unknown fields everywhere (`additionalProperties: true`), where the mirror copied the body
 * unchanged. Elysia narrows an object schema that says nothing to `additionalProperties: false` (a 400 for an unknown
 * field), which the conversation routes rely on: they keep checkBodyFirst.
 */
export function checkedBody<S extends TSchema>(schema: S): S {
  const validate = compileValidator(schema)
  const routeSchema = { ...schema }
  Object.defineProperty(routeSchema, '~standard', {
    enumerable: false,
    value: { version: 1, vendor: 'agentgate', validate: (value: unknown) => ({ value: validate(value) }) },
  })
  return routeSchema
}

/**
 * A `transform` hook that checks a JSON body against its schema before Elysia does. Elysia's normalisation mirrors a
 * body into the schema's shape first (an object field sent as `5` arrives as `{}`, a list as an object with numeric
 * keys), so a wrong value would pass its own check; this one sees what the client sent. It is the same check as the
 * WebSocket frames get.
 */
export function checkBodyFirst(schema: TSchema): (ctx: { body: unknown }) => void {
  const validate = compileValidator(schema)
  return ({ body }) => void validate(body)
}
