// The one error type of the gateway and its OpenAI-shaped rendering.
// Handlers throw ApiError; app.ts's onError renders every error (ours, Elysia's, Bun's) through toErrorBody.
import { isStoreError, type StoreError, type StoreUnavailableError } from './store/errors'

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'upstream_error'

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null }
}

export class ApiError extends Error {
  /** Response headers that belong with the error (e.g. an upstream's retry-after on a 429). */
  headers: Record<string, string> = {}

  // `errorCode`, not `code`: Elysia reads a `code` property on thrown errors as its own error code (STACK.md).
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType | string = 'invalid_request_error',
    readonly errorCode: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers)
    return this
  }

  toJSON(): ErrorBody {
    return toErrorBody(this.message, this.type, this.errorCode, this.param)
  }

  static badRequest(message: string, param: string | null = null, code = 'invalid_value') {
    return new ApiError(400, message, 'invalid_request_error', code, param)
  }
  static notFound(message: string, code: string | null = 'not_found', param: string | null = null) {
    return new ApiError(404, message, 'invalid_request_error', code, param)
  }
  static conflict(message: string, code = 'conflict') {
    return new ApiError(409, message, 'invalid_request_error', code)
  }
  static badGateway(message: string, code = 'upstream_unreachable') {
    return new ApiError(502, message, 'upstream_error', code)
  }
  static gatewayTimeout(message: string, code = 'upstream_timeout') {
    return new ApiError(504, message, 'upstream_error', code)
  }
  static internal(message = 'Internal server error') {
    return new ApiError(500, message, 'server_error', 'server_error')
  }
  /** The gateway's own storage is full, failing or busy (a StoreUnavailableError): nothing the client did wrong, try later. */
  static storageUnavailable(e: StoreUnavailableError, message = 'so it cannot serve this request right now; try again later.') {
    const state = e.busy ? 'busy' : 'full or failing'
    return new ApiError(503, `The gateway's storage is ${state} (${e.reason}), ${message}`, 'server_error', 'storage_unavailable')
  }
}

/** Anything thrown, as the ApiError a client is shown: ours as is, the store's by kind, anything else as 500. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e
  if (isStoreError(e)) return fromStoreError(e)
  return ApiError.internal()
}

/** What a client is shown for each error the store throws: a storage failure is a 503, a bad list cursor a 400. */
export function fromStoreError(e: StoreError): ApiError {
  switch (e.kind) {
    case 'unavailable':
      return ApiError.storageUnavailable(e)
    case 'invalid_cursor':
      return ApiError.badRequest(e.message, e.param)
  }
}

export function toErrorBody(message: string, type: string, code: string | null = null, param: string | null = null): ErrorBody {
  return { error: { message, type, param, code } }
}

export function errorResponse(err: ApiError, headers: Record<string, string> = {}): Response {
  return Response.json(err.toJSON(), { status: err.status, headers })
}
