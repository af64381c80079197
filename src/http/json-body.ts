// JSON request bodies: parsed by us, with a nesting limit, before any schema sees them. Deeply nested
// input is a cheap way to make validators and error renderers do quadratic work (Elysia pretty-prints
// the offending value into its validation message), so it is refused up front with a clear 400.
import { Elysia } from 'elysia'
import { ApiError } from '../errors'

export const MAX_JSON_DEPTH = 128

/** Deepest array/object nesting in a JSON text (strings skipped); stops counting past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0
  let max = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92 /* \ */) i++
      else if (c === 34 /* " */) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max && (max = depth) > limit) return max
    } else if (c === 125 || c === 93) depth--
  }
  return max
}

/** Parses a JSON request body, or throws the 400 a client can act on. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new ApiError(400, 'The request body is empty; send a JSON object.', 'invalid_request_error', 'invalid_json')
  if (jsonDepth(text) > MAX_JSON_DEPTH)
    throw new ApiError(400, `The JSON body is nested more than ${MAX_JSON_DEPTH} levels deep.`, 'invalid_request_error', 'json_too_deep')
  try {
    return JSON.parse(text)
  } catch {
    throw new ApiError(
      400,
      'We could not parse the JSON body of your request. Send valid JSON with Content-Type: application/json.',
      'invalid_request_error',
      'invalid_json',
    )
  }
}

/**
 * The parser JSON routes use: `.use(jsonBody)` and `parse: JSON_BODY` on the route. A named parser, not
 * a global onParse hook, so routes that stream their body untouched (pass-through) keep `parse: 'none'`.
 */
export const jsonBody = new Elysia({ name: 'json-body' }).parser('jsonBody', async ({ request }) => parseJsonBody(await request.text()))

/**
 * Ours first; it always answers, so Elysia's 'json' after it never runs — it is listed so the OpenAPI
 * document knows the body is application/json.
 */
export const JSON_BODY: ['jsonBody', 'json'] = ['jsonBody', 'json']
