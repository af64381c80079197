// Ending what a Codex session leaves behind. Codex's TUI may start helpers that outlive it (its app-server daemon
// calls setsid(), so neither a process group nor the parent/child tree finds it once Codex has exited). The
// launcher tags Codex's environment with a launch id that every descendant inherits, and afterwards ends each
// process still carrying that tag. Linux (/proc); elsewhere nothing is found and nothing is ended.

import { readdirSync, readFileSync } from 'node:fs'

export const LAUNCH_TAG_ENV = 'AGENTGATE_CODEX_LAUNCH'

/** A new launch id (the value of LAUNCH_TAG_ENV for one launch). */
export function newLaunchTag(): string {
  return `${process.pid}-${crypto.randomUUID()}`
}

/** Pids of this user's processes whose environment carries `LAUNCH_TAG_ENV=tag` (never this process). */
export function taggedProcesses(tag: string): number[] {
  const needle = `${LAUNCH_TAG_ENV}=${tag}`
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  const out: number[] = []
  for (const name of entries) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue
    try {
      // another user's processes (EACCES) and ones that just exited (ENOENT) are skipped
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(needle)) out.push(Number(name))
    } catch {}
  }
  return out
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    // a zombie still answers signal 0 but is already gone
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1'))
  } catch {
    return false
  }
}

/**
 * Sends SIGTERM to every process tagged `tag`, waits up to `graceMs` for them to exit, then SIGKILLs the rest.
 * Returns the pids it found.
 */
export async function endTagged(tag: string, graceMs = 2000): Promise<number[]> {
  const found = taggedProcesses(tag)
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
  }
  const deadline = Date.now() + graceMs
  while (found.some(alive) && Date.now() < deadline) await Bun.sleep(50)
  for (const pid of found.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  return found
}
