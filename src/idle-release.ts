// Gives memory back once the gateway goes idle: after its start and after traffic, when nothing has been in flight and
// no request has come for --idle-release-ms, one full garbage collection and JavaScriptCore's compiled code dropped, once.
//
// Why: JavaScriptCore collects when the program allocates, so a gateway that stops getting requests keeps whatever
// garbage its last burst left (110–130 MiB resident after a 10 s load, 85 MiB after one full collection), and the code
// the JIT compiled for that burst (its machine code, the bytecode it was linked from, the compilers' own data: about
// 10 MiB after a first 100 requests). Neither is given back by Bun on its own. The cost is paid by the next burst,
// which runs its first requests in the interpreter and compiles again (about 0.1 s of CPU over its first few hundred
// requests), so a release happens at most once per MIN_INTERVAL_MS, and never while anything is in flight.
// The start leaves garbage too (migrations, configuration, the catalog, the upstream probe: about 1.3 MiB resident of
// a 50 MiB start), and a gateway often waits a while for its first client: what the start left is given back the same
// way, once. That release does not count towards MIN_INTERVAL_MS: the interval is there for traffic with pauses, and
// must not hold back the release after a first burst that comes right after the start.

/** At most one release this often: traffic with pauses just over --idle-release-ms recompiles rarely. */
export const MIN_INTERVAL_MS = 30_000

/**
 * What a release does. Bun.gc(true) is a full collection, synchronous, which also has mimalloc (Bun's allocator for
 * what is outside the JavaScript heap) give its free pages back; Bun.shrink() has JavaScriptCore drop its compiled
 * code, collect again and return the free pages of its own heap, when the current callback has returned.
 */
export function releaseMemory(): void {
  Bun.gc(true)
  // Deprecated in bun-types only as an API for apps at large; it is the one call that reaches
  // VM::shrinkFootprintWhenIdle (what Bun itself does on memory pressure).
  Bun.shrink()
}

export interface IdleReleaseOptions {
  /** ms with no new request and nothing in flight before the release; 0: never release */
  afterMs: number
  /** whether anything is in flight (requests being answered, turns running, streams open) */
  busy: () => boolean
  /**
   * What is given back first, before the release (the store's caches): what it frees must be free when the full
   * collection runs, which has the allocator give free pages back at once (allocator-env.ts). The release waits for it,
   * and is left out if traffic came meanwhile (a request must not wait for a full collection; the next idle spell gives
   * the rest back).
   */
  before?: () => Promise<void>
  /** the process-wide release (default: releaseMemory) */
  release?: () => void
  /** at most one release per this many ms (default MIN_INTERVAL_MS) */
  minIntervalMs?: number
  /** called after each release with how long it took (`before` included) and what it followed */
  onRelease?: (ms: number, after: 'start' | 'traffic') => void
}

export interface IdleRelease {
  /** The gateway has started: what the start left is given back after `afterMs` with no request (see the top). */
  started(): void
  /** A request (or a WebSocket message) has come: the idle time starts again, and a release is due after it. */
  touch(): void
  /** No more releases (the gateway stops). */
  stop(): void
}

/**
 * Watches for the gateway going idle. A request arms it; a timer then checks, every `afterMs` while there is traffic,
 * whether `afterMs` have passed since the last request with nothing in flight. Work seen in flight counts as activity
 * at that check, so a release comes between `afterMs` and twice that after the last of it ends. After a release it
 * waits for the next request: an idle gateway releases once, not every `afterMs`.
 */
export function watchIdle(opts: IdleReleaseOptions): IdleRelease {
  const { afterMs, busy, before, release = releaseMemory, minIntervalMs = MIN_INTERVAL_MS, onRelease } = opts
  let lastActivity = 0
  let lastRelease = Number.NEGATIVE_INFINITY
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false
  /** the release due follows the start, no request since */
  let afterStart = false

  const arm = (ms: number) => {
    timer = setTimeout(check, ms)
    // The watch must not keep the process alive.
    timer.unref()
  }
  const check = () => {
    timer = null
    if (stopped) return
    const now = performance.now()
    if (busy()) lastActivity = now
    const wait = Math.max(lastActivity + afterMs, afterStart ? 0 : lastRelease + minIntervalMs) - now
    if (wait > 0) return arm(wait)
    const after = afterStart ? 'start' : 'traffic'
    if (!afterStart) lastRelease = now
    afterStart = false
    const done = () => onRelease?.(performance.now() - now, after)
    if (!before) {
      release()
      return done()
    }
    before().then(() => {
      if (!stopped && lastActivity <= now && !busy()) release()
      done()
    })
  }
  const activity = () => {
    lastActivity = performance.now()
    if (timer === null && afterMs > 0 && !stopped) arm(afterMs)
  }

  return {
    started() {
      afterStart = true
      activity()
    },
    touch() {
      // On every request: a clock read, and a timer only when none is pending.
      afterStart = false
      activity()
    },
    stop() {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      timer = null
    },
  }
}
