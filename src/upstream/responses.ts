// Adapter for upstreams that serve /v1/responses (vLLM): the request goes as-is with stream:true, the
// SSE events come back, evened out where vLLM differs from the OpenAI event contract (vllm-events.ts).
import { ApiError } from '../errors'
import type { UpstreamAdapter, UpstreamEvent } from './adapter'
import type { UpstreamClient } from './client'
import { withIdleTimeout } from './client'
import { describeCall } from './failure'
import { upstreamHttpError } from './http-error'
import type { ServedModels } from './served-models'
import { parseSse } from './sse'
import { ResponsesStreamFixer } from './vllm-events'

type Limits = { maxSseLineBytes: number }

export function responsesAdapter(client: UpstreamClient, limits: Limits, models?: ServedModels): UpstreamAdapter {
  return {
    name: 'responses',
    async *stream(body, opts) {
      const fix = new ResponsesStreamFixer()
      for await (const ev of upstreamEvents(client, limits, models, body, opts)) yield* fix.accept(ev)
      yield* fix.end()
    },
  }
}

/** The upstream's events as it sent them. */
async function* upstreamEvents(client: UpstreamClient, limits: Limits, models: ServedModels | undefined, body: Record<string, unknown>, { signal, headers }: Parameters<UpstreamAdapter['stream']>[1]): AsyncGenerator<UpstreamEvent> {
  const res = await client.call({
    method: 'POST',
    path: '/responses',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify({ ...body, stream: true }),
    signal,
    kind: 'generate',
  })
  const call = describeCall('POST', client.baseUrl + '/responses')
  if (!res.ok) throw await upstreamHttpError(res, { call, baseUrl: client.baseUrl, path: '/responses', model: body.model, models })
  const type = res.headers.get('content-type') ?? ''
  if (!res.body) throw ApiError.badGateway('upstream answered with an empty body', 'upstream_bad_response')
  if (!type.includes('text/event-stream')) {
    // Some servers ignore stream:true and answer with the final JSON object.
    const final = (await res.json().catch(() => null)) as Record<string, unknown> | null
    if (!final || final.object !== 'response') throw ApiError.badGateway(`upstream answered with ${type || 'no content type'} instead of an event stream`, 'upstream_bad_response')
    yield* eventsFromFinalResponse(final)
    return
  }
  for await (const msg of parseSse(withIdleTimeout(res.body, client.idleTimeoutMs, call), limits.maxSseLineBytes)) {
    if (msg.data === '[DONE]') return
    let ev: UpstreamEvent
    try {
      ev = JSON.parse(msg.data)
    } catch {
      throw ApiError.badGateway('upstream sent an event that is not valid JSON', 'upstream_bad_response')
    }
    if (typeof ev !== 'object' || ev === null) throw ApiError.badGateway('upstream sent an event that is not an object', 'upstream_bad_response')
    if (typeof ev.type !== 'string') ev.type = msg.event ?? 'message'
    yield ev
  }
}

/** The events a streaming upstream would have sent for a final response object. */
function* eventsFromFinalResponse(final: Record<string, unknown>): Generator<UpstreamEvent> {
  const output = (final.output as any[]) ?? []
  for (let i = 0; i < output.length; i++) {
    yield { type: 'response.output_item.added', output_index: i, item: output[i] }
    yield { type: 'response.output_item.done', output_index: i, item: output[i] }
  }
  const status = final.status === 'incomplete' ? 'response.incomplete' : final.status === 'failed' ? 'response.failed' : 'response.completed'
  yield { type: status, response: final }
}
