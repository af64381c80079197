// Another connection to a SQLite file, on a thread of its own (as the checkpoint worker's is, or another process's),
// that takes the file's write lock and keeps it: what a store's write has to wait out (src/store/sqlite/lock-wait.ts).
import { expect } from 'bun:test'

/** Holds the write lock of the database at `path` for `ms`: resolves once it holds it; `released` once it has committed. */
export async function holdWriteLock(path: string, ms: number): Promise<{ released: Promise<void> }> {
  const source = `
    import { Database } from 'bun:sqlite'
    self.onmessage = (e) => {
      const db = new Database(e.data.path)
      db.exec('BEGIN IMMEDIATE')
      postMessage('held')
      const until = performance.now() + e.data.ms
      while (performance.now() < until) {}
      db.exec('COMMIT')
      db.close()
      postMessage('released')
    }`
  const worker = new Worker(URL.createObjectURL(new Blob([source], { type: 'application/javascript' })))
  const next = () => new Promise<string>((resolve) => worker.addEventListener('message', (e) => resolve(e.data), { once: true }))
  const held = next()
  worker.postMessage({ path, ms })
  expect(await held).toBe('held')
  return { released: next().then(() => worker.terminate()) }
}
