#!/usr/bin/env bun
// Where the time of a 1,000-delta SSE burst goes (the bench's streams rows): the same wrk load as
// bench/scenarios/streams.ts (8 connections, upstream l0-d1000-r0), direct and through a gateway, and over a window in
// the middle of each run every thread of every process involved (gateway, bench upstream, wrk) read from
// /proc/<pid>/task/<tid>/schedstat: time on a CPU and time runnable but waiting for one, per stream and as a share of
// the window, plus what the rest of the machine used. wrk with 8 connections is a closed loop: a stream's latency is
// 8 ÷ the rate, so this says whether that latency is the gateway's CPU, the other processes' CPU, or waiting.
//
//   bun run bench/burst-breakdown.ts [--bin dist/agentgate[,other/agentgate]] [--source /root/a,/root/b]
//                                    [--loads store,nostore] [--seconds 4] [--warmup 1] [--rounds 1] [--direct]
//
// --bin: compiled gateways to compare (default dist/agentgate); --source: source trees instead (bun run src/main.ts).
// --direct: also the same load straight to the upstream. Rounds interleave the gateways. --warmup: seconds of the load
// before the window (a fresh gateway's JIT keeps compiling the stream's path for 15-20 s: JITWorker in the lines).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BENCH_DIR,
  CLK_TCK,
  machineBusyMs,
  optionOf,
  ROOT,
  removeTempDirs,
  startServer,
  stopAll,
  tempDir,
  threadStats,
  threadStatsDelta,
} from './lib'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
const sources = argv.includes('--source') ? opt('--source', ROOT).split(',') : []
const bins = sources.length ? [] : opt('--bin', join(ROOT, 'dist/agentgate')).split(',')
const loads = opt('--loads', 'store,nostore').split(',')
const seconds = Number(opt('--seconds', '4'))
const rounds = Number(opt('--rounds', '1'))
const withDirect = argv.includes('--direct')
const warmupS = Number(opt('--warmup', '1'))
const CONNECTIONS = 8
const MODEL = 'bench-l0-d1000-r0'

/** Minor page faults, user and system CPU ms of a whole process so far (/proc/<pid>/stat). */
function procStat(pid: number): { minflt: number; userMs: number; sysMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { minflt: Number(f[7]), userMs: (Number(f[11]) * 1000) / CLK_TCK, sysMs: (Number(f[12]) * 1000) / CLK_TCK }
}
async function runWrk(url: string, body: unknown, pids: Record<string, number>) {
  const dir = tempDir('agentgate-burst-')
  const bodyFile = join(dir, 'body.json')
  writeFileSync(bodyFile, JSON.stringify(body))
  const total = warmupS + seconds + 1
  const p = Bun.spawn(
    ['wrk', '-t1', `-c${CONNECTIONS}`, `-d${total}s`, '--timeout', '10s', '-s', join(BENCH_DIR, 'wrk/report.lua'), url, '--', bodyFile],
    { stdout: 'pipe', stderr: 'pipe' },
  )
  const all = { ...pids, wrk: p.pid }
  await Bun.sleep(warmupS * 1000)
  const snap = () => Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, threadStats(pid)]))
  const busy0 = machineBusyMs()
  const procs0 = Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, procStat(pid)]))
  const a = snap()
  const t0 = performance.now()
  await Bun.sleep(seconds * 1000)
  const b = snap()
  const procs1 = Object.fromEntries(Object.entries(all).map(([k, pid]) => [k, procStat(pid)]))
  const windowMs = performance.now() - t0
  const busy = machineBusyMs() - busy0
  const [out] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  await p.exited
  const line = out.split('\n').find((l) => l.startsWith('{"requests"'))
  if (!line) throw new Error(`wrk: ${out}`)
  const j = JSON.parse(line)
  const rps = j.requests / (j.duration_us / 1e6)
  const streams = (rps * windowMs) / 1000
  const rows: string[] = []
  let oursMs = 0
  for (const [proc, snapA] of Object.entries(a)) {
    const d = threadStatsDelta(snapA, b[proc]!)
    let procRun = 0
    const parts: string[] = []
    for (const [name, s] of [...d].sort((x, y) => y[1].runNs - x[1].runNs)) {
      procRun += s.runNs
      if (s.runNs / 1e6 / streams < 0.005 && s.waitNs / 1e6 / streams < 0.005) continue
      parts.push(
        `${name} run ${(s.runNs / 1e6 / streams).toFixed(3)} wait ${(s.waitNs / 1e6 / streams).toFixed(3)} ms/stream ` +
          `(${((s.runNs / 1e6 / windowMs) * 100).toFixed(0)}% / ${((s.waitNs / 1e6 / windowMs) * 100).toFixed(0)}% of window, ${(s.slices / streams).toFixed(1)} slices)`,
      )
    }
    oursMs += procRun / 1e6
    const p0 = procs0[proc]!
    const p1 = procs1[proc]!
    rows.push(
      `  ${proc}: ${(procRun / 1e6 / streams).toFixed(3)} ms CPU/stream (user ${((p1.userMs - p0.userMs) / streams).toFixed(3)}, ` +
        `sys ${((p1.sysMs - p0.sysMs) / streams).toFixed(3)}), ${((p1.minflt - p0.minflt) / streams).toFixed(1)} minor faults/stream\n    ${parts.join('\n    ')}`,
    )
  }
  const others = busy - oursMs
  return (
    `${rps.toFixed(0)} streams/s, p50 ${(j.latency_us.p50 / 1000).toFixed(2)} ms, mean ${(j.latency_us.mean / 1000).toFixed(2)} ms; ` +
    `machine busy ${((busy / windowMs) * 100).toFixed(0)}% of ${navigator.hardwareConcurrency} cores x100, ` +
    `ours ${(oursMs / streams).toFixed(3)} ms CPU/stream, others ${((others / windowMs) * 100).toFixed(0)}%\n${rows.join('\n')}`
  )
}

const up = await startServer([process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0'], {
  stderrFile: join(tempDir('agentgate-burst-up-'), 'upstream.log'),
})
try {
  const targets = [
    ...bins.map((b) => ({ label: b, cmd: [b] })),
    ...sources.map((s) => ({ label: s, cmd: [process.execPath, 'run', join(s, 'src/main.ts')] })),
  ]
  for (let r = 0; r < rounds; r++) {
    for (const load of loads) {
      const body = { model: MODEL, input: 'Say hello to the benchmark.', stream: true, ...(load === 'nostore' ? { store: false } : {}) }
      if (withDirect) {
        const res = await runWrk(`${up.url}/v1/responses`, body, { upstream: up.pid })
        process.stdout.write(`round ${r + 1} ${load} direct: ${res}\n`)
      }
      for (const t of targets) {
        const home = tempDir('agentgate-burst-gw-')
        const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')))
        const gw = await startServer([...t.cmd, 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`], {
          env: { ...env, AGENTGATE_HOME: home },
          cwd: home,
          stderrFile: join(home, 'gateway.log'),
        })
        try {
          const res = await runWrk(`${gw.url}/v1/responses`, body, { gateway: gw.pid, upstream: up.pid })
          process.stdout.write(`round ${r + 1} ${load} ${t.label}: ${res}\n`)
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
