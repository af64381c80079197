#!/usr/bin/env bun
// What sets the added latency of the per-request paths (the bench's pass-through and JSON turn rows: 64 connections,
// 10 ms upstream) and of the LLM-like load's gap between tokens (500 SSE turns at 50 tokens/s, bench/scenarios/llm.ts):
// the same load as those scenarios on a gateway, and over the measured window, read from the gateway itself: its
// garbage collector's pauses (JSC's own log, BUN_JSC_logGC=1, on stderr: every stop of the main thread with its
// length), its threads' CPU and run-queue wait (schedstat), and the load's percentiles (wrk's; for llm the gap between
// tokens, bench/sse-load.ts). So a p99 can be set against the pauses that could have caused it, not guessed from wall
// clock on a shared box.
//
//   bun run bench/tail-breakdown.ts [--bin dist/agentgate[,other|relay:pipe|floor]] [--variants 'base:|name:VAR=value,VAR=value']
//                                   [--loads chat,json,json-nostore,llm,llm-nostore] [--seconds 10] [--warmup 6] [--rounds 1]
//                                   [--direct] [--no-gc-log] [--probe] [--streams 500]
//
// --variants: named environments each gateway runs with (e.g. JSC options, BUN_JSC_<option>=value); every
// --bin runs with every variant, interleaved, the order flipped each round. --no-gc-log: without the GC log (it
// writes a few lines per collection; for wall-clock comparisons), and then no GC line.
// A collection's pause = the sum of its "p=" phases: the time JSC stopped the main thread for it (a concurrent
// collection stops it a few times). Pauses are wall clock: on a busy machine they include waiting for a CPU, so compare
// the counts and totals of runs whose "machine" shares are alike. What a request allocates, which is what the pauses
// grow with: bench/handle-cpu.ts --census.
// --probe: the gateway runs with bench/loop-probe.ts preloaded: every stall of its event loop (2 ms or more) split into
// time on a CPU, waiting for one and blocked, and every timer or setImmediate callback of 1 ms or more (the store's
// group commits), so the stalls can be set against the gap's tail. (It costs the gateway a 1 ms timer: compare CPU
// without it.)
// llm: `--streams` clients (default 500, as the scenario) each streaming turns of 250 tokens at 50 tokens/s back to
// back, store on (llm-nostore: the same turns with store:false, no event log and no store clock); the window is the client's (its warm-up is --warmup, at least 5 s). A --bin of relay:<mode> runs one of
// bench/token-split.ts's relays instead of a gateway (relay:pipe: Bun's fetch body answered as it is, the floor of any Bun
// gateway on the machine). A --bin of floor runs bench/floor-proxy.ts (the passthrough scenario's floor: a bare Bun
// proxy) for the chat load, so the gateway's collections and threads read against Bun's own in the same minutes.
import { openSync, readSync, closeSync, fstatSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import {
  BENCH_DIR,
  machineBusyMs,
  optionOf,
  ROOT,
  removeTempDirs,
  startServer,
  stopAll,
  summarize,
  sseLoad,
  tempDir,
  threadSched,
  threadStats,
  threadStatsDelta,
  turnBody,
} from './lib'
import { LLM_TURN, STREAMS } from './scenarios/llm'
import { profileModel, profileName } from './upstream'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
// a gateway's path from where the tool was started (its processes run in their own home)
const bins = opt('--bin', join(ROOT, 'dist/agentgate'))
  .split(',')
  .map((b) => (b.startsWith('relay:') || b === 'floor' ? b : resolve(b)))
const variants = opt('--variants', 'base:')
  .split('|')
  .map((v) => {
    const colon = v.indexOf(':')
    const name = colon < 0 ? v : v.slice(0, colon)
    const env = Object.fromEntries(
      (colon < 0 ? '' : v.slice(colon + 1))
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    )
    return { name, env }
  })
const loads = opt('--loads', 'chat,json').split(',')
const seconds = Number(opt('--seconds', '10'))
const warmupS = Number(opt('--warmup', '6'))
const rounds = Number(opt('--rounds', '1'))
const withDirect = argv.includes('--direct')
const gcLog = !argv.includes('--no-gc-log')
const probe = argv.includes('--probe')
const streams = Number(opt('--streams', String(STREAMS)))
const CONNECTIONS = 64
const PROFILE = { latencyMs: 10, deltas: 16, tokensPerS: 0 }

const LOADS: Record<string, { path: string; direct: string; body: unknown }> = {
  chat: {
    path: '/v1/chat/completions',
    direct: '/v1/chat/completions',
    body: { model: 'bench', messages: [{ role: 'user', content: 'Say hello to the benchmark.' }], max_tokens: 16 },
  },
  json: { path: '/v1/responses', direct: '/v1/responses', body: { model: profileModel(PROFILE), input: 'Say hello to the benchmark.' } },
  'json-nostore': {
    path: '/v1/responses',
    direct: '/v1/responses',
    body: { model: profileModel(PROFILE), input: 'Say hello to the benchmark.', store: false },
  },
}

/** The bytes a file gained since `from` (the gateway's stderr: the GC log of the window). */
function tail(path: string, from: number): { text: string; size: number } {
  const fd = openSync(path, 'r')
  try {
    const size = fstatSync(fd).size
    const buf = Buffer.alloc(Math.max(0, size - from))
    readSync(fd, buf, 0, buf.length, from)
    return { text: buf.toString('utf8'), size }
  } finally {
    closeSync(fd)
  }
}

interface GcWindow {
  eden: number
  full: number
  /** per collection: ms the main thread was stopped */
  pausesMs: number[]
  /** heap kB after each collection */
  afterKb: number[]
}
/** JSC's logGC lines: a collection starts with "START", each stop of the mutator ends with "p=<ms>", "END" closes. */
function parseGc(text: string): GcWindow {
  const w: GcWindow = { eden: 0, full: 0, pausesMs: [], afterKb: [] }
  let current = -1
  for (const line of text.split('\n')) {
    if (!line.startsWith('[GC<')) continue
    if (line.includes(': START ')) {
      if (line.includes('EdenCollection')) w.eden++
      else w.full++
      w.pausesMs.push(0)
      current = w.pausesMs.length - 1
    }
    if (current < 0) continue // a collection begun before the window
    for (const m of line.matchAll(/ p=([\d.]+)ms/g)) w.pausesMs[current]! += Number(m[1])
    const after = line.match(/=> (\d+)kb, p=/)
    if (after) w.afterKb.push(Number(after[1]))
  }
  return w
}

/** The probe's lines (bench/loop-probe.ts) of a window: the loop's stalls and the long callbacks. */
interface ProbeWindow {
  /** per stall: ms late, and ms of it on a CPU, waiting for one */
  stalls: { late: number; run: number; wait: number }[]
  /** long callbacks by kind and name: how many, total and longest ms */
  tasks: Map<string, { n: number; ms: number; max: number }>
}
function parseProbe(text: string): ProbeWindow {
  const w: ProbeWindow = { stalls: [], tasks: new Map() }
  for (const line of text.split('\n')) {
    const stall = line.match(/^\[probe\] stall ([\d.]+) run ([\d.]+) wait ([\d.]+)/)
    if (stall) w.stalls.push({ late: Number(stall[1]), run: Number(stall[2]), wait: Number(stall[3]) })
    const task = line.match(/^\[probe\] task ([\d.]+) (.*)$/)
    if (task) {
      const t = w.tasks.get(task[2]!) ?? { n: 0, ms: 0, max: 0 }
      const ms = Number(task[1])
      t.n++
      t.ms += ms
      t.max = Math.max(t.max, ms)
      w.tasks.set(task[2]!, t)
    }
  }
  return w
}

/** A gateway under load: its pid and the file its stderr (GC log, probe lines) goes to. */
interface Watched {
  pid: number
  log: string
}
/** Where a gateway's window starts: its stderr's size, its threads' schedstat. */
const mark = (gw: Watched) => ({ logFrom: tail(gw.log, 0).size, threads: threadStats(gw.pid), faults: minorFaults(gw.pid) })

/** The process's minor page faults so far, all threads (/proc/<pid>/stat field 10): each costs ~14 µs on a slow VM. */
function minorFaults(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7])
}

/** What the gateway did from `from` to now: its threads' schedstat and its stderr's lines. */
const since = (gw: Watched, from: ReturnType<typeof mark>) => ({
  byName: threadStatsDelta(from.threads, threadStats(gw.pid)),
  faults: minorFaults(gw.pid) - from.faults,
  log: tail(gw.log, from.logFrom).text,
})

/**
 * The gateway's side of a window, as lines: its threads' CPU and run-queue wait, its GC pauses (with the GC log) and its
 * loop's stalls and long callbacks (with the probe); `count` things served (requests, tokens) to divide by.
 */
function gatewayLines({ byName, faults, log }: ReturnType<typeof since>, windowMs: number, count: number, unit: string): string {
  const perS = (ns: number) => (ns / 1e6 / (windowMs / 1000)).toFixed(1)
  const parts = [...byName]
    .sort((x, y) => y[1].runNs - x[1].runNs)
    .filter(([, s]) => s.runNs / 1e6 / (windowMs / 1000) >= 1)
    .map(([n, s]) => `${n} ${perS(s.runNs)}/${perS(s.waitNs)}`)
  const perUnit = [...byName.values()].reduce((t, s) => t + s.runNs, 0) / 1e3 / count
  const s1 = windowMs / 1000
  let text =
    `\n    threads, ms on CPU / waiting per s: ${parts.join(', ')}; ${perUnit.toFixed(perUnit < 100 ? 1 : 0)} µs CPU/${unit}; ` +
    `minor page faults ${(faults / s1).toFixed(0)}/s (${(faults / count).toFixed(2)}/${unit})`
  if (gcLog) {
    const gc = parseGc(log)
    const s = summarize(gc.pausesMs)
    const sum = gc.pausesMs.reduce((t, x) => t + x, 0)
    text +=
      `\n    GC: ${((gc.eden + gc.full) / s1).toFixed(1)} collections/s (${gc.eden} eden, ${gc.full} full), ` +
      `main thread stopped ${(sum / s1).toFixed(1)} ms/s (${((sum * 1000) / count).toFixed(1)} µs/${unit}); per collection p50 ${s.p50.toFixed(2)} p90 ${s.p90.toFixed(2)} max ${s.max.toFixed(2)} ms, ` +
      `${gc.pausesMs.filter((x) => x >= 1).length} ≥ 1 ms; heap after ${gc.afterKb.length ? `${Math.min(...gc.afterKb)}–${Math.max(...gc.afterKb)} kB` : '–'}`
  }
  if (probe) {
    const p = parseProbe(log)
    const late = summarize(p.stalls.map((x) => x.late))
    const total = (f: (x: ProbeWindow['stalls'][number]) => number) => (p.stalls.reduce((t, x) => t + f(x), 0) / s1).toFixed(1)
    // how much of each second a token arriving then would have waited more than d ms for the loop
    const beyond = [2, 5, 10].map((d) => `${d} ms ${total((x) => Math.max(0, x.late - d))}`).join(', ')
    text +=
      `\n    loop stalls ≥ 2 ms: ${(p.stalls.length / s1).toFixed(1)}/s, late p50 ${late.p50.toFixed(1)} p90 ${late.p90.toFixed(1)} p99 ${late.p99.toFixed(1)} max ${late.max.toFixed(1)} ms; ` +
      `${total((x) => x.late)} ms/s late, of the stalls' time ${total((x) => x.run)} ms/s on a CPU, ${total((x) => x.wait)} waiting for one; late beyond ${beyond} ms/s`
    const tasks = [...p.tasks]
      .sort((x, y) => y[1].ms - x[1].ms)
      .slice(0, 4)
      .map(([name, t]) => `${name}: ${(t.n / s1).toFixed(1)}/s, ${(t.ms / s1).toFixed(1)} ms/s, max ${t.max.toFixed(1)} ms`)
    text += `\n    callbacks ≥ 1 ms: ${tasks.length ? tasks.join('; ') : 'none'}`
  }
  return text
}

async function runWrk(url: string, body: unknown, gw?: Watched) {
  const dir = tempDir('agentgate-tail-')
  const bodyFile = join(dir, 'body.json')
  writeFileSync(bodyFile, JSON.stringify(body))
  const wrk = (s: number) =>
    Bun.spawn(
      ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${s}s`, '--timeout', '10s', '-s', join(BENCH_DIR, 'wrk/report.lua')].concat([
        '-H',
        `x-bench-profile: ${profileName(PROFILE)}`,
        url,
        '--',
        bodyFile,
      ]),
      { stdout: 'pipe', stderr: 'pipe' },
    )
  if (warmupS > 0) await wrk(warmupS).exited
  const from = gw ? mark(gw) : undefined
  const busy0 = machineBusyMs()
  const t0 = performance.now()
  const p = wrk(seconds)
  const [out] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  await p.exited
  const windowMs = performance.now() - t0
  const busy = machineBusyMs() - busy0
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
  if (!line) throw new Error(`wrk: ${out}`)
  const j = JSON.parse(line)
  const ms = (us: number) => (us / 1000).toFixed(2)
  let text = `${(j.requests / (j.duration_us / 1e6)).toFixed(0)} req/s, p50 ${ms(j.latency_us.p50)} p90 ${ms(j.latency_us.p90)} p99 ${ms(j.latency_us.p99)} max ${ms(j.latency_us.max)} ms; machine ${((busy / windowMs) * 100).toFixed(0)}%`
  if (gw && from) text += gatewayLines(since(gw, from), windowMs, j.requests, 'req')
  return text
}

/**
 * The LLM-like load (bench/scenarios/llm.ts) at `url`: the client's gap between tokens over its window, the main
 * threads' run-queue wait of the client and the upstream (and of the gateway, in its lines).
 */
async function runLlm(url: string, upstreamPid: number, gw: Watched | undefined, store: boolean) {
  const warm = Math.max(5, warmupS)
  const body = turnBody(LLM_TURN, store ? { stream: true } : { stream: true, store: false })
  const load = sseLoad({ url, body, concurrency: streams, warmupS: warm, durationS: seconds })
  await Bun.sleep(warm * 1000)
  const from = gw ? mark(gw) : undefined
  const up0 = threadSched(upstreamPid)
  const busy0 = machineBusyMs()
  const t0 = performance.now()
  await Bun.sleep(seconds * 1000)
  const windowMs = performance.now() - t0
  const busy = machineBusyMs() - busy0
  const up1 = threadSched(upstreamPid)
  const seen = gw && from ? since(gw, from) : null
  const { report: r } = await load
  const pct = (ms: number) => `${((ms / windowMs) * 100).toFixed(0)}%`
  const g = r.gapMs
  const text =
    `${(r.tokens / r.windowS).toFixed(0)} tokens/s, gap between tokens p50 ${g.p50.toFixed(1)} p90 ${g.p90.toFixed(1)} p99 ${g.p99.toFixed(1)} p99.9 ${g.p999.toFixed(1)} max ${g.max.toFixed(1)} ms, ` +
    `first token p50 ${r.firstTokenMs.p50.toFixed(0)} ms${r.errors ? `, ${r.errors} failed turns (${r.firstError})` : ''}; machine ${((busy / windowMs) * 100).toFixed(0)}%; ` +
    `main thread waiting for a CPU: client ${pct(r.clientMain.waitMs)}, upstream ${pct((up1.waitNs - up0.waitNs) / 1e6)}`
  // read at the window's end, divided by the client's count of tokens, known once it has reported
  return seen ? text + gatewayLines(seen, windowMs, r.tokens, 'token') : text
}

const up = await startServer(
  [process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0', '--latency-ms', '10', '--deltas', '16', '--tokens-per-s', '0'],
  { stderrFile: join(tempDir('agentgate-tail-up-'), 'upstream.log') },
)
try {
  const targets = bins.flatMap((bin) => variants.map((v) => ({ bin, ...v, label: `${bin}${variants.length > 1 ? ` [${v.name}]` : ''}` })))
  for (let r = 0; r < rounds; r++) {
    for (const load of loads) {
      const l = LOADS[load]
      if (!l && load !== 'llm' && load !== 'llm-nostore')
        throw new Error(`unknown load ${load}: ${Object.keys(LOADS).join(', ')}, llm, llm-nostore`)
      const run = (base: string, path: string, gw?: Watched) =>
        l ? runWrk(`${base}${path}`, l.body, gw) : runLlm(`${base}/v1/responses`, up.pid, gw, load === 'llm')
      if (withDirect) process.stdout.write(`round ${r + 1} ${load} direct: ${await run(up.url, l?.direct ?? '')}\n`)
      for (const t of r % 2 ? [...targets].reverse() : targets) {
        const home = tempDir('agentgate-tail-gw-')
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')))
        const log = join(home, 'gateway.log')
        // a relay of bench/token-split.ts (relay:pipe, relay:direct, …): what Bun itself costs, beside the gateways
        // not `bun run`: with BUN_OPTIONS' --preload (--probe) in front of it, `run` listed package.json's scripts and exited
        const bare = t.bin.startsWith('relay:') || t.bin === 'floor'
        const cmd =
          t.bin === 'floor'
            ? [process.execPath, join(BENCH_DIR, 'floor-proxy.ts'), '--upstream', `${up.url}/v1`]
            : t.bin.startsWith('relay:')
              ? [process.execPath, join(BENCH_DIR, 'token-split.ts'), '--relay', t.bin.slice(6), `${up.url}/v1`, ROOT]
              : [t.bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`]
        const gw = await startServer(cmd, {
          env: {
            ...env,
            ...t.env,
            ...(gcLog ? { BUN_JSC_logGC: '1' } : {}),
            // the probe is preloaded into the process serve re-executes too (fetch-cap.ts): harmless, it stops with it
            ...(probe ? { BUN_OPTIONS: `--preload ${join(BENCH_DIR, 'loop-probe.ts')}` } : {}),
            // a relay or the floor is a plain Bun process: Bun's fetch cap raised as serve raises it (README Limits)
            ...(bare ? { BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' } : {}),
            AGENTGATE_HOME: home,
          },
          cwd: home,
          stderrFile: log,
        })
        try {
          process.stdout.write(`round ${r + 1} ${load} ${t.label}: ${await run(gw.url, l?.path ?? '', { pid: gw.pid, log })}\n`)
        } finally {
          await gw.stop()
        }
      }
    }
  }
} finally {
  await stopAll()
  removeTempDirs()
}
