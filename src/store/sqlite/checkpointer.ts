// WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside an ordinary COMMIT on
// the serving thread, and its fsyncs stalled the event loop for 15–20 ms about once a second under load
// (bench/README.md). Here a worker with its own connection checkpoints on a timer, and the serving
// connection's automatic checkpoint is switched off only once that worker is up. The worker (a second
// JavaScript VM: about 5 MiB and a few ms) starts when the write load needs it, not when the store opens, and stops
// when the gateway goes idle (WalWatch.idle).
// Under writes that never pause, a passive checkpoint never catches up with the WAL (new commits land while it copies),
// so SQLite never restarts the WAL and it grows without end (570 MiB after 14 s of the bench's JSON turns): once it passes
// JOURNAL_SIZE_LIMIT the worker restarts it (RESTART_AT_BYTES below).
import type { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'

const INTERVAL_MS = 500
/** The WAL file is cut back to this after a checkpoint has reset it, so a burst leaves no huge file. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
/**
 * A WAL file larger than this is restarted by the worker: after its passive checkpoint (and a second one, for what was
 * committed during the first), a RESTART checkpoint that waits for no one (busy_timeout 0) — it copies the few frames
 * committed meanwhile, then the serving connection's next write starts the WAL from its beginning again (and cuts the
 * file to JOURNAL_SIZE_LIMIT). It needs the write lock:
 * when the serving connection (or another process) holds it, the worker gives up at once and tries at its next turn.
 * The serving connection waits for the worker only when a commit comes while the worker copies those few frames.
 * A restarted WAL is rewritten in place, not extended (in the store alone a JSON turn's write cost 23–25 µs of the
 * serving thread against 27–28 µs into a WAL grown to 1 GiB; in whole-gateway runs the difference is within noise).
 */
const RESTART_AT_BYTES = JOURNAL_SIZE_LIMIT

// A blob worker: no extra entry point to carry into the compiled binary. PASSIVE never waits for
// readers or writers, so the worker never blocks the serving connection either; the restart past RESTART_AT_BYTES
// waits for no one, and holds the write lock only while it copies what was committed since its passive passes.
const WORKER_SOURCE = `
import { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'
let db = null
let timer = null
const walBytes = (path) => {
  try { return statSync(path + '-wal').size } catch { return 0 }
}
self.onmessage = (e) => {
  const m = e.data
  if (m.type === 'start') {
    db = new Database(m.path)
    db.exec('PRAGMA busy_timeout = 5000')
    timer = setInterval(() => {
      try { db.exec('PRAGMA wal_checkpoint(PASSIVE)') } catch {}
      if (walBytes(m.path) <= m.restartAtBytes) return
      try {
        // A second passive pass first: it copies what was committed during the first (without the lock), so the
        // restart finds next to nothing left to copy and sync while it holds the write lock.
        db.exec('PRAGMA wal_checkpoint(PASSIVE)')
        db.exec('PRAGMA busy_timeout = 0')
        db.query('PRAGMA wal_checkpoint(RESTART)').get()
      } catch {}
      try { db.exec('PRAGMA busy_timeout = 5000') } catch {}
    }, m.intervalMs)
    postMessage({ type: 'started' })
  } else if (m.type === 'truncate') {
    // The WAL checkpointed whole and cut to 0 bytes, if no reader or writer (another process) is in the way now:
    // idle is no reason to wait for one.
    let truncated = false
    try {
      db.exec('PRAGMA busy_timeout = 0')
      truncated = db.query('PRAGMA wal_checkpoint(TRUNCATE)').get().busy === 0
    } catch {}
    try { db.exec('PRAGMA busy_timeout = 5000') } catch {}
    postMessage({ type: 'truncated', truncated })
  } else if (m.type === 'stop') {
    clearInterval(timer)
    try { db?.close() } catch {}
    postMessage({ type: 'stopped' })
  }
}
`

export interface Checkpointer {
  /** Checkpoints the whole WAL and cuts it to 0 bytes; false when it could not (a reader or writer was in the way). */
  truncate(): Promise<boolean>
  stop(): Promise<void>
}

/**
 * SQLite's own checkpoint runs once the WAL holds 1000 pages (4 MiB at the default page size); the worker starts when
 * the WAL passes a quarter of that, so it has taken over well before the serving thread would checkpoint.
 */
const START_AT_WAL_BYTES = 1024 * 1024
/** How often the WAL's size is looked at (one stat) until the worker runs. */
const WATCH_MS = 250

export interface WalWatch {
  /** whether the checkpoint worker runs (the serving connection's automatic checkpoint is then off) */
  readonly workerRunning: boolean
  /**
   * The gateway has gone idle: the worker (a thread and a JavaScript VM) stops once the WAL is checkpointed and cut to
   * 0 bytes, and the watch starts it again when the WAL grows again. Kept running when the WAL cannot be cut.
   */
  idle(): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts the checkpoint worker once the WAL of `path` grows past `startAtBytes` (looked at every `everyMs`): a
 * gateway that writes little never pays for the thread, and until it runs SQLite checkpoints by itself as usual.
 * The WAL file keeps its size after a checkpoint resets it, so its size is the most it has held since it was made.
 */
export function checkpointWhenWalGrows(
  path: string,
  serving: Database,
  { startAtBytes = START_AT_WAL_BYTES, everyMs = WATCH_MS, ...timing }: { startAtBytes?: number; everyMs?: number } & WorkerOptions = {},
): WalWatch {
  let worker: Checkpointer | null = null
  let starting: Promise<void> | null = null
  let stopped = false
  const walBytes = () => {
    try {
      return statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0
    } catch {
      return 0
    }
  }
  let timer: ReturnType<typeof setInterval> | null = null
  const watch = () => {
    timer = setInterval(() => {
      if (walBytes() < startAtBytes) return
      clearInterval(timer!)
      timer = null
      starting = startCheckpointer(path, serving, timing).then(
        (cp) => {
          worker = cp
          starting = null
        },
        // not started: SQLite goes on checkpointing by itself
        () => {
          starting = null
        },
      )
    }, everyMs)
    // The watch must not keep the process alive.
    timer.unref()
  }
  watch()
  return {
    get workerRunning() {
      return worker !== null && !stopped
    },
    async idle() {
      const running = worker
      if (stopped || starting || !running) return
      // Cut to 0 bytes, the WAL's size tells the watch again when writes come back.
      if (!(await running.truncate()) || stopped || worker !== running) return
      worker = null
      await running.stop()
      if (!stopped) watch()
    },
    async stop() {
      if (stopped) return
      stopped = true
      if (timer) clearInterval(timer)
      // a worker still starting is stopped once it is up
      await starting
      await worker?.stop()
    },
  }
}

/** The worker's timing (tests make it quicker): its checkpoint every `intervalMs`, a restart past `restartAtBytes`. */
export interface WorkerOptions {
  intervalMs?: number
  restartAtBytes?: number
}

/** Starts the checkpoint worker for a WAL database file; null (automatic checkpoints stay on) if it cannot. */
export async function startCheckpointer(
  path: string,
  serving: Database,
  { intervalMs = INTERVAL_MS, restartAtBytes = RESTART_AT_BYTES }: WorkerOptions = {},
): Promise<Checkpointer | null> {
  let worker: Worker
  try {
    worker = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'application/javascript' })))
  } catch {
    return null
  }
  /** The worker's reply of this type (its data), or null when none came within `ms`. */
  const reply = (type: string, ms: number) =>
    new Promise<Record<string, unknown> | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), ms)
      worker.addEventListener('message', function on(e: MessageEvent) {
        if (e.data?.type !== type) return
        clearTimeout(timer)
        worker.removeEventListener('message', on)
        resolve(e.data)
      })
    })
  const started = reply('started', 5000)
  worker.postMessage({ type: 'start', path, intervalMs, restartAtBytes })
  if (!(await started)) {
    worker.terminate()
    return null
  }
  // The worker must not keep the process alive; if it dies, SQLite checkpoints by itself again.
  worker.unref()
  worker.addEventListener('error', () => serving.exec('PRAGMA wal_autocheckpoint = 1000'))
  serving.exec('PRAGMA wal_autocheckpoint = 0')
  serving.exec(`PRAGMA journal_size_limit = ${JOURNAL_SIZE_LIMIT}`)
  return {
    async truncate() {
      const truncated = reply('truncated', 10_000)
      worker.postMessage({ type: 'truncate' })
      return (await truncated)?.truncated === true
    },
    async stop() {
      const stopped = reply('stopped', 2000)
      worker.postMessage({ type: 'stop' })
      await stopped
      worker.terminate()
      // Closing the serving connection (the last one) checkpoints whatever is left.
      serving.exec('PRAGMA wal_autocheckpoint = 1000')
    },
  }
}
