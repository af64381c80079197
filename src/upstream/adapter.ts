// The interface every upstream adapter implements: take a stateless Responses request (full input,
// store:false) and yield Responses-API stream events as the upstream produced them. The turn engine
// normalises them (ids, sequence numbers, final object); adapters only translate wire formats.

export type UpstreamEvent = { type: string; [key: string]: unknown }

export interface UpstreamAdapter {
  readonly name: string
  /** Streams one model turn. Throws ApiError (502/504/4xx) when the upstream refuses before streaming. */
  stream(body: Record<string, unknown>, opts: { signal: AbortSignal; headers?: Record<string, string> }): AsyncIterable<UpstreamEvent>
}
