#!/usr/bin/env bun
// The load generator of the LLM-like scenario, in a process of its own (so the runner, the gateway and the
// upstream are each measured apart): `concurrency` clients each streaming POST /v1/responses turns back to
// back for a fixed time, timing every token as it arrives. Prints one JSON line (see LoadReport).
//
//   BUN_CONFIG_MAX_HTTP_REQUESTS=2048 bun run bench/sse-load.ts <url> <body.json> <concurrency> <warmupS> <durationS>
//
// Bun's fetch runs at most 256 requests at once unless BUN_CONFIG_MAX_HTTP_REQUESTS says otherwise (read
// at start-up, so the runner sets it when it spawns this). Client i starts i/concurrency of a turn late,
// so turn starts are spread the way independent users' would be. A token "arrives" when the read holding
// it does: tokens that share a read have a 0 ms gap, as they would for any client.
import { readFileSync } from 'node:fs'

export interface LoadReport {
  /** turns completed in the measured window */
  turns: number
  errors: number
  /** first error message, if any */
  firstError: string | null
  windowS: number
  /** tokens (output_text.delta events) received in the measured window */
  tokens: number
  /** ms between consecutive tokens of one stream, pooled over all streams */
  gapMs: { n: number; p50: number; p90: number; p99: number; p999: number; max: number }
  /** ms from sending a request to its first token */
  firstTokenMs: { n: number; p50: number; p99: number; max: number }
  /** this process's CPU (user + system), ms, over the measured window */
  clientCpuMs: number
  /**
   * this process's main thread (where every read is timed) over the measured window, ms: on a CPU, and runnable but
   * waiting for one (Linux schedstat; NaN elsewhere). A token read late because no core ran the client shows here.
   */
  clientMain: { runMs: number; waitMs: number }
}

/** The main thread's schedstat (ns on a CPU, ns waiting for one), or null where /proc has none. */
function mainSched(): [number, number] | null {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number)
    return [run, wait]
  } catch {
    return null
  }
}

/** once per token event (its `data:` line names the type again, so the bare type would count twice) */
const DELTA = 'event: response.output_text.delta'

function quantiles(xs: Float64Array, qs: number[]): number[] {
  const s = xs.slice().sort()
  return qs.map((q) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN))
}

if (import.meta.main) {
  const [url, bodyFile, conc, warm, dur] = process.argv.slice(2)
  const body = readFileSync(bodyFile, 'utf8')
  const concurrency = Number(conc)
  const warmupMs = Number(warm) * 1000
  const durationMs = Number(dur) * 1000
  // the expected length of one turn, for spreading the starts (from the body's model name, bench-l…-d…-r…)
  const model = (JSON.parse(body).model as string) ?? ''
  const d = Number(model.match(/-d(\d+)/)?.[1] ?? 16)
  const r = Number(model.match(/-r(\d+)/)?.[1] ?? 0)
  const l = Number(model.match(/l(\d+)/)?.[1] ?? 0)
  const turnMs = l + (r > 0 ? (d * 1000) / r : 0)

  const t0 = performance.now()
  const from = t0 + warmupMs
  const end = from + durationMs
  let gaps = new Float64Array(1 << 20)
  let nGaps = 0
  const firsts: number[] = []
  let turns = 0
  let errors = 0
  let tokens = 0
  let firstError: string | null = null
  const decoder = new TextDecoder()
  const pushGap = (g: number) => {
    if (nGaps === gaps.length) {
      const bigger = new Float64Array(gaps.length * 2)
      bigger.set(gaps)
      gaps = bigger
    }
    gaps[nGaps++] = g
  }

  const oneTurn = async () => {
    const start = performance.now()
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body,
      signal: AbortSignal.timeout(Math.max(30_000, turnMs * 4)),
    })
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`)
    let last = NaN
    let completed = false
    let carry = ''
    for await (const chunk of res.body) {
      const now = performance.now()
      const text = carry + decoder.decode(chunk, { stream: true })
      // count the deltas in this read; keep a short tail in case an event name is split between reads
      let n = 0
      for (let i = text.indexOf(DELTA); i >= 0; i = text.indexOf(DELTA, i + DELTA.length)) n++
      if (!completed && text.includes('response.completed')) completed = true
      carry = text.slice(-(DELTA.length - 1))
      // the carried tail cannot hold a whole DELTA, so nothing is counted twice
      if (n === 0) continue
      const measured = now >= from && now < end
      if (Number.isNaN(last)) {
        if (measured) firsts.push(now - start)
      } else if (measured) pushGap(now - last)
      if (measured) {
        tokens += n
        for (let k = 1; k < n; k++) pushGap(0)
      }
      last = now
    }
    if (!completed) throw new Error('stream ended without response.completed')
    return start
  }

  // this process's CPU over the measured window only (not the warm-up, not the turns finishing after it)
  let cpuFrom = process.cpuUsage()
  let cpuWindow: NodeJS.CpuUsage | null = null
  let schedFrom = mainSched()
  let schedEnd: [number, number] | null = null
  const markFrom = setTimeout(() => {
    cpuFrom = process.cpuUsage()
    schedFrom = mainSched()
  }, warmupMs)
  const markEnd = setTimeout(() => {
    cpuWindow = process.cpuUsage(cpuFrom)
    schedEnd = mainSched()
  }, warmupMs + durationMs)
  await Promise.all(
    Array.from({ length: concurrency }, async (_, i) => {
      await Bun.sleep((i / concurrency) * Math.min(turnMs, 5_000))
      while (performance.now() < end) {
        try {
          const start = await oneTurn()
          if (start >= from && performance.now() <= end) turns++
        } catch (e) {
          if (performance.now() >= from) {
            errors++
            firstError ??= String((e as Error)?.message ?? e)
          }
          await Bun.sleep(50)
        }
      }
    }),
  )
  clearTimeout(markFrom)
  clearTimeout(markEnd)
  const cpu1 = cpuWindow ?? process.cpuUsage(cpuFrom)
  const sched1 = schedEnd ?? mainSched()
  const g = gaps.subarray(0, nGaps)
  const [p50, p90, p99, p999, max] = quantiles(g, [0.5, 0.9, 0.99, 0.999, 1])
  const f = quantiles(Float64Array.from(firsts), [0.5, 0.99, 1])
  const report: LoadReport = {
    turns,
    errors,
    firstError,
    windowS: durationMs / 1000,
    tokens,
    gapMs: { n: nGaps, p50, p90, p99, p999, max },
    firstTokenMs: { n: firsts.length, p50: f[0], p99: f[1], max: f[2] },
    clientCpuMs: (cpu1.user + cpu1.system) / 1000,
    clientMain:
      schedFrom && sched1
        ? { runMs: (sched1[0] - schedFrom[0]) / 1e6, waitMs: (sched1[1] - schedFrom[1]) / 1e6 }
        : { runMs: NaN, waitMs: NaN },
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
  process.exit(0)
}
