#!/usr/bin/env bun
// What sets the added latency of the per-request paths (the bench's pass-through and JSON turn rows: 64 connections,
// 10 ms upstream): the same wrk load as bench/scenarios/{passthrough,turns}.ts on a gateway, and over the measured
// window, read from the gateway itself: its garbage collector's pauses (JSC's own log, BUN_JSC_logGC=1, on stderr:
// every stop of the main thread with its length), its threads' CPU and run-queue wait (schedstat), and wrk's
// percentiles. So a p99 can be set against the pauses that could have caused it, not guessed from wall clock on a
// shared box.
//
//   bun run bench/tail-breakdown.ts [--bin dist/agentgate[,other]] [--variants 'base:|name:VAR=value,VAR=value']
//                                   [--loads chat,json,json-nostore] [--seconds 10] [--warmup 6] [--rounds 1]
//                                   [--direct] [--no-gc-log]
//
// --variants: named environments each gateway runs with (e.g. JSC options, BUN_JSC_<option>=value); every
// --bin runs with every variant, interleaved, the order flipped each round. --no-gc-log: without the GC log (it
// writes a few lines per collection; for wall-clock comparisons), and then no GC line.
// A collection's pause = the sum of its "p=" phases: the time JSC stopped the main thread for it (a concurrent
// collection stops it a few times). Pauses are wall clock: on a busy machine they include waiting for a CPU, so compare
// the counts and totals of runs whose "machine" shares are alike. What a request allocates, which is what the pauses
// grow with: bench/handle-cpu.ts --census.
import { openSync, readSync, closeSync, fstatSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BENCH_DIR,
  machineBusyMs,
  optionOf,
  ROOT,
  removeTempDirs,
  startServer,
  stopAll,
  summarize,
  tempDir,
  threadStats,
  threadStatsDelta,
} from './lib'
import { profileModel, profileName } from './upstream'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
const bins = opt('--bin', join(ROOT, 'dist/agentgate')).split(',')
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

async function runWrk(url: string, body: unknown, gw?: { pid: number; log: string }) {
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
  const logFrom = gw ? tail(gw.log, 0).size : 0
  const a = gw ? threadStats(gw.pid) : undefined
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
  if (gw && a) {
    const byName = threadStatsDelta(a, threadStats(gw.pid))
    const perS = (ns: number) => (ns / 1e6 / (windowMs / 1000)).toFixed(1)
    const parts = [...byName]
      .sort((x, y) => y[1].runNs - x[1].runNs)
      .filter(([, s]) => s.runNs / 1e6 / (windowMs / 1000) >= 1)
      .map(([n, s]) => `${n} ${perS(s.runNs)}/${perS(s.waitNs)}`)
    const perReq = [...byName.values()].reduce((t, s) => t + s.runNs, 0) / 1e3 / j.requests
    text += `\n    threads, ms on CPU / waiting per s: ${parts.join(', ')}; ${perReq.toFixed(0)} µs CPU/req`
    if (gcLog) {
      const gc = parseGc(tail(gw.log, logFrom).text)
      const s = summarize(gc.pausesMs)
      const sum = gc.pausesMs.reduce((t, x) => t + x, 0)
      text +=
        `\n    GC: ${((gc.eden + gc.full) / (windowMs / 1000)).toFixed(1)} collections/s (${gc.eden} eden, ${gc.full} full), ` +
        `main thread stopped ${(sum / (windowMs / 1000)).toFixed(1)} ms/s (${((sum * 1000) / j.requests).toFixed(1)} µs/req); per collection p50 ${s.p50.toFixed(2)} p90 ${s.p90.toFixed(2)} max ${s.max.toFixed(2)} ms, ` +
        `${gc.pausesMs.filter((x) => x >= 1).length} ≥ 1 ms; heap after ${gc.afterKb.length ? `${Math.min(...gc.afterKb)}–${Math.max(...gc.afterKb)} kB` : '–'}`
    }
  }
  return text
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
      if (!l) throw new Error(`unknown load ${load}: ${Object.keys(LOADS).join(', ')}`)
      if (withDirect) process.stdout.write(`round ${r + 1} ${load} direct: ${await runWrk(`${up.url}${l.direct}`, l.body)}\n`)
      for (const t of r % 2 ? [...targets].reverse() : targets) {
        const home = tempDir('agentgate-tail-gw-')
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')))
        const log = join(home, 'gateway.log')
        const gw = await startServer([t.bin, 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`], {
          env: { ...env, ...t.env, ...(gcLog ? { BUN_JSC_logGC: '1' } : {}), AGENTGATE_HOME: home },
          cwd: home,
          stderrFile: log,
        })
        try {
          process.stdout.write(`round ${r + 1} ${load} ${t.label}: ${await runWrk(`${gw.url}${l.path}`, l.body, { pid: gw.pid, log })}\n`)
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
