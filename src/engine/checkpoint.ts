// The store side of a running stored turn: its event log written in order and promptly (batched, at most about
// 100 ms behind, so a follower in any process sees events soon), its lease renewed, and for a background turn
// progress snapshots plus a watch for a cancel made by any process sharing the store. All of a turn's writes go
// through one queue, one at a time, so a follower reading the log never sees event N+1 before event N.
// The running turns of a process share one clock: their periodic writes are issued in the same turn of the event
// loop, where the SQLite store commits them together, up to 64 a transaction so the loop is held ~1 ms at a time
// (store/sqlite/group-commit.ts). Each turn on a clock of its own made 500 streams 5,000 commits a second; on one
// clock they are about ten a second per 64 streams.
// When the storage fails (StoreUnavailableError) the turn is told once and the events not written stay pending, in
// order, for its final write.
import type { Logger } from '../log'
import type { ResponseEvent } from '../schema/events'
import type { ResponseObjectT } from '../schema/responses'
import { StoreUnavailableError } from '../store/errors'
import { EventRuns } from '../store/event-runs'
import { DELTA_RUN, type DeltaRun, runEvent, runJson, runLength, runTexts } from '../upstream/delta-run'
import type { EventBody, ItemBody, ResponseStatus, Store } from '../store/types'
import { LEASE_RENEW_MS, newLease } from './lease'

/**
 * Events written per batch at most… (a write's commit is what costs, not its rows: a run of deltas is one row,
 * store/event-runs.ts; the clock below is what keeps followers close)
 */
export const EVENT_BATCH = 1024
/**
 * …and how often a running turn looks at the store: the events not yet written (never held back longer than this,
 * so followers of the log stay close behind), lease, snapshot, cancel.
 */
const TICK_MS = 100
/** A background turn's progress snapshot (GET /v1/responses/{id} while it runs) is at most this old. */
const SNAPSHOT_MS = 1_000

/** The clock of the running turns (see the top): one timer for all of them, running while any turn is. */
const ticking = new Set<TurnCheckpoint>()
let clock: ReturnType<typeof setInterval> | null = null

function join(cp: TurnCheckpoint): void {
  ticking.add(cp)
  clock ??= setInterval(() => {
    for (const t of ticking) void t.tick()
  }, TICK_MS)
}

function leave(cp: TurnCheckpoint): void {
  ticking.delete(cp)
  if (ticking.size === 0 && clock) {
    clearInterval(clock)
    clock = null
  }
}

export interface CheckpointOptions {
  store: Store
  logger: Logger
  tenant: string
  id: string
  owner: string
  /** false: the turn keeps nothing here, every method is a no-op (but see atEnd) */
  stored: boolean
  recordEvents: boolean
  /** a turn stored whole at its end (turn-start.ts): its events are only kept, for that write (stop()) */
  atEnd?: boolean
  /** the log was begun with the response's row (turn-start.ts): that counts as its first write */
  logStarted?: boolean
  background: boolean
  /** the response as it stands (status in_progress, output so far) and a counter that moves when it changes */
  progress(): { version: number; response: ResponseObjectT; output: ItemBody[] }
  /** a background turn's stored response stopped running (cancelled, failed by recovery, deleted): stop the turn */
  onStopped(status: ResponseStatus | null): void
  /** a write failed because the storage is failing (disk full, I/O error, database unreachable): end the turn */
  onStoreFailure(e: StoreUnavailableError): void
}

/** What a run's delta events have in common but their type (upstream/delta-run.ts runEvent): its item and part. */
interface DeltaShape {
  item_id: string
  output_index: number
  content_index: number
}

export class TurnCheckpoint {
  /** the events not written yet, as the rows that store them (a delta folded into its run as it comes) */
  private pending = new EventRuns<EventBody>()
  /** the item and part of the last run of deltas recorded (shapeOf) */
  private shape: DeltaShape | null = null
  private queue: Promise<unknown> = Promise.resolve()
  /** the log has had a first write (or was begun with the response's row) */
  private written: boolean
  private lastRenew = Date.now()
  private lastSnapshot = 0
  private snapshotVersion = -1
  private started = false
  private ticking = false
  private stopNotified = false
  private storeFailed = false

  constructor(private readonly o: CheckpointOptions) {
    this.written = o.logStarted === true
  }

  /** Keeps an event for the log (when the turn records one). */
  record(e: ResponseEvent | DeltaRun): void {
    if (!(this.o.stored || this.o.atEnd) || !this.o.recordEvents) return
    if (e.type !== DELTA_RUN) this.pending.push(e as ResponseEvent)
    else {
      // a run of text deltas: kept as the rows its events would make, its deltas as the JSON they are stored as (no
      // string per delta decoded, none serialised again); a token (a run of one) that goes on the run before it is its
      // text alone (EventRuns.appendText)
      const run = e as DeltaRun
      const n = runLength(run)
      const shape = this.shapeOf(run)
      if (n === 1 && this.pending.appendText(shape, run.sequence_number, runTexts(run)[0]!)) return
      this.pending.pushRun(runEvent(run, 0), n === 1 ? '' : runJson(run), n, shape)
    }
  }

  /** The template of a run's delta events: one object for the runs of one item and part in a row (EventRuns.appendText). */
  private shapeOf(run: DeltaRun): DeltaShape {
    const s = this.shape
    if (s !== null && s.item_id === run.item_id && s.output_index === run.output_index && s.content_index === run.content_index) return s
    this.shape = { item_id: run.item_id, output_index: run.output_index, content_index: run.content_index }
    return this.shape
  }

  /**
   * After each event: writes the log when the batch is full, or when nothing was written yet (a follower finds the
   * log as soon as the turn runs); otherwise the clock writes it. Nothing to wait for (most events) is undefined, not
   * a promise: this runs for every event of every stream.
   */
  afterEvent(): Promise<void> | undefined {
    if (!this.o.stored) return undefined
    if (this.pending.length >= EVENT_BATCH || (this.pending.length > 0 && !this.written))
      return this.serial(() => this.flush()).catch((e) => this.storageFailure(e))
    return undefined
  }

  /** A background turn leaves the queue: status in_progress. Returns the status it has now (cancelled meanwhile?). */
  async markInProgress(response: ResponseObjectT): Promise<ResponseStatus | null> {
    if (!this.o.stored) return 'in_progress'
    return this.serial(() =>
      this.o.store.checkpointResponse(this.o.tenant, this.o.id, { progress: { status: 'in_progress', response, outputItems: [] } }),
    ).catch((e) => {
      this.storageFailure(e)
      return null
    })
  }

  start(): void {
    if (!this.o.stored || this.started) return
    this.started = true
    join(this)
  }

  /**
   * Leaves the clock, waits for writes in flight and hands back the events not yet written (for the final write), as
   * the rows that store them (store/event-runs.ts: fromStoredRuns reads them as events).
   */
  async stop(): Promise<EventBody[]> {
    leave(this)
    await this.queue
    return this.pending.take()
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn)
    this.queue = run.catch(() => {})
    return run
  }

  private async flush(): Promise<void> {
    const events = this.pending.length
    const batch = this.pending.take()
    this.written = true
    if (!batch.length) return
    try {
      await this.o.store.appendEvents(this.o.id, batch)
    } catch (e) {
      // Not written because the storage failed: kept, ahead of the newer ones, for the next write (at the latest the
      // turn's last), so the log has no gap once the storage is back.
      if (e instanceof StoreUnavailableError) this.pending.putBack(batch, events)
      throw e
    }
  }

  /** A storage failure ends the turn (told once); any other error is thrown on. */
  private storageFailure(e: unknown): void {
    if (!(e instanceof StoreUnavailableError)) throw e
    if (this.storeFailed) return
    this.storeFailed = true
    this.o.logger.error('the storage failed under a running turn; it ends as failed', { response_id: this.o.id, reason: e.reason })
    this.o.onStoreFailure(e)
  }

  /** On the clock (every TICK_MS): the events since the last write, the lease, a snapshot, a cancel. */
  async tick(): Promise<void> {
    if (this.ticking) return
    this.ticking = true
    try {
      await this.serial(async () => {
        if (this.pending.length) await this.flush()
        const now = Date.now()
        const renew = now - this.lastRenew >= LEASE_RENEW_MS
        let progress: { status: ResponseStatus; response: ResponseObjectT; outputItems: ItemBody[] } | undefined
        if (this.o.background && now - this.lastSnapshot >= SNAPSHOT_MS) {
          this.lastSnapshot = now
          const p = this.o.progress()
          if (p.version !== this.snapshotVersion) {
            this.snapshotVersion = p.version
            progress = { status: 'in_progress', response: p.response, outputItems: p.output }
          }
        }
        // A foreground turn only renews its lease; a background one also looks for a cancel on every tick.
        if (!renew && !progress && !this.o.background) return
        const status = await this.o.store.checkpointResponse(this.o.tenant, this.o.id, {
          lease: renew ? newLease(this.o.owner, now) : undefined,
          progress,
        })
        if (renew) this.lastRenew = now
        if (this.o.background && status !== 'queued' && status !== 'in_progress' && !this.stopNotified) {
          this.stopNotified = true
          this.o.onStopped(status)
        }
      })
    } catch (e) {
      if (e instanceof StoreUnavailableError) this.storageFailure(e)
      else this.o.logger.warn('could not checkpoint a running turn', { response_id: this.o.id, err: String((e as Error)?.message ?? e) })
    } finally {
      this.ticking = false
    }
  }
}
