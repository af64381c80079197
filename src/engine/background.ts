// Background turns (background:true): the engine's turn, consumed here detached from the request that created it,
// so the client may go away and the turn goes on. Its events are stored as it runs (resume: GET …?stream=true);
// a cancel from any process sharing the store reaches it through the engine's checkpoint, one from this process at
// once through its abort signal. Also the recovery sweep that ends turns whose process died.
import type { Logger } from '../log'
import type { GatewayMetrics } from '../metrics'
import type { ResponseEvent } from '../schema/events'
import type { Store } from '../store/types'
import { ownerIsAlive } from './lease'
import type { UnstoredEnds } from './unstored'
import { followEvents } from './resume'
import { TurnStop, type Turn } from './turn'
import { spelledOut } from '../upstream/delta-run'

/** The error a turn gets when its process died (or the gateway stopped) while it ran. */
export const INTERRUPTED_MESSAGE = 'The gateway stopped while this response was running.'

/** Events a live reader of a background stream may fall behind before it continues from the store instead. */
const LIVE_BUFFER = 1024
/** How long a cancel waits for a turn running here to store its end, so the answer shows it. */
const CANCEL_WAIT_MS = 5_000
/** How long a shutdown waits for the turns it stopped to be stored as failed. */
const SHUTDOWN_WAIT_MS = 5_000
/** How often the recovery sweep looks for turns whose process died. */
const SWEEP_MS = 15_000

export interface BackgroundRunner {
  /**
   * Runs the turn detached. With `attach`, also returns its events for the creating request to stream: live while
   * the reader keeps up, from the store once it falls behind (the runner never buffers without bound, and a slow
   * reader never slows the turn). Ending that iteration detaches the reader; the turn runs on.
   */
  run(
    turn: Turn,
    abort: AbortController,
    attach?: { tenant: string; idleMs: number; unstored?: UnstoredEnds },
  ): AsyncGenerator<ResponseEvent> | null
  /** Cancels a turn running in this process and waits (bounded) until its end is stored. false: not running here. */
  cancel(id: string): Promise<boolean>
  /** Stops every turn running here (they are stored as failed) and waits (bounded) for them. */
  shutdown(): Promise<void>
  /** ids of the turns running in this process */
  running(): string[]
}

export function createBackgroundRunner(deps: { store: Store; logger: Logger; metrics?: GatewayMetrics }): BackgroundRunner {
  const { store, logger, metrics } = deps
  const running = new Map<string, { abort: AbortController; done: Promise<void> }>()

  return {
    run(turn, abort, attach) {
      const feed = attach
        ? new LiveFeed((after) => followEvents(store, attach.tenant, turn.id, after, attach.idleMs, attach.unstored))
        : null
      const done = (async () => {
        // agentgate_background_turns: queued until the turn leaves the queue (response.in_progress), then running.
        let state = metrics?.backgroundQueued
        state?.inc()
        try {
          for await (const batch of turn.batches()) {
            if (metrics && state === metrics.backgroundQueued && batch.some((e) => e.type === 'response.in_progress')) {
              state.dec()
              ;(state = metrics.backgroundRunning).inc()
            }
            // a run of text deltas is spelled out for a live reader only
            if (feed) for (const e of spelledOut(batch)) feed.push(e)
          }
        } catch (e) {
          logger.error('background turn failed', {
            response_id: turn.id,
            request_id: turn.requestId,
            err: String((e as Error)?.stack ?? e),
          })
        } finally {
          state?.dec()
          feed?.end()
          running.delete(turn.id)
        }
      })()
      running.set(turn.id, { abort, done })
      logger.debug('background turn started', { response_id: turn.id, request_id: turn.requestId })
      return feed ? feed.events() : null
    },

    async cancel(id) {
      const r = running.get(id)
      if (!r) return false
      r.abort.abort(new TurnStop('cancelled'))
      await Promise.race([r.done, Bun.sleep(CANCEL_WAIT_MS)])
      return true
    },

    async shutdown() {
      const all = [...running.values()]
      if (all.length === 0) return
      logger.warn('stopping background turns at shutdown', { count: all.length })
      for (const r of all) r.abort.abort(new TurnStop('shutdown'))
      await Promise.race([Promise.all(all.map((r) => r.done)), Bun.sleep(SHUTDOWN_WAIT_MS)])
    },

    running: () => [...running.keys()],
  }
}

/**
 * The live events of one background turn for one reader. Bounded: past LIVE_BUFFER unread events it drops them and
 * the reader continues from the store after the last event it got (the store has them all, in order).
 */
class LiveFeed {
  private buffer: ResponseEvent[] = []
  private wake: (() => void) | null = null
  private ended = false
  private detached = false
  private behind = false

  constructor(private readonly fromStore: (afterSeq: number) => AsyncGenerator<ResponseEvent>) {}

  push(e: ResponseEvent) {
    if (this.detached || this.behind) return
    if (this.buffer.length >= LIVE_BUFFER) {
      this.behind = true
      this.buffer = []
    } else this.buffer.push(e)
    this.wake?.()
  }

  end() {
    this.ended = true
    this.wake?.()
  }

  async *events(): AsyncGenerator<ResponseEvent> {
    let last = -1
    try {
      for (;;) {
        const next = this.buffer.shift()
        if (next) {
          last = next.sequence_number
          yield next
          continue
        }
        if (this.behind) {
          yield* this.fromStore(last)
          return
        }
        if (this.ended) return
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = null
      }
    } finally {
      this.detached = true
      this.buffer = []
    }
  }
}

/**
 * Recovery while the gateway runs: every SWEEP_MS, queued/in_progress responses whose process died (lease expired,
 * or a dead process on this host) are marked failed — whichever process notices first, so a crashed replica's
 * turns never stay in_progress forever. Start-up does the same once (src/cli.ts). Returns a stop function.
 */
export function startRecoverySweep(store: Store, logger: Logger, intervalMs = SWEEP_MS): () => void {
  const timer = setInterval(() => {
    store.failInterrupted(INTERRUPTED_MESSAGE, Date.now(), { alive: (owner) => ownerIsAlive(owner) }).then(
      (ids) => {
        if (ids.length)
          logger.warn('marked responses whose process is gone as failed', { count: ids.length, response_ids: ids.slice(0, 20) })
      },
      (e) => logger.error('recovery sweep failed', { err: String((e as Error)?.message ?? e) }),
    )
  }, intervalMs)
  return () => clearInterval(timer)
}
