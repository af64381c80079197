// WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside an ordinary COMMIT on
// the serving thread, and its fsyncs stalled the event loop for 15–20 ms about once a second under load
// (bench/README.md). Here a worker with its own connection checkpoints on a timer, and the serving
// connection's automatic checkpoint is switched off only once that worker is up.
import type { Database } from 'bun:sqlite'

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
