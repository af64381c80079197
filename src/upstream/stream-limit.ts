// limitStreamBytes: the upstream client with a bound on the bytes one generation stream may carry
// (--max-stream-bytes); the turn fails like on any broken stream when it is passed.
import { ApiError } from '../errors'
import type { UpstreamCall, UpstreamClient } from './client'

/**
 * The upstream client with a bound on the bytes of each generation call's answer (the model's stream): past
 * `maxBytes` the body errors with a 502 `upstream_stream_too_large`, which fails the turn like any broken stream, and
 * the upstream connection is cancelled. Other calls (model list, readiness, pass-through) are left alone.
 */
export function limitStreamBytes(client: UpstreamClient, maxBytes: number): UpstreamClient {
  return {
    get baseUrl() {
      return client.baseUrl
    },
    get idleTimeoutMs() {
      return client.idleTimeoutMs
    },
    proxy: (req) => client.proxy(req),
    async call(req: UpstreamCall) {
      const res = await client.call(req)
      if (req.kind !== 'generate' || !res.body) return res
      let seen = 0
      const counted = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            seen += chunk.byteLength
            if (seen > maxBytes)
              out.error(
                new ApiError(
                  502,
                  `the upstream stream was longer than ${maxBytes} bytes (--max-stream-bytes); the turn was stopped there`,
                  'upstream_error',
                  'upstream_stream_too_large',
                ),
              )
            else out.enqueue(chunk)
          },
        }),
      )
      return new Response(counted, { status: res.status, statusText: res.statusText, headers: res.headers })
    },
  }
}
