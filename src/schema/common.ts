// Schemas shared by every resource: the error body and list envelopes.
import { t, type TSchema } from 'elysia'

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
    examples: [{ error: { message: "Response with id 'resp_123' not found.", type: 'invalid_request_error', param: null, code: 'response_not_found' } }],
  },
)

/** Standard error statuses for a route's `response` map, so every route documents the error shape. */
export function errorResponses(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorBody]))
}

export const Metadata = t.Record(t.String({ maxLength: 64 }), t.String({ maxLength: 512 }), {
  description: 'Up to 16 string pairs; keys ≤ 64 chars, values ≤ 512 chars',
  maxProperties: 16,
})

export const PaginationQuery = t.Object({
  after: t.Optional(t.String({ description: 'Item id to list after' })),
  before: t.Optional(t.String({ description: 'Item id to list before' })),
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, default: 20, description: '1–100, default 20' })),
  order: t.Optional(t.UnionEnum(['asc', 'desc'], { default: 'desc', description: 'asc or desc (default desc)' })),
  'include[]': t.Optional(t.Union([t.String(), t.Array(t.String())])),
  include: t.Optional(t.Union([t.String(), t.Array(t.String())])),
})
