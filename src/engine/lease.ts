// Who runs a turn, and for how long that claim holds without renewal. Several gateway processes may share one
// database: a running turn's lease tells the others (and the next start-up) whether its process is still there.
import { hostname } from 'node:os'
import type { Lease } from '../store/types'

/** A lease lasts this long without renewal… */
export const LEASE_MS = 30_000
/** …and a running turn renews it this often, so a live process never lets it lapse. */
export const LEASE_RENEW_MS = 10_000

/** This process: host, pid and a random tag (a restarted process may get the same pid, e.g. pid 1 in a container). */
export const PROCESS_OWNER = `${hostname()}/${process.pid}/${crypto.getRandomValues(new Uint32Array(1))[0].toString(36)}`

export function newLease(owner: string, now = Date.now()): Lease {
  return { owner, expiresAt: now + LEASE_MS }
}

/**
 * Whether the process named by `owner` may still be running. Only a process on this host can be known dead (no such
 * pid, or our own pid under another tag: an earlier incarnation); anywhere else we rely on its lease expiring.
 */
export function ownerIsAlive(owner: string, self = PROCESS_OWNER): boolean {
  if (owner === self) return true
  const [host, pidText] = owner.split('/')
  if (host !== hostname()) return true
  const pid = Number(pidText)
  if (!Number.isInteger(pid) || pid <= 0) return true
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else — alive as far as we can tell.
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}
