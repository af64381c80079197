// The request body limit (--max-body-bytes), enforced by us so that even a 413 has the JSON error shape
// (Bun's own limit answers with an empty body before any of our code runs, so it is set out of the way).
import { ApiError } from '../errors'

/**
 * Checks a request against the limit before anything reads it. With a Content-Length that is too large it
 * returns the 413 to answer with; a chunked body (no size up front) is counted while the route reads it,
 * and going over errors that read with the same 413 (JSON parsing and the pass-through upload both
 * surface it to onError).
 */
export function limitRequestBody(ctx: { request: Request }, max: number): ApiError | null {
  const { request } = ctx
  const length = request.headers.get('content-length')
  if (length !== null) {
    return Number(length) > max
      ? new ApiError(
          413,
          `Request body of ${length} bytes is larger than the limit of ${max} bytes`,
          'invalid_request_error',
          'request_too_large',
        )
      : null
  }
  if (request.body && request.headers.has('transfer-encoding')) {
    let seen = 0
    const limited = request.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, out) {
          seen += chunk.byteLength
          if (seen > max)
            out.error(
              new ApiError(413, `Request body is larger than the limit of ${max} bytes`, 'invalid_request_error', 'request_too_large'),
            )
          else out.enqueue(chunk)
        },
      }),
    )
    ctx.request = new Request(request, { body: limited, duplex: 'half' } as RequestInit)
  }
  return null
}
