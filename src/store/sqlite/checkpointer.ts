// WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside an ordinary COMMIT on
// the serving thread, and its fsyncs stalled the event loop for 15–20 ms about once a second under load
// (bench/README.md). Here a worker with its own connection checkpoints on a timer, and the serving
// connection's automatic checkpoint is switched off only once that worker is up. The worker (a second
// JavaScript VM: about 5 MiB and a few ms) starts when the write load needs it, not when the store opens.
import type { Database } from 'bun:sqlite'
import { statSync } from 'node:fs'

const INTERVAL_MS = 500
/** The WAL file is cut back to this after a checkpoint has reset it, so a burst leaves no huge file. */
const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024

// A blob worker: no extra entry point to carry into the compiled binary. PASSIVE never waits for
// readers or writers, so the worker never blocks the serving connection either.
const WORKER_SOURCE = `
import { Database } from 'bun:sqlite'
let db = null
let timer = null
self.onmessage = (e) => {
  const m = e.data
  if (m.type === 'start') {
    db = new Database(m.path)
    db.exec('PRAGMA busy_timeout = 5000')
    timer = setInterval(() => { try { db.exec('PRAGMA wal_checkpoint(PASSIVE)') } catch {} }, m.intervalMs)
    postMessage({ type: 'started' })
  } else if (m.type === 'stop') {
    clearInterval(timer)
    try { db?.close() } catch {}
    postMessage({ type: 'stopped' })
  }
}
`

export interface Checkpointer {
  stop(): Promise<void>
}

/**
 * SQLite's own checkpoint runs once the WAL holds 1000 pages (4 MiB at the default page size); the worker starts when
 * the WAL passes a quarter of that, so it has taken over well before the serving thread would checkpoint.
 */
const START_AT_WAL_BYTES = 1024 * 1024
/** How often the WAL's size is looked at (one stat) until the worker runs. */
const WATCH_MS = 250

export interface WalWatch extends Checkpointer {
  /** whether the checkpoint worker runs (the serving connection's automatic checkpoint is then off) */
  readonly workerRunning: boolean
}

/**
 * Starts the checkpoint worker once the WAL of `path` grows past `startAtBytes` (looked at every `everyMs`): a
 * gateway that writes little never pays for the thread, and until it runs SQLite checkpoints by itself as usual.
 * The WAL file keeps its size after a checkpoint resets it, so its size is the most it has held since it was made.
 */
export function checkpointWhenWalGrows(
  path: string,
  serving: Database,
  { startAtBytes = START_AT_WAL_BYTES, everyMs = WATCH_MS }: { startAtBytes?: number; everyMs?: number } = {},
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
  const timer = setInterval(() => {
    if (walBytes() < startAtBytes) return
    clearInterval(timer)
    starting = startCheckpointer(path, serving).then(
      (cp) => {
        worker = cp
      },
      // not started: SQLite goes on checkpointing by itself
      () => {},
    )
  }, everyMs)
  // The watch must not keep the process alive.
  timer.unref()
  return {
    get workerRunning() {
      return worker !== null && !stopped
    },
    async stop() {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      // a worker still starting is stopped once it is up
      await starting
      await worker?.stop()
    },
  }
}

/** Starts the checkpoint worker for a WAL database file; null (automatic checkpoints stay on) if it cannot. */
export async function startCheckpointer(path: string, serving: Database): Promise<Checkpointer | null> {
  let worker: Worker
  try {
    worker = new Worker(URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'application/javascript' })))
  } catch {
    return null
  }
  const reply = (type: string, ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      worker.addEventListener('message', function on(e: MessageEvent) {
        if (e.data?.type !== type) return
        clearTimeout(timer)
        worker.removeEventListener('message', on)
        resolve(true)
      })
    })
  const started = reply('started', 5000)
  worker.postMessage({ type: 'start', path, intervalMs: INTERVAL_MS })
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
