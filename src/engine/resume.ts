// Following a response's stored event log: what GET /v1/responses/{id}?stream=true serves, and where a slow reader
// of a background stream continues. It reads the store (not an in-process bus), so it works whichever process runs
// the turn; the engine writes the log in order and at most ~100 ms behind (engine/checkpoint.ts).
import type { ResponseEvent } from '../schema/events'
import type { ResponseStatus, Store } from '../store/types'
import type { UnstoredEnds } from './unstored'

const TERMINAL = new Set<ResponseStatus>(['completed', 'failed', 'incomplete', 'cancelled'])
const FOLLOW_POLL_MS = 50

/**
 * Stored events with sequence_number > `afterSeq`, then new ones as they are stored, until the response has ended
 * (or nothing new came for `idleMs`). Each event exactly once, in order: the end of a turn is stored with its last
 * events in one transaction, so once the status is terminal one more read has everything. A turn of this process
 * whose end the failing storage could not take yet (`unstored`) ends the stream with its last events from there.
 */
export async function* followEvents(
  store: Store,
  tenant: string,
  id: string,
  afterSeq: number,
  idleMs: number,
  unstored?: UnstoredEnds,
): AsyncGenerator<ResponseEvent> {
  let last = afterSeq
  let idleSince = Date.now()
  const drain = async function* () {
    const events = await store.listEvents(id, last)
    for (const e of events) {
      last = e.sequence_number
      yield e
    }
    if (events.length) idleSince = Date.now()
  }
  for (;;) {
    yield* drain()
    const rec = await store.getResponse(tenant, id)
    if (!rec) return
    if (TERMINAL.has(rec.status)) {
      // Events stored between our read and the status check.
      yield* drain()
      return
    }
    const tail = unstored?.eventsAfter(id, last)
    if (tail) {
      yield* tail
      return
    }
    if (Date.now() - idleSince > idleMs) return
    await Bun.sleep(FOLLOW_POLL_MS)
  }
}
