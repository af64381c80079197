// Turn ends the store could not take because its storage failed (disk full, I/O error, database unreachable): each
// is written again, with backoff, as soon as the store takes writes — the one place such a write is retried. The
// retries are bounded; a response whose end never got through stays queued/in_progress with a lease that is no
// longer renewed, so the recovery sweep (engine/background.ts, or the next start-up if this process dies) marks it
// failed. Until then, followers of the response's event log in this process read its unwritten last events here.
import type { Logger } from '../log'
import { StoreUnavailableError } from '../store/errors'
import { fromStoredRuns } from '../store/event-runs'
import type { EventBody } from '../store/types'

/** First wait before writing again, doubled after each failure… */
const FIRST_RETRY_MS = 100
/** …up to this, so a freed disk is noticed within a couple of seconds… */
const MAX_RETRY_MS = 2_000
/** …for this long; by then the lease has long expired and recovery takes over. */
const GIVE_UP_AFTER_MS = 5 * 60_000

export class UnstoredEnds {
  private readonly waiting = new Map<string, EventBody[]>()

  constructor(
    private readonly logger: Logger,
    private readonly timing = { firstMs: FIRST_RETRY_MS, maxMs: MAX_RETRY_MS, giveUpAfterMs: GIVE_UP_AFTER_MS },
  ) {}

  /**
   * Retries `write` (the end of response `id`, with its unwritten last `events`, as the rows that store them: runs of
   * deltas included, store/event-runs.ts) until the store takes it.
   */
  retry(id: string, events: EventBody[], write: () => Promise<unknown>): void {
    this.waiting.set(id, events)
    const giveUpAt = Date.now() + this.timing.giveUpAfterMs
    const attempt = (delay: number) => {
      const timer = setTimeout(() => {
        write().then(
          () => {
            this.waiting.delete(id)
            this.logger.info('stored the end of a response once the storage took writes again', { response_id: id })
          },
          (e) => {
            if (e instanceof StoreUnavailableError && Date.now() + delay < giveUpAt) return attempt(Math.min(delay * 2, this.timing.maxMs))
            this.waiting.delete(id)
            this.logger.error('gave up storing the end of a response; recovery will mark it failed', {
              response_id: id,
              err: String((e as Error)?.message ?? e),
            })
          },
        )
      }, delay)
      // Pending retries never keep the process alive: if it stops, recovery at the next start-up ends the response.
      timer.unref?.()
    }
    attempt(this.timing.firstMs)
  }

  /** The unwritten events after `afterSeq` of a response whose end waits here; null when none does. */
  eventsAfter(id: string, afterSeq: number): EventBody[] | null {
    const rows = this.waiting.get(id)
    // a run's row is numbered by its last event: kept when any of its events is after afterSeq, then cut to those
    return rows
      ? fromStoredRuns(
          rows.filter((e) => e.sequence_number > afterSeq),
          afterSeq,
        )
      : null
  }
}
