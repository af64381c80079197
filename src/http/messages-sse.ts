// Delivers Messages events as Server-Sent Events (`event: <type>` + one `data:` line), with a `ping` whenever the
// model has been silent for pingMs, so clients and proxies see a live connection during long thinking or queueing.
// A failure after the stream began is reported in-band as Anthropic's `error` event.
import { toApiError } from '../errors'
import type { MessageEvent } from '../messages/events'
import { streamErrorEvent } from '../messages/errors'

const enc = new TextEncoder()
const frame = (e: { type: string }) => enc.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)

export function messagesSseResponse(
  events: AsyncIterator<MessageEvent>,
  pingMs: number,
  headers: Record<string, string>,
  open?: { inc(): void; dec(): void },
): Response {
  // The next event may take longer than one ping interval: its promise is kept across pings.
  let pending: Promise<IteratorResult<MessageEvent>> | null = null
  let ended = false
  const end = () => {
    if (!ended) open?.dec()
    ended = true
  }
  open?.inc()
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      pending ??= events.next()
      let timer: ReturnType<typeof setTimeout> | undefined
      const ping = new Promise<'ping'>((resolve) => (timer = setTimeout(() => resolve('ping'), pingMs)))
      try {
        const r = await Promise.race([pending, ping])
        if (r === 'ping') return ctl.enqueue(frame({ type: 'ping' }))
        pending = null
        if (r.done) {
          end()
          return ctl.close()
        }
        ctl.enqueue(frame(r.value))
      } catch (e) {
        const err = toApiError(e)
        ctl.enqueue(frame(streamErrorEvent(err.status, err.toJSON())))
        ctl.close()
        end()
      } finally {
        clearTimeout(timer)
      }
    },
    async cancel() {
      end()
      await events.return?.(undefined)
    },
  })
  return new Response(stream, {
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', ...headers },
  })
}
