// TypeBox validation problems → the OpenAI error shape. Shared by the HTTP edge (Elysia's
// VALIDATION errors) and the WebSocket edge (frames checked against the same schemas).
import { TypeCompiler } from '@sinclair/typebox/compiler'
import type { TSchema } from 'elysia'
import { ApiError } from '../errors'

/**
 * TypeBox reports a failed union (e.g. "object or null") at the union's path; the useful error is the
 * deepest one inside the branch that came closest, which names the actual field.
 */
function deepestError(err: any): any {
  if (!Array.isArray(err?.errors) || err.errors.length === 0) return err
  let best = err
  for (const branch of err.errors) {
    for (const sub of branch) {
      const candidate = deepestError(sub)
      if (typeof candidate.path === 'string' && candidate.path.length > (best.path?.length ?? 0)) best = candidate
    }
  }
  return best
}

/** An ApiError (400) for TypeBox's first error on the body, query or path. */
export function validationError(firstError: unknown, where: 'body' | 'query' | 'path'): ApiError {
  const first = deepestError(firstError ?? {})
  const param = typeof first.path === 'string' && first.path.length > 1 ? first.path.slice(1).replaceAll('/', '.') : null
  const what = param ? `${where === 'body' ? '' : where + ' parameter '}'${param}'` : `the request ${where}`
  const reason = first?.schema?.error ?? first?.summary ?? first?.message ?? 'is invalid'
  const message = first?.value === undefined && param ? `Missing required parameter: ${what}.` : `Invalid value for ${what}: ${String(reason).replace(/^Property '[^']*' /, '')}`
  return new ApiError(400, message, 'invalid_request_error', where === 'body' ? 'invalid_value' : `invalid_${where}`, param)
}

/** A compiled checker for a schema: returns the value, or throws the 400 validationError would give. */
export function compileValidator<T>(schema: TSchema): (value: unknown) => T {
  const check = TypeCompiler.Compile(schema)
  return (value) => {
    if (check.Check(value)) return value as T
    throw validationError(check.Errors(value).First(), 'body')
  }
}
