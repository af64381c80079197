// A small real filesystem (tmpfs) for disk-full tests: mounted in a fresh directory, filled to the last byte with a
// filler file, freed again. Mounting needs root (or CAP_SYS_ADMIN); smallDiskUnavailable() says why not, for a skip.
import { Database } from 'bun:sqlite'
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface SmallDisk {
  /** the mount point */
  dir: string
  /**
   * Writes a filler file until the filesystem answers ENOSPC. With `sqlite`, that database's WAL is first
   * checkpointed and cut to zero bytes: SQLite reuses the WAL file's space, so a write may otherwise still fit in a
   * WAL that earlier writes grew, full disk or not.
   */
  fill(opts?: { sqlite?: string }): void
  /** Deletes the filler file: the space is back. */
  free(): void
  unmount(): void
}

function mount(dir: string, bytes: number): string | null {
  const r = Bun.spawnSync(['mount', '-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdout: 'pipe', stderr: 'pipe' })
  return r.exitCode === 0 ? null : r.stderr.toString().trim() || `mount exited with ${r.exitCode}`
}

function umount(dir: string): void {
  Bun.spawnSync(['umount', '-l', dir])
}

let probed: string | null | undefined
/** null when a tmpfs can be mounted here; otherwise why not (for the skip message). */
export function smallDiskUnavailable(): string | null {
  if (probed !== undefined) return probed
  if (process.platform !== 'linux') return (probed = `tmpfs mounts need Linux (this is ${process.platform})`)
  if (process.getuid?.() !== 0) return (probed = 'mounting a tmpfs needs root (or CAP_SYS_ADMIN)')
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-disk-probe-'))
  const failed = mount(dir, 1 << 20)
  if (!failed) umount(dir)
  rmdirSync(dir)
  return (probed = failed ? `cannot mount a tmpfs: ${failed}` : null)
}

export function mountSmallDisk(bytes: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-disk-'))
  const failed = mount(dir, bytes)
  if (failed) throw new Error(`cannot mount a tmpfs on ${dir}: ${failed}`)
  const filler = join(dir, 'filler')
  return {
    dir,
    fill(opts) {
      if (opts?.sqlite) truncateWal(opts.sqlite)
      const fd = openSync(filler, 'a')
      try {
        // Big writes first, then ever smaller ones, until not one byte more fits.
        for (const size of [1 << 16, 4096, 1]) {
          const chunk = Buffer.alloc(size, 0x78)
          try {
            for (let i = 0; i < bytes; i++) writeSync(fd, chunk)
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e
          }
        }
      } finally {
        closeSync(fd)
      }
    },
    free() {
      rmSync(filler, { force: true })
    },
    unmount() {
      umount(dir)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function truncateWal(path: string): void {
  const db = new Database(path)
  try {
    db.exec('PRAGMA busy_timeout = 5000')
    const r = db.query('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number; log: number }
    if (r.busy !== 0 || r.log !== 0) throw new Error(`could not cut the WAL of ${path}: ${JSON.stringify(r)}`)
  } finally {
    db.close()
  }
}
