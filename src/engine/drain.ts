// Graceful shutdown's bookkeeping: whether the gateway still starts turns, which turns are running, and the drain
// itself — wait (up to the grace period) for running turns to end on their own, then stop the rest (each ends with
// a terminal `response.failed` and is stored as failed) and wait, bounded, for them to be stored.
// The engine asks it before starting a turn and registers each turn; edges (WebSocket sessions, /ready) subscribe.
import { ApiError } from '../errors'

/** How long the turns stopped at the deadline get to store their end before the drain gives up on them. */
export const STOP_WAIT_MS = 5_000

/** The answer to a request that would start a turn while the gateway shuts down. */
export function shuttingDown(): ApiError {
  return new ApiError(
    503,
    'The gateway is shutting down and starts no new responses; retry on another instance or once it is back.',
    'server_error',
    'shutting_down',
  ).withHeaders({
    'retry-after': '1',
  })
}

export interface DrainSummary {
  /** turns running when the drain began */
  running: number
  /** of those, the ones that ended on their own within the grace period */
  finished: number
  /** the ones still running at the deadline, stopped (ended as failed) */
  stopped: number
  /** stopped turns that had not stored their end after STOP_WAIT_MS */
  unfinished: number
  /** ms from the start of the drain to its end */
  waitedMs: number
}

/** A running turn as the drain knows it: what stops it early (it ends as failed). */
interface Tracked {
  stopForShutdown(): void
}

export class Drain {
  private draining_ = false
  private readonly turns = new Set<Tracked>()
  private readonly listeners = new Set<() => void>()
  private idle: (() => void) | null = null

  get draining(): boolean {
    return this.draining_
  }

  /** Throws the 503 `shutting_down` error once the drain has begun. */
  assertAccepting(): void {
    if (this.draining_) throw shuttingDown()
  }

  /** Turns registered and not yet ended. */
  active(): number {
    return this.turns.size
  }

  /**
   * Registers a running turn, until release(turn) once it has ended (its end stored). The turn itself is the entry:
   * a closure, a promise and its resolvers per turn were garbage every turn leaves.
   */
  track(turn: Tracked): void {
    this.turns.add(turn)
  }

  /** A tracked turn has ended; releasing it again does nothing. */
  release(turn: Tracked): void {
    if (this.turns.delete(turn) && this.turns.size === 0) this.idle?.()
  }

  /** Calls `fn` when the drain begins (at once when it already has). Returns an unsubscribe function. */
  onDrain(fn: () => void): () => void {
    if (this.draining_) {
      fn()
      return () => {}
    }
    this.listeners.add(fn)
    return () => void this.listeners.delete(fn)
  }

  /** Stops accepting turns and tells the subscribers (sockets close once their turn ends, /ready answers 503). */
  begin(): void {
    if (this.draining_) return
    this.draining_ = true
    for (const fn of [...this.listeners]) {
      try {
        fn()
      } catch {
        // one subscriber's failure must not keep the others from hearing of the drain
      }
    }
    this.listeners.clear()
  }

  /** Begins (if needed), waits up to `graceMs` for the running turns, then stops the rest and waits for them. */
  async drain(graceMs: number, stopWaitMs = STOP_WAIT_MS): Promise<DrainSummary> {
    const t0 = performance.now()
    this.begin()
    const running = this.turns.size
    if (running > 0) await this.whenIdle(graceMs)
    const left = [...this.turns]
    for (const t of left) t.stopForShutdown()
    if (left.length > 0) await this.whenIdle(stopWaitMs)
    return {
      running,
      finished: running - left.length,
      stopped: left.length,
      unfinished: this.turns.size,
      waitedMs: Math.round(performance.now() - t0),
    }
  }

  private async whenIdle(ms: number): Promise<void> {
    if (this.turns.size === 0) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await new Promise<void>((resolve) => {
      this.idle = resolve
      timer = setTimeout(resolve, ms)
    })
    clearTimeout(timer)
    this.idle = null
  }
}
