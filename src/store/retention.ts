// Retention: which stored data is old enough to go (the cutoffs), and the batch loop that deletes it without holding
// the database for long — the same rules for both dialects; each Store only supplies the one-batch queries.
//   --retention-days N            responses (with their items and events) created more than N days ago, and
//                                 conversations last touched more than N days ago that are deleted or empty;
//                                 never a queued/in_progress response. Unset: everything is kept.
//   --event-log-retention-hours H the event logs (only resume reads them) of responses finished more than H hours ago.
// A chain whose ancestor was pruned answers 404 naming the missing response (engine/history.ts), never a partial history.

import type { Logger } from '../log'
import type { Bodies, Store } from './types'

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

export interface RetentionPolicy {
  /** null: keep responses and conversations forever */
  retentionDays: number | null
  eventLogRetentionHours: number
}

export interface Cutoffs {
  /** unix ms; null when responses are kept */
  responsesBefore: number | null
  eventLogsBefore: number
}

export interface PruneResult {
  responses: number
  conversations: number
  /** responses whose event log was dropped, and the events in them */
  eventLogs: number
  events: number
  /** pages given back to the file system (SQLite) */
  freedPages: number
  vacuumMode: 'incremental' | 'none' | 'n/a'
}

export function cutoffs(policy: RetentionPolicy, now: number): Cutoffs {
  return {
    responsesBefore: policy.retentionDays === null ? null : now - policy.retentionDays * DAY_MS,
    eventLogsBefore: now - policy.eventLogRetentionHours * HOUR_MS,
  }
}

export interface PruneOptions {
  /** rows per batch: each batch is one short transaction */
  batch?: number
  /** SQLite pages freed per incremental-vacuum step */
  vacuumPages?: number
  /** turn incremental vacuum on in an older database (a one-time full VACUUM; `agentgate prune` only) */
  convertVacuum?: boolean
  /** between batches: lets requests run (the default yields to the event loop) */
  pause?: () => Promise<void>
  /** stops the loop early (process shutting down) */
  stopped?: () => boolean
}

const yieldToRequests = () => new Promise<void>((resolve) => setTimeout(resolve, 10))

/** Deletes what the policy says is old, batch by batch, then reclaims the space. */
export async function pruneOnce(store: Store<Bodies>, policy: RetentionPolicy, now: number, opts: PruneOptions = {}): Promise<PruneResult> {
  const { batch = 100, vacuumPages = 500, pause = yieldToRequests, stopped = () => false } = opts
  const cut = cutoffs(policy, now)
  const out: PruneResult = { responses: 0, conversations: 0, eventLogs: 0, events: 0, freedPages: 0, vacuumMode: 'n/a' }
  /** runs `step` until it deletes less than a full batch */
  const drain = async (step: () => Promise<number>) => {
    while (!stopped()) {
      const n = await step()
      if (n < batch) return
      await pause()
    }
  }
  if (cut.responsesBefore !== null) {
    const before = cut.responsesBefore
    await drain(async () => {
      const n = await store.pruneResponses(before, batch)
      out.responses += n
      return n
    })
    await drain(async () => {
      const n = await store.pruneConversations(before, batch)
      out.conversations += n
      return n
    })
  }
  await drain(async () => {
    const r = await store.pruneEventLogs(cut.eventLogsBefore, batch)
    out.eventLogs += r.responses
    out.events += r.events
    return r.responses
  })
  let r = await store.reclaimSpace({ maxPages: vacuumPages, convert: opts.convertVacuum === true })
  out.freedPages += r.freedPages
  while (r.more && !stopped()) {
    await pause()
    r = await store.reclaimSpace({ maxPages: vacuumPages, convert: false })
    out.freedPages += r.freedPages
  }
  out.vacuumMode = r.vacuumMode
  return out
}

/** One line for people: what a prune deleted. */
export function describePrune(r: PruneResult, policy: RetentionPolicy): string {
  const parts = [
    policy.retentionDays === null
      ? 'responses kept (no --retention-days)'
      : `${r.responses} response${r.responses === 1 ? '' : 's'} older than ${policy.retentionDays} day${policy.retentionDays === 1 ? '' : 's'} (with their items and events)`,
    ...(policy.retentionDays === null ? [] : [`${r.conversations} deleted or empty conversation${r.conversations === 1 ? '' : 's'}`]),
    `the event logs of ${r.eventLogs} response${r.eventLogs === 1 ? '' : 's'} finished over ${policy.eventLogRetentionHours} h ago (${r.events} event${r.events === 1 ? '' : 's'})`,
  ]
  const space =
    r.vacuumMode === 'incremental'
      ? `; ${r.freedPages} free page${r.freedPages === 1 ? '' : 's'} given back to the file system`
      : r.vacuumMode === 'none'
        ? '; space is reused but not given back (this database predates incremental vacuum: `agentgate prune` converts it once)'
        : ''
  return `pruned: ${parts.join(', ')}${space}`
}

export const RETENTION_INTERVAL_MS = 10 * 60_000

/**
 * The background sweep of `serve`: a first prune shortly after start, then every `intervalMs`. The timer is unref'd
 * (it never keeps the process alive) and batches yield between them, so requests are never held up for long.
 */
export function startRetention(
  store: Store<Bodies>,
  policy: RetentionPolicy,
  logger: Logger,
  opts: { intervalMs?: number; firstDelayMs?: number; clock?: () => number } = {},
): () => Promise<void> {
  const { intervalMs = RETENTION_INTERVAL_MS, firstDelayMs = 30_000, clock = Date.now } = opts
  let stopped = false
  let running: Promise<void> | null = null
  let timer: ReturnType<typeof setTimeout>
  let warnedMode = false
  const tick = () => {
    running = pruneOnce(store, policy, clock(), { stopped: () => stopped })
      .then((r) => {
        if (r.responses + r.conversations + r.eventLogs > 0) logger.info('retention pruned old data', { ...r })
        if (r.vacuumMode === 'none' && !warnedMode) {
          warnedMode = true
          logger.warn(
            'this SQLite database predates incremental vacuum: deleted space is reused but the file does not shrink; run `agentgate prune` once (while the gateway is stopped) to convert it',
          )
        }
      })
      .catch((e) => logger.error('retention failed', { error: String((e as Error)?.message ?? e) }))
      .finally(() => {
        running = null
        if (!stopped) timer = setTimeout(tick, intervalMs)
        timer?.unref?.()
      })
  }
  timer = setTimeout(tick, firstDelayMs)
  timer.unref?.()
  return async () => {
    stopped = true
    clearTimeout(timer)
    await running
  }
}
