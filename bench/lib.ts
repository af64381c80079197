// The small shared part of the benchmark: statistics, markdown tables, child processes (upstream,
// gateway, wrk), /proc readings (RSS, CPU time) and the machine line. Scenarios live in bench/scenarios/.
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import type { LoadReport } from './sse-load'
import { profileModel, type Profile } from './upstream'

export const BENCH_DIR = import.meta.dir
export const ROOT = join(BENCH_DIR, '..')

// ---------- statistics ----------

export interface Summary {
  n: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentiles of a sample (ms or whatever unit it is in). */
export function summarize(samples: number[]): Summary {
  const s = Float64Array.from(samples).sort()
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : NaN)
  let sum = 0
  for (const x of s) sum += x
  return {
    n: s.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s.length ? s[s.length - 1] : NaN,
    mean: s.length ? sum / s.length : NaN,
  }
}

export const median = (xs: number[]) => summarize(xs).p50

// ---------- formatting ----------

/** A number with sensible precision for a table cell; NaN/undefined → "–". */
export function fmt(x: number | null | undefined, digits?: number): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–'
  if (digits !== undefined) return x.toFixed(digits)
  const a = Math.abs(x)
  if (a >= 1000) return Math.round(x).toLocaleString('en-US')
  if (a >= 100) return x.toFixed(0)
  if (a >= 10) return x.toFixed(1)
  if (a >= 1) return x.toFixed(2)
  return x.toFixed(3)
}

/** `+0.12` for an added latency. */
export const signed = (x: number, digits = 2) => (Number.isFinite(x) ? (x >= 0 ? '+' : '') + x.toFixed(digits) : '–')
export const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–')

export interface Table {
  title?: string
  headers: string[]
  rows: (string | number)[][]
  /** text under the table */
  note?: string
}

export function markdownTable(t: Table): string {
  const align = t.headers.map((_, i) =>
    t.rows.every((r) => /^[-+–]?[\d.,×%]+\s*(ms|MiB|KiB|×)?$|^–$/.test(String(r[i] ?? ''))) ? '---:' : '---',
  )
  const lines = [`| ${t.headers.join(' | ')} |`, `|${align.join('|')}|`, ...t.rows.map((r) => `| ${r.map(String).join(' | ')} |`)]
  return (t.title ? `**${t.title}**\n\n` : '') + lines.join('\n') + (t.note ? `\n\n${t.note}` : '') + '\n'
}

// ---------- processes ----------

export interface Child {
  pid: number
  /** the URL from the process's "listening on" line */
  url: string
  /** ms from spawn to that line */
  startMs: number
  proc: ReturnType<typeof Bun.spawn>
  stop(): Promise<void>
}

const running = new Set<Child>()
/** Stops every server this process started and has not stopped yet (end of run, Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop()))
}

/** Spawns a server, waits (bounded) for `<name> listening on URL` on stdout; stderr goes to a file. */
export async function startServer(
  cmd: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; stderrFile: string; timeoutMs?: number },
): Promise<Child> {
  const t0 = performance.now()
  const errFd = openSync(opts.stderrFile, 'a')
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd ?? ROOT,
    env: (opts.env ?? process.env) as Record<string, string>,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: errFd,
  })
  closeSync(errFd)
  const reader = proc.stdout.getReader()
  const decoder = new TextDecoder()
  let out = ''
  const timeoutMs = opts.timeoutMs ?? 30_000
  const deadline = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
  try {
    for (;;) {
      const m = out.match(/listening on (http:\/\/\S+)/)
      if (m) {
        const startMs = performance.now() - t0
        // Keep draining stdout so the child can never block on a full pipe.
        void (async () => {
          while (!(await reader.read()).done);
        })().catch(() => {})
        const child: Child = {
          pid: proc.pid,
          url: m[1],
          startMs,
          proc,
          async stop() {
            running.delete(child)
            if (proc.exitCode !== null || proc.signalCode !== null) return
            proc.kill('SIGTERM')
            const t = setTimeout(() => proc.kill('SIGKILL'), 5_000)
            await proc.exited
            clearTimeout(t)
          },
        }
        running.add(child)
        return child
      }
      const r = await reader.read()
      if (r.done)
        throw new Error(
          `${cmd.join(' ')} exited (${await proc.exited}) before listening; stderr in ${opts.stderrFile}:\n${readTail(opts.stderrFile)}`,
        )
      out += decoder.decode(r.value, { stream: true })
    }
  } finally {
    clearTimeout(deadline)
  }
}

function readTail(path: string, bytes = 2000): string {
  try {
    return readFileSync(path, 'utf8').slice(-bytes)
  } catch {
    return ''
  }
}

/** A temp directory removed at exit (also on Ctrl-C). */
const tempDirs: string[] = []
/**
 * The bare relay, the floor a gateway's stream is measured against: a direct stream that writes each chunk of `body`
 * as it is read (token-split.ts relay:direct, stream-cpu.ts *-relay).
 */
export function relayStream(body: ReadableStream<Uint8Array>): ReadableStream {
  const reader = body.getReader()
  return new ReadableStream({
    type: 'direct',
    async pull(ctl: ReadableStreamDirectController) {
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        const written = ctl.write(r.value)
        if (typeof written !== 'number') await written
      }
      ctl.close()
    },
  })
}

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  tempDirs.push(d)
  return d
}
export function removeTempDirs() {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

// ---------- command lines ----------

/** `--flag value` of the bench's own tools: the value after `flag` in argv, or the fallback when the flag is absent. */
export function optionOf(argv: string[]): (flag: string, fallback: string) => string {
  return (flag, fallback) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1]! : fallback
  }
}

// ---------- /proc ----------

function procStatus(pid: number, field: string): number {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
  return m ? Number(m[1]) / 1024 : NaN
}
/** Resident set size in MiB. */
export const rssMiB = (pid: number) => procStatus(pid, 'VmRSS')
/**
 * The resident set in its two parts, MiB: anonymous memory (heaps, JIT code: what the process alone holds) and
 * file-backed pages (the executable's and libraries' pages it has touched: clean, shared with the page cache,
 * and given back by the kernel under memory pressure without any swap).
 */
export const rssPartsMiB = (pid: number) => ({ anon: procStatus(pid, 'RssAnon'), file: procStatus(pid, 'RssFile') })
/** Peak resident set size in MiB. */
export const peakRssMiB = (pid: number) => procStatus(pid, 'VmHWM')

export const CLK_TCK = 100 // Linux USER_HZ; /proc/<pid>/stat reports CPU time in these ticks
/** User + system CPU time of a process so far, in ms (10 ms resolution). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

/**
 * CPU time of every thread of a process so far, in ns, from /proc/<pid>/task/<tid>/schedstat (nanosecond
 * resolution, where /proc/<pid>/stat counts 10 ms ticks): for per-turn costs of a few ms. Threads that have
 * exited are no longer counted, so use it for short windows only.
 */
export function threadCpuNs(pid: number): number {
  let ns = 0
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns
}

/**
 * CPU time so far of each kind of thread of a process, in ns (schedstat, as threadCpuNs): the main (JavaScript) thread
 * as `main` — with its user and system shares (`main user`, `main sys`, from its 10 ms ticks) — and the others by
 * name with numbering dropped (Bun's `HTTP Client`, JSC's `HeapHelper` GC threads and `JITWorker`, a `Worker`), summed.
 * The main thread's share is what limits a gateway whose JavaScript thread is saturated.
 */
/** A thread's name from its /proc/<pid>/task/<tid>/stat, numbering dropped (`HeapHelper 3` → `HeapHelper`). */
export function threadNameOf(stat: string): string {
  return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\s\d#:-]+$/, '')
}

export function threadCpuByName(pid: number): Map<string, number> {
  const byName = new Map<string, number>()
  const add = (name: string, ns: number) => byName.set(name, (byName.get(name) ?? 0) + ns)
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      if (tid !== String(pid)) {
        add(threadNameOf(stat), ns)
        continue
      }
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      add('main', ns)
      add('main user', (Number(fields[11]) * 1e9) / CLK_TCK)
      add('main sys', (Number(fields[12]) * 1e9) / CLK_TCK)
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return byName
}

/** What threadCpuByName counted between two readings, in µs per `per` (turns, requests), largest first; 0.5 µs and up. */
export function threadSplit(before: Map<string, number>, after: Map<string, number>, per: number): string {
  const parts: [string, number][] = []
  for (const [name, ns] of after) {
    const us = (ns - (before.get(name) ?? 0)) / 1000 / per
    if (us >= 0.5) parts.push([name, us])
  }
  return parts
    .sort((a, b) => (a[0].startsWith('main') === b[0].startsWith('main') ? b[1] - a[1] : a[0].startsWith('main') ? -1 : 1))
    .map(([name, us]) => `${name} ${us.toFixed(1)}`)
    .join(', ')
}

/** One live thread of a process as schedstat counts it: its name (numbering dropped; the main thread `main`). */
export interface ThreadStat {
  name: string
  /** ns on a CPU, ns runnable but waiting for one, times scheduled: so far */
  runNs: number
  waitNs: number
  slices: number
}

/** Every live thread of a process, by thread id (/proc/<pid>/task/<tid>/schedstat). */
export function threadStats(pid: number): Map<string, ThreadStat> {
  const out = new Map<string, ThreadStat>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const [run, wait, slices] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
      out.set(tid, { name: tid === String(pid) ? 'main' : threadNameOf(stat), runNs: run!, waitNs: wait!, slices: slices! })
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out
}

/**
 * What threadStats counted between two readings, summed per kind of thread. A thread that began in between counts
 * from zero; one that ended in between is not in `b`, so its last stretch is lost (keep the window short).
 */
export function threadStatsDelta(a: Map<string, ThreadStat>, b: Map<string, ThreadStat>): Map<string, Omit<ThreadStat, 'name'>> {
  const byName = new Map<string, Omit<ThreadStat, 'name'>>()
  for (const [tid, s] of b) {
    const s0 = a.get(tid)
    const acc = byName.get(s.name) ?? { runNs: 0, waitNs: 0, slices: 0 }
    acc.runNs += s.runNs - (s0?.runNs ?? 0)
    acc.waitNs += s.waitNs - (s0?.waitNs ?? 0)
    acc.slices += s.slices - (s0?.slices ?? 0)
    byName.set(s.name, acc)
  }
  return byName
}

/**
 * One thread's time on a CPU and time runnable but waiting for one (the run queue), ns so far, from
 * /proc/<pid>/task/<tid>/schedstat; the main thread by default (its tid is the pid). The wait is what a shared
 * machine costs a latency-bound loop: work was ready and no core ran it.
 */
export function threadSched(pid: number, tid = pid): { runNs: number; waitNs: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number)
  return { runNs: run, waitNs: wait }
}

// ---------- machine ----------

export interface Machine {
  nproc: number
  cpu: string
  ramGiB: number
  bun: string
  wrk: string
  os: string
  date: string
  git: { sha: string; dirty: boolean }
  /** µs a first touch of a fresh page costs (pageFaultUs); null: not measured */
  pageFaultUs: number | null
}

/**
 * What a page fault costs on this machine, in µs: a fresh 64 MiB buffer touched page by page in a child process
 * (median of 3). It is the machine's, not ours, and it moves the gateway's start (~2,300 faults for `--version`), its
 * streams' buffers and a long chain's request body: 13.5–14 µs on the VM of 2026-12-01's afternoon, where `agentgate
 * --version` took 60–100 ms. Compare it between runs with the start-up and CPU rows.
 */
async function pageFaultUs(): Promise<number | null> {
  const code =
    'const r=[];for(let k=0;k<3;k++){const t=performance.now();const a=new Uint8Array(64<<20);' +
    'for(let i=0;i<a.length;i+=4096)a[i]=1;r.push((performance.now()-t)*1000/(a.length/4096))}' +
    'console.log(r.sort((x,y)=>x-y)[1])'
  try {
    const p = Bun.spawn([process.execPath, '-e', code], { stdout: 'pipe', stderr: 'ignore' })
    const out = await new Response(p.stdout).text()
    await p.exited
    const us = Number(out.trim())
    return Number.isFinite(us) && us > 0 ? us : null
  } catch {
    return null
  }
}

export async function machineInfo(): Promise<Machine> {
  const cpuModel =
    readFileSync('/proc/cpuinfo', 'utf8')
      .match(/^model name\s*:\s*(.+)$/m)?.[1]
      ?.trim() ??
    cpus()[0]?.model ??
    'unknown'
  const sh = async (cmd: string[]) => {
    try {
      const p = Bun.spawn(cmd, { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
      const [o, e] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
      await p.exited
      return (o + e).trim()
    } catch {
      return ''
    }
  }
  const os = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)/m)?.[1] ?? process.platform
  return {
    nproc: Number(await sh(['nproc'])) || cpus().length,
    cpu: cpuModel,
    ramGiB: totalmem() / 1024 ** 3,
    bun: Bun.version,
    wrk: (await sh(['wrk', '--version'])).split('\n')[0].replace(/\s+Copyright.*$/, ''),
    os,
    date: new Date().toISOString(),
    git: {
      sha: (await sh(['git', 'rev-parse', '--short', 'HEAD'])) || 'unknown',
      dirty: (await sh(['git', 'status', '--porcelain', '--untracked-files=no'])).length > 0,
    },
    pageFaultUs: await pageFaultUs(),
  }
}

export const machineLine = (m: Machine) =>
  `${m.nproc} vCPU (${m.cpu}), ${m.ramGiB.toFixed(0)} GiB RAM, ${m.os}, Bun ${m.bun}, ${m.wrk}, git ${m.git.sha}${m.git.dirty ? ' (dirty)' : ''}, ${m.date.slice(0, 16).replace('T', ' ')} UTC`

// ---------- wrk ----------

export interface WrkResult {
  requests: number
  durationS: number
  rps: number
  /** non-2xx/3xx answers, socket errors and timeouts */
  errors: number
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number }
}

export const WRK_SCRIPT = join(BENCH_DIR, 'wrk/report.lua')

/**
 * One wrk run (1 thread: the 2 cores are shared with the gateway and the upstream). `body` makes it a
 * POST with that JSON. Latency percentiles come from the Lua `done` hook as JSON.
 */
export async function wrk(opts: {
  url: string
  connections: number
  durationS: number
  body?: unknown
  headers?: Record<string, string>
  timeoutS?: number
}): Promise<WrkResult> {
  const dir = tempDir('agentgate-wrk-')
  const bodyFile = join(dir, 'body.json')
  if (opts.body !== undefined) writeFileSync(bodyFile, JSON.stringify(opts.body))
  const args = ['wrk', '-t1', `-c${opts.connections}`, `-d${opts.durationS}s`, `--timeout`, `${opts.timeoutS ?? 10}s`, '-s', WRK_SCRIPT]
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`)
  args.push(opts.url, '--', opts.body !== undefined ? bodyFile : '')
  const p = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
  const killer = setTimeout(() => p.kill('SIGKILL'), (opts.durationS + 30) * 1000)
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  clearTimeout(killer)
  const code = await p.exited
  rmSync(dir, { recursive: true, force: true })
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}): ${err || out}`)
  const j = JSON.parse(line)
  const e = j.errors
  const ms = (us: number) => us / 1000
  return {
    requests: j.requests,
    durationS: j.duration_us / 1e6,
    rps: j.requests / (j.duration_us / 1e6),
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    latencyMs: {
      p50: ms(j.latency_us.p50),
      p90: ms(j.latency_us.p90),
      p99: ms(j.latency_us.p99),
      max: ms(j.latency_us.max),
      mean: ms(j.latency_us.mean),
    },
  }
}

export async function haveWrk(): Promise<boolean> {
  try {
    const p = Bun.spawn(['wrk', '--version'], { stdout: 'ignore', stderr: 'ignore' })
    await p.exited
    return true
  } catch {
    return false
  }
}

// ---------- Bun-side load ----------

/**
 * `concurrency` loops calling `fn` back to back for `durationMs` (after `warmupMs` whose results are
 * dropped). Returns what the calls returned during the measured window and its real length.
 */
export async function closedLoop<T>(
  concurrency: number,
  warmupMs: number,
  durationMs: number,
  fn: () => Promise<T>,
): Promise<{ results: T[]; errors: number; elapsedMs: number }> {
  const start = performance.now()
  const measureFrom = start + warmupMs
  const end = measureFrom + durationMs
  const results: T[] = []
  let errors = 0
  let lastDone = measureFrom
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now()
      try {
        const r = await fn()
        if (t >= measureFrom) results.push(r)
      } catch {
        if (t >= measureFrom) errors++
      }
      lastDone = Math.max(lastDone, performance.now())
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { results, errors, elapsedMs: lastDone - measureFrom }
}

/**
 * Runs bench/sse-load.ts (its own process, with Bun's fetch allowed more than 256 requests at once):
 * `concurrency` clients streaming turns for `warmupS` + `durationS`. Bounded: killed 60 s after it should end.
 */
export async function sseLoad(opts: { url: string; body: unknown; concurrency: number; warmupS: number; durationS: number }) {
  const dir = tempDir('agentgate-sse-load-')
  const bodyFile = join(dir, 'body.json')
  writeFileSync(bodyFile, JSON.stringify(opts.body))
  const p = Bun.spawn(
    [
      process.execPath,
      'run',
      join(BENCH_DIR, 'sse-load.ts'),
      opts.url,
      bodyFile,
      String(opts.concurrency),
      String(opts.warmupS),
      String(opts.durationS),
    ],
    {
      env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: String(Math.max(512, opts.concurrency * 2)) },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  const killer = setTimeout(() => p.kill('SIGKILL'), (opts.warmupS + opts.durationS + 60) * 1000)
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  clearTimeout(killer)
  const code = await p.exited
  const line = out.split('\n').find((l) => l.startsWith('{'))
  if (code !== 0 || !line) throw new Error(`bench/sse-load.ts failed (exit ${code}): ${err.slice(-2000) || out.slice(-2000)}`)
  return { report: JSON.parse(line) as LoadReport, pid: p.pid }
}

export interface StreamTiming {
  /** ms to the first SSE event */
  firstEventMs: number
  /** ms to the first response.output_text.delta */
  firstDeltaMs: number
  totalMs: number
  events: number
  /** arrival time (ms since the request) of each event */
  arrivals?: number[]
  completed: boolean
}

const DELTA = 'event: response.output_text.delta'

/** POSTs a streaming /v1/responses request and times its SSE events as they arrive. */
export async function timeStream(url: string, body: unknown, keepArrivals = false): Promise<StreamTiming> {
  const t0 = performance.now()
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify(body),
  })
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
  const decoder = new TextDecoder()
  let buf = ''
  let events = 0
  let firstEventMs = NaN
  let firstDeltaMs = NaN
  let completed = false
  const arrivals: number[] = []
  for await (const chunk of res.body) {
    const now = performance.now() - t0
    buf += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, end)
      buf = buf.slice(end + 2)
      events++
      if (keepArrivals) arrivals.push(now)
      if (events === 1) firstEventMs = now
      if (Number.isNaN(firstDeltaMs) && frame.startsWith(DELTA)) firstDeltaMs = now
      if (frame.startsWith('event: response.completed')) completed = true
    }
  }
  if (!completed) throw new Error('stream ended without response.completed')
  return { firstEventMs, firstDeltaMs, totalMs: performance.now() - t0, events, arrivals: keepArrivals ? arrivals : undefined, completed }
}

/** A /v1/responses request body for a profile. */
export const turnBody = (p: Profile, extra: Record<string, unknown> = {}) => ({
  model: profileModel(p),
  input: 'Say hello to the benchmark.',
  ...extra,
})

// ---------- the gateway under test ----------

export interface Gateway extends Child {
  /** its AGENTGATE_HOME (temp) */
  home: string
  rssMiB(): number
  rssPartsMiB(): { anon: number; file: number }
  peakRssMiB(): number
  /** user + system CPU ms of the whole process (/proc/<pid>/stat, 10 ms ticks) */
  cpuMs(): number
  /** CPU ns of its live threads (schedstat, ns resolution) */
  cpuNs(): number
}

export interface GatewayLauncher {
  /** "binary" (dist/agentgate, or --binary's) or "source" (bun run src/main.ts) */
  mode: 'binary' | 'source'
  command: string[]
  /** what the report calls it: `dist/agentgate`, the --binary path, or `bun run src/main.ts` */
  label: string
}

/** Starts a fresh gateway (own temp home and database, default settings) in front of `upstream`. */
export async function startGateway(launcher: GatewayLauncher, upstream: string, extraArgs: string[] = []): Promise<Gateway> {
  const home = tempDir('agentgate-bench-gw-')
  // The gateway reads AGENTGATE_* from the environment: only ours count here.
  const env: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')),
  )
  env.AGENTGATE_HOME = home
  const child = await startServer(
    [...launcher.command, 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', upstream, ...extraArgs],
    {
      cwd: home,
      env,
      stderrFile: join(home, 'gateway.log'),
    },
  )
  return {
    ...child,
    home,
    rssMiB: () => rssMiB(child.pid),
    rssPartsMiB: () => rssPartsMiB(child.pid),
    peakRssMiB: () => peakRssMiB(child.pid),
    cpuMs: () => cpuMs(child.pid),
    cpuNs: () => threadCpuNs(child.pid),
  }
}

/** What every scenario gets from bench/run.ts. */
export interface Ctx {
  quick: boolean
  /** seconds per measured point */
  durationS: number
  /** seconds of warm-up before each measured point */
  warmupS: number
  /** bench upstream base URL, including /v1 */
  upstream: string
  /** the bench upstream's process id */
  upstreamPid: number
  /** the upstream timing of a model turn (the /v1/responses scenarios) */
  turnProfile: Profile
  launcher: GatewayLauncher
  gateway(extraArgs?: string[]): Promise<Gateway>
  log(msg: string): void
}

export interface ScenarioResult {
  name: string
  tables: Table[]
  /** flat named numbers: what the targets are checked against and what the JSON file keeps */
  metrics: Record<string, number>
  /** set when the scenario could not run here (and why): a line in the report instead of numbers */
  skipped?: string
}

export const sleep = (ms: number) => Bun.sleep(ms)

// ---------- side by side: the same load direct and through the gateway ----------

export interface Side {
  rps: number
  p50: number
  p90: number
  p99: number
  errors: number
  n: number
}

export interface Pair {
  direct: Side
  gateway: Side
  /** gateway CPU time (user + system) per request, ms */
  gwCpuMsPerReq: number
  /**
   * The upstream's CPU per request while the direct side ran, ms. The upstream is the same code in every run,
   * so this is the machine's speed at that hour: the same gateway's CPU rows move with it (±20% between hours
   * on a shared host), and gateway ÷ upstream CPU is steadier than either alone.
   */
  upCpuMsPerReq: number
}

const fromWrk = (r: WrkResult): Side => ({
  rps: r.rps,
  p50: r.latencyMs.p50,
  p90: r.latencyMs.p90,
  p99: r.latencyMs.p99,
  errors: r.errors,
  n: r.requests,
})

/**
 * The same wrk load on the upstream and on the gateway, one after the other, each after a warm-up (`warmupS`: at least
 * this long, whatever --warmup says, for loads whose steady state takes longer to reach).
 */
export async function wrkPair(
  ctx: Ctx,
  gw: Gateway,
  urls: { direct: string; gateway: string },
  { warmupS: atLeast = 0, ...load }: { connections: number; body?: unknown; headers?: Record<string, string>; warmupS?: number },
): Promise<Pair> {
  const direct = await wrkSide(ctx, urls.direct, () => cpuMs(ctx.upstreamPid), { warmupS: atLeast, ...load })
  const gateway = await wrkSide(ctx, urls.gateway, () => gw.cpuMs(), { warmupS: atLeast, ...load })
  return { direct: direct.side, gateway: gateway.side, gwCpuMsPerReq: gateway.cpuMsPerReq, upCpuMsPerReq: direct.cpuMsPerReq }
}

/**
 * One side of a pair: a wrk load on `url` after its warm-up, and the CPU `cpuMsOf` (the process answering it) used per
 * request over the measured window. wrkPair's two sides, and a third one measured beside them (passthrough's floor).
 */
export async function wrkSide(
  ctx: Ctx,
  url: string,
  cpuMsOf: () => number,
  { warmupS: atLeast = 0, ...load }: { connections: number; body?: unknown; headers?: Record<string, string>; warmupS?: number },
): Promise<{ side: Side; cpuMsPerReq: number }> {
  const warmupS = Math.max(ctx.warmupS, atLeast)
  if (warmupS > 0) await wrk({ url, durationS: warmupS, ...load })
  const cpu0 = cpuMsOf()
  const r = await wrk({ url, durationS: ctx.durationS, ...load })
  return { side: fromWrk(r), cpuMsPerReq: (cpuMsOf() - cpu0) / Math.max(1, r.requests) }
}

export const PAIR_HEADERS = [
  'load',
  'conns',
  'direct req/s',
  'gateway req/s',
  'ratio',
  'direct p50 / p90 / p99 ms',
  'gateway p50 / p90 / p99 ms',
  'added p50 ms',
  'added p99 ms',
  'gw CPU ms/req',
  "upstream CPU ms/req, direct (the hour's speed)",
]

export function pairRow(label: string, conns: number, p: Pair): string[] {
  const lat = (s: Side) => `${fmt(s.p50, 2)} / ${fmt(s.p90, 2)} / ${fmt(s.p99, 2)}`
  const errs = (s: Side) => (s.errors ? ` (${s.errors} errors)` : '')
  return [
    label,
    String(conns),
    fmt(p.direct.rps) + errs(p.direct),
    fmt(p.gateway.rps) + errs(p.gateway),
    ratio(p.gateway.rps / p.direct.rps),
    lat(p.direct),
    lat(p.gateway),
    signed(p.gateway.p50 - p.direct.p50),
    signed(p.gateway.p99 - p.direct.p99),
    fmt(p.gwCpuMsPerReq, 3),
    fmt(p.upCpuMsPerReq, 3),
  ]
}

/** The metrics of one pair under `key` (key.direct_rps, key.added_p50_ms, …). */
export function pairMetrics(key: string, p: Pair): Record<string, number> {
  const out: Record<string, number> = {}
  for (const side of ['direct', 'gateway'] as const) for (const [k, v] of Object.entries(p[side])) out[`${key}.${side}_${k}`] = v
  out[`${key}.ratio`] = p.gateway.rps / p.direct.rps
  out[`${key}.added_p50_ms`] = p.gateway.p50 - p.direct.p50
  out[`${key}.added_p90_ms`] = p.gateway.p90 - p.direct.p90
  out[`${key}.added_p99_ms`] = p.gateway.p99 - p.direct.p99
  out[`${key}.gw_cpu_ms_per_req`] = p.gwCpuMsPerReq
  out[`${key}.upstream_cpu_ms_per_req`] = p.upCpuMsPerReq
  return out
}

// ---------- everyone else on the machine ----------

/** CPU time (ms) the whole machine has spent busy so far, all cores (from /proc/stat). */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal …
  return ((f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) * 1000) / CLK_TCK
}

/** CPU time (ms) of this process and every child it has reaped (wrk, stopped gateways, …). */
function ownCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK
}

/**
 * Measures how much CPU processes other than the benchmark's own used while `fn` ran, as a share of the
 * machine: the benchmark's numbers are only as good as that is small. `livePids`: children still running
 * at both ends (the upstream), whose CPU is not yet in this process's reaped-children total.
 */
export async function withOthersLoad<T>(
  livePids: () => number[],
  fn: () => Promise<T>,
): Promise<{ value: T; othersShare: number; seconds: number }> {
  const own = () => ownCpuMs() + livePids().reduce((s, pid) => s + cpuMs(pid), 0)
  const t0 = performance.now()
  const [busy0, own0] = [machineBusyMs(), own()]
  const value = await fn()
  const [busy1, own1] = [machineBusyMs(), own()]
  const seconds = (performance.now() - t0) / 1000
  const capacityMs = seconds * 1000 * cpus().length
  return { value, othersShare: Math.max(0, (busy1 - busy0 - (own1 - own0)) / capacityMs), seconds }
}
