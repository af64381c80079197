// Adapter for upstreams that serve /v1/responses (vLLM): the request goes as-is with stream:true, the
// SSE events come back, evened out where vLLM differs from the OpenAI event contract (vllm-events.ts).
import { ApiError } from '../errors'
import type { UpstreamEvent, UpstreamItem, UpstreamResponse } from '../schema/events'
import type { StreamLimits, StreamOptions, UpstreamAdapter } from './adapter'
import type { UpstreamClient } from './client'
import { describeCall } from './failure'
import { upstreamHttpError } from './http-error'
import type { ServedModels } from './served-models'
import { DELTA_RUN, type DeltaRun, DeltaMatcher } from './delta-run'
import { type Splice, type SseMessage, translatedBatches } from './sse'
import { emptyAnswer, readLimitedJson } from './stream-limit'
import { requestBody } from './request-body'
import { ResponsesStreamFixer, type VllmEvent } from './vllm-events'

export function responsesAdapter(client: UpstreamClient, limits: StreamLimits, models?: ServedModels): UpstreamAdapter {
  // the call as errors name it (credentials redacted): the same for every turn
  const call = describeCall('POST', client.baseUrl + '/responses')
  const sse = { maxLineBytes: limits.maxSseLineBytes, maxStreamBytes: limits.maxStreamBytes, idleMs: client.idleTimeoutMs, call }
  return {
    name: 'responses',
    // One generator from the call to the fixed events (sse.ts translatedBatches): the SSE messages of a chunk are
    // parsed, fixed and yielded there as one batch (a generator per stage, or a yield per event, cost every event a
    // hop of its own).
    stream<O>(body: Record<string, unknown>, { signal, headers, whole = false, step }: StreamOptions<O>) {
      const fix = new ResponsesStreamFixer()
      const open = async (): Promise<ReadableStream<Uint8Array> | UpstreamEvent[]> => {
        const res = await client.call({
          method: 'POST',
          path: '/responses',
          headers: { 'content-type': 'application/json', accept: whole ? 'application/json' : 'text/event-stream', ...headers },
          body: requestBody({ ...body, stream: !whole }),
          signal,
          kind: 'generate',
          stream: !whole,
        })
        if (!res.ok) throw await upstreamHttpError(res, { call, baseUrl: client.baseUrl, path: '/responses', model: body.model, models })
        const type = res.headers.get('content-type') ?? ''
        if (!type.includes('text/event-stream')) {
          // The whole answer asked for (or a server that ignores stream:true): the final JSON object.
          // Untyped JSON: only `object` is checked; the rest is read as the upstream Response it says it is.
          const final = (await readLimitedJson(res, limits.maxStreamBytes)) as UpstreamResponse | null
          if (final?.object !== 'response')
            throw ApiError.badGateway(
              `upstream answered with ${type || 'no content type'} instead of an event stream`,
              'upstream_bad_response',
            )
          return eventsFromFinalResponse(final, fix)
        }
        if (!res.body) throw emptyAnswer()
        return res.body
      }
      return translatedBatches<UpstreamEvent | DeltaRun, O>(open, sse, (msg, batch) => fix.acceptInto(upstreamEvent(msg), batch), {
        // Deltas taken as bytes only where deltas are expected: a whole answer has none, and its splice (a matcher and
        // its closures) was made for nothing on every JSON turn. An upstream that streams anyway is read plainly.
        splice: whole ? undefined : deltasAsBytes(fix),
        end: () => fix.end(),
        step,
      })
    },
  }
}

/** One SSE message of the upstream as the event it says it is. */
function upstreamEvent(msg: SseMessage): VllmEvent {
  let data: unknown
  try {
    data = JSON.parse(msg.data)
  } catch {
    throw ApiError.badGateway('upstream sent an event that is not valid JSON', 'upstream_bad_response')
  }
  if (typeof data !== 'object' || data === null)
    throw ApiError.badGateway('upstream sent an event that is not an object', 'upstream_bad_response')
  if (!('type' in data) || typeof data.type !== 'string') Object.assign(data, { type: msg.event ?? 'message' })
  // Where the upstream's events enter untyped: an object with a `type` is taken as the event it names (checking each
  // one would cost every event; the engine reads their fields defensively). One of a type we do not list passes
  // through the engine with the gateway's numbering only (engine/normalise.ts).
  return data as VllmEvent
}

/**
 * Text deltas of the plain shape (delta-run.ts matchDelta) taken as bytes: a delta that continues the run ending the
 * batch (same chunk, same item and part, nothing held by the fixer in between) joins it, any other starts a run, which
 * goes through the fixer as the event it stands for would.
 */
function deltasAsBytes(fix: ResponsesStreamFixer): Splice<UpstreamEvent | DeltaRun> {
  const matcher = new DeltaMatcher()
  const m = matcher.found
  const push = (b: Uint8Array, batch: (UpstreamEvent | DeltaRun)[]) => {
    const last = batch[batch.length - 1]
    if (
      last?.type === DELTA_RUN &&
      last.bytes === b &&
      !fix.holding &&
      last.item_id === m.itemId &&
      last.output_index === m.output_index &&
      last.content_index === m.content_index
    ) {
      last.spans.push(m.start, m.end)
      return
    }
    const run: DeltaRun = {
      type: DELTA_RUN,
      sequence_number: -1,
      item_id: m.itemId,
      output_index: m.output_index,
      content_index: m.content_index,
      bytes: b,
      spans: [m.start, m.end],
      texts: null,
    }
    fix.acceptInto(run, batch)
  }
  return {
    take(b, start, end, batch, msgStart, msgEnd) {
      if (!matcher.matchAt(b, start, end, msgStart, msgEnd)) return false
      push(b, batch)
      return true
    },
    takeAt(b, pos, batch, maxBytes) {
      const next = matcher.matchMessage(b, pos, maxBytes)
      if (next >= 0) push(b, batch)
      return next
    },
  }
}

/**
 * The events a streaming upstream would have sent for a final response object (its items whole, no deltas), as the
 * fixer passes them: added to one list (no generator, nor an array per event, on every JSON turn).
 */
function eventsFromFinalResponse(final: UpstreamResponse, fix: ResponsesStreamFixer): UpstreamEvent[] {
  // the fixer's batch type; it adds no run of deltas to a list it is given no run for
  const events: (UpstreamEvent | DeltaRun)[] = []
  const output: UpstreamItem[] = Array.isArray(final.output) ? final.output : []
  for (let i = 0; i < output.length; i++) {
    fix.acceptInto({ type: 'response.output_item.added', output_index: i, item: output[i] }, events)
    fix.acceptInto({ type: 'response.output_item.done', output_index: i, item: output[i] }, events)
  }
  const status =
    final.status === 'incomplete' ? 'response.incomplete' : final.status === 'failed' ? 'response.failed' : 'response.completed'
  fix.acceptInto({ type: status, response: final }, events)
  for (const ev of fix.end()) events.push(ev)
  return events as UpstreamEvent[]
}
