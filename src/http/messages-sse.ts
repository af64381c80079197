// Delivers Messages events as Server-Sent Events through http/sse.ts's stream, with a `ping` whenever the model has
// been silent for pingMs, so clients and proxies see a live connection during long thinking or queueing. A failure
// after the stream began is reported in-band as Anthropic's `error` event.
import { toApiError } from '../errors'
import type { MessageEvent } from '../messages/events'
import type { HookSet } from '../metrics/http'
import { streamErrorEvent } from '../messages/errors'
import { eventStreamResponse } from './sse'

export function messagesSseResponse(
  events: AsyncIterator<MessageEvent[]>,
  pingMs: number,
  set: HookSet,
  open?: { inc(): void; dec(): void },
): Response {
  return eventStreamResponse(events, {
    set,
    open,
    pingMs,
    errorEvent(e) {
      const err = toApiError(e)
      return streamErrorEvent(err.status, err.toJSON())
    },
  })
}
