// Schemas shared by every resource: the error body and list envelopes.
import { t, type Static, type TSchema } from 'elysia'
import { ApiError } from '../errors'

/**
 * The model id in the documentation's examples. /docs/json puts a model the upstream serves in its place when the
 * upstream answers (http/docs.ts), so "Try it out" works as shown; otherwise this neutral placeholder stays.
 */
export const EXAMPLE_MODEL = 'your-model-id'

export const ErrorBody = t.Object(
  {
    error: t.Object({
      message: t.String(),
      type: t.String(),
      param: t.Union([t.String(), t.Null()]),
      code: t.Union([t.String(), t.Null()]),
    }),
  },
  {
    $id: '#/components/schemas/ErrorBody',
    description: 'Every error, whatever the route or status',
    examples: [
      {
        error: {
          message: "Response with id 'resp_123' not found.",
          type: 'invalid_request_error',
          param: null,
          code: 'response_not_found',
        },
      },
    ],
  },
)

/** Standard error statuses for a route's `response` map, so every route documents the error shape. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]))
}

/**
 * Up to 16 string pairs, keys ≤ 64 characters, values ≤ 512 (responses and conversations alike). The key limit is a
 * pattern on the property names (with no other properties allowed): TypeBox does not check a Record key's maxLength.
 */
export const Metadata = t.Record(t.String({ pattern: '^[\\s\\S]{0,64}$' }), t.String({ maxLength: 512 }), {
  maxProperties: 16,
  additionalProperties: false,
  error: 'metadata holds at most 16 pairs, keys of at most 64 characters and string values of at most 512',
  description: 'Up to 16 string pairs; keys ≤ 64 chars, values ≤ 512 chars',
  examples: [{ topic: 'demo', user: 'alice' }],
})

export const PaginationQuery = t.Object({
  after: t.Optional(t.String({ description: 'Item id to list after' })),
  before: t.Optional(t.String({ description: 'Item id to list before' })),
  // A digit string, range-checked by parseListOptions: Elysia checks coerced numeric query values
  // one by one and loses the parameter's name, which the error must carry.
  limit: t.Optional(t.String({ pattern: '^[0-9]+$', description: 'integer 1–100, default 20', examples: ['20'] })),
  order: t.Optional(t.Union([t.Literal('asc'), t.Literal('desc')], { description: 'asc or desc (default desc)' })),
  'include[]': t.Optional(t.Union([t.String(), t.Array(t.String())])),
  include: t.Optional(t.Union([t.String(), t.Array(t.String())])),
})

/** The `include` values of a query (`include[]=…` or `include=…`, once or repeated). */
export function includeOf(query: { include?: string | string[]; 'include[]'?: string | string[] }): string[] {
  return [query.include ?? [], query['include[]'] ?? []].flat()
}

/** Validated list options from a PaginationQuery. */
export function parseListOptions(q: Static<typeof PaginationQuery>): {
  after?: string
  before?: string
  limit: number
  order: 'asc' | 'desc'
} {
  const limit = q.limit === undefined ? 20 : Number(q.limit)
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw ApiError.badRequest(`Invalid value for 'limit': expected an integer from 1 to 100, got '${q.limit}'.`, 'limit')
  if (q.after && q.before) throw ApiError.badRequest("Use either 'after' or 'before', not both.", 'before')
  return { after: q.after || undefined, before: q.before || undefined, limit, order: q.order ?? 'desc' }
}
