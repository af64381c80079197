// Preloaded into a gateway under test (BUN_OPTIONS="--preload bench/loop-probe.ts", bench/tail-breakdown.ts --probe),
// never part of the gateway: what holds its main thread's event loop. A 1 ms timer notes every stall of the loop (the
// timer late by 2 ms or more) with what the main thread did meanwhile by its schedstat: time on a CPU (a long task or a
// garbage collection), time runnable but waiting for a CPU (the run queue) and the rest (blocked: GC helper threads, a
// lock); and every timer or setImmediate callback (the store's group commits run in one) that ran 1 ms or more. One line
// per stall or task on stderr, between the lines of JSC's GC log, which tail-breakdown reads from the same file.
import { readFileSync } from 'node:fs'

const STAT = `/proc/self/task/${process.pid}/schedstat`
const TICK_MS = 1
/** a stall: the timer fired this much later than asked */
const STALL_MS = 2
/** a long callback */
const TASK_MS = 1

const write = (line: string) => process.stderr.write(`${line}\n`)

function sched(): [number, number] {
  const s = readFileSync(STAT, 'utf8')
  const sp = s.indexOf(' ')
  return [Number(s.slice(0, sp)), Number(s.slice(sp + 1, s.indexOf(' ', sp + 1)))]
}

let last = performance.now()
let [run0, wait0] = sched()
setInterval(() => {
  const now = performance.now()
  const [run, wait] = sched()
  const late = now - last - TICK_MS
  if (late >= STALL_MS)
    write(`[probe] stall ${late.toFixed(2)} run ${((run - run0) / 1e6).toFixed(2)} wait ${((wait - wait0) / 1e6).toFixed(2)}`)
  last = now
  run0 = run
  wait0 = wait
}, TICK_MS).unref()

/** A callback's name for the log: its function name, else the start of its source. */
const nameOf = (cb: (...a: unknown[]) => unknown) => cb.name || String(cb).replace(/\s+/g, ' ').slice(0, 48)

type Scheduler = (cb: (...a: unknown[]) => unknown, ...rest: unknown[]) => unknown
function timed(kind: string, schedule: Scheduler): Scheduler {
  return (cb, ...rest) => {
    if (typeof cb !== 'function') return schedule(cb, ...rest)
    const name = nameOf(cb)
    return schedule(
      function (this: unknown, ...args: unknown[]) {
        const t0 = performance.now()
        try {
          return cb.apply(this, args)
        } finally {
          const ms = performance.now() - t0
          if (ms >= TASK_MS) write(`[probe] task ${ms.toFixed(2)} ${kind} ${name}`)
        }
      },
      ...rest,
    )
  }
}
const g = globalThis as unknown as Record<string, Scheduler>
for (const kind of ['setImmediate', 'setTimeout', 'setInterval']) g[kind] = timed(kind, g[kind]!)
