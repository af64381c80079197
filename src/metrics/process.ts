// Process series in Prometheus' standard names (as client libraries export them): resident memory, CPU seconds,
// open and maximum file descriptors, start time, and — in the names of Node's client — heap and event-loop lag.
// Read at scrape time from process.* and /proc (Linux); series a platform cannot tell are left out, never faked.
import { heapStats } from 'bun:jsc'
import { readdirSync, readFileSync } from 'node:fs'
import type { CounterChild, GaugeChild, Registry } from './registry'

/** How often the event loop's lag is sampled: a timer due every SAMPLE_MS measures how late it fires. */
const LAG_SAMPLE_MS = 250

export class ProcessMetrics {
  private readonly rss: GaugeChild
  private readonly cpuTotal: CounterChild
  private readonly cpuUser: CounterChild
  private readonly cpuSystem: CounterChild
  private readonly openFds: GaugeChild | null
  private readonly maxFds: GaugeChild | null
  private readonly heapUsed: GaugeChild
  private readonly heapTotal: GaugeChild
  private readonly external: GaugeChild
  private readonly lag: GaugeChild
  private readonly lagMax: GaugeChild
  /** the largest lag seen since the previous scrape */
  private windowMax = 0
  private timer: ReturnType<typeof setInterval> | null = null

  constructor(registry: Registry) {
    this.cpuTotal = registry.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.').labels()
    this.cpuUser = registry.counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.').labels()
    this.cpuSystem = registry.counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.').labels()
    this.rss = registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.').labels()
    registry
      .gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.')
      .labels()
      .set(Math.round((Date.now() - process.uptime() * 1000) / 1000))
    const fdsReadable = countOpenFds() !== null
    this.openFds = fdsReadable ? registry.gauge('process_open_fds', 'Number of open file descriptors.').labels() : null
    const max = maxOpenFds()
    this.maxFds = max !== null ? registry.gauge('process_max_fds', 'Maximum number of open file descriptors.').labels() : null
    this.maxFds?.set(max ?? 0)
    this.heapUsed = registry.gauge('nodejs_heap_size_used_bytes', 'JavaScript heap in use, in bytes.').labels()
    this.heapTotal = registry.gauge('nodejs_heap_size_total_bytes', 'JavaScript heap reserved, in bytes.').labels()
    this.external = registry
      .gauge('nodejs_external_memory_bytes', 'Memory held outside the JavaScript heap by its objects (buffers, strings), in bytes.')
      .labels()
    this.lag = registry
      .gauge(
        'nodejs_eventloop_lag_seconds',
        'Lag of the event loop in seconds: how late the latest sampling timer fired (sampled every 250 ms).',
      )
      .labels()
    this.lagMax = registry
      .gauge('nodejs_eventloop_lag_max_seconds', 'The largest event-loop lag sampled since the previous scrape, in seconds.')
      .labels()
    this.startSampling()
  }

  /** Refreshes every series; called at each scrape, right before rendering. */
  collect() {
    const cpu = process.cpuUsage()
    // Counters: set from the process' own running totals (they only grow).
    this.cpuUser.value = cpu.user / 1e6
    this.cpuSystem.value = cpu.system / 1e6
    this.cpuTotal.value = (cpu.user + cpu.system) / 1e6
    this.rss.set(process.memoryUsage.rss())
    // JavaScriptCore's own numbers: process.memoryUsage().heapTotal can be below heapUsed under Bun.
    const heap = heapStats()
    this.heapUsed.set(heap.heapSize)
    this.heapTotal.set(Math.max(heap.heapCapacity, heap.heapSize))
    this.external.set(heap.extraMemorySize)
    const fds = this.openFds ? countOpenFds() : null
    if (fds !== null) this.openFds!.set(fds)
    this.lagMax.set(this.windowMax)
    this.windowMax = this.lag.value
  }

  /** Stops the lag sampler (the app's onStop). */
  stop() {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private startSampling() {
    let expected = performance.now() + LAG_SAMPLE_MS
    this.timer = setInterval(() => {
      const now = performance.now()
      const lag = Math.max(0, now - expected) / 1000
      expected = now + LAG_SAMPLE_MS
      this.lag.set(lag)
      if (lag > this.windowMax) this.windowMax = lag
    }, LAG_SAMPLE_MS)
    // Sampling must never keep the process alive.
    this.timer.unref?.()
  }
}

/** Open file descriptors of this process (Linux: the entries of /proc/self/fd, less the one reading it); null elsewhere. */
export function countOpenFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length - 1
  } catch {
    return null
  }
}

/** The soft limit on open files (Linux: /proc/self/limits); null when unknown or unlimited. */
export function maxOpenFds(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}
