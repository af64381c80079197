#!/usr/bin/env bun
// Gateway CPU per stateful turn and per streamed event, for comparing commits (or worktrees) back to back on a
// noisy machine: the same load against a fresh gateway from each source tree, interleaved round by round, CPU
// from /proc (the steadiest number on a shared box; wall-clock rates are printed but move with the neighbours).
//
//   bun run bench/turn-cpu.ts [--roots /path/a,/path/b] [--loads json,json-nostore,sse,sse-nostore,tok,tok-nostore,chat,models]
//                             [--requests 2000] [--streams 200] [--deltas 1000] [--concurrency 8] [--rounds 3] [--postgres]
//                             [--tok-model bench-l0-d250-r50] [--tok-streams 400] [--tok-concurrency 200] [--latency-ms 0]
//                             [--threads] [--warmup-ms 1500]
//
// --threads: each line also splits the gateway's CPU by thread, in µs per turn (request, stream): the main JavaScript
// thread (with its user and system time), Bun's HTTP client thread, the GC helpers, the JIT, the WAL checkpointer (a
// Worker). The main thread is the one a saturated gateway waits for. It also shows how much of a short run is the JIT
// still compiling the turn's path after --warmup-ms (json after 1.5 s: JITWorker about 70 µs of a 235 µs turn; the
// bench's turns scenario warms up 6 s for this reason): a longer warm-up (--warmup-ms 6000) steadies json numbers.
// --postgres: each gateway on a fresh database of the test PostgreSQL server (test/support/postgres.ts); the line also
// gives that server's CPU per turn (its postmaster and backends, from /proc: the server shares the machine's cores).
// json*: POST /v1/responses JSON, model bench-l0-d16-r0; sse*: streamed turns of --deltas deltas, instant upstream;
// tok*: the realistic token-by-token stream (one event per upstream chunk): --tok-concurrency turns at once of
// --tok-model (default 250 tokens at 50 tok/s, 5 s a turn), --tok-streams of them measured after one round of warm-up;
// chat: POST /v1/chat/completions passed through, CPU per request; models: GET /v1/models passed through. Both against an
// upstream that answers at once, or after --latency-ms (e.g. 10 with --concurrency 64: the bench's pass-through load).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BENCH_DIR,
  closedLoop,
  cpuMs,
  median,
  optionOf,
  removeTempDirs,
  ROOT,
  startServer,
  stopAll,
  tempDir,
  threadCpuByName,
  threadSplit,
} from './lib'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
const roots = opt('--roots', ROOT).split(',')
const loads = opt('--loads', 'json,json-nostore,sse,sse-nostore').split(',')
const requests = Number(opt('--requests', '2000'))
const streams = Number(opt('--streams', '200'))
const deltas = Number(opt('--deltas', '1000'))
const concurrency = Number(opt('--concurrency', '8'))
const rounds = Number(opt('--rounds', '3'))
const latencyMs = Number(opt('--latency-ms', '0'))
const postgres = argv.includes('--postgres')
const threads = argv.includes('--threads')
const warmupMs = Number(opt('--warmup-ms', '1500'))
const tokModel = opt('--tok-model', 'bench-l0-d250-r50')
const tokStreams = Number(opt('--tok-streams', '400'))
const tokConcurrency = Number(opt('--tok-concurrency', '200'))
const { createTestDatabase } = postgres ? await import('../test/support/postgres') : { createTestDatabase: null }
let databases = 0

async function sseTurn(url: string, body: unknown): Promise<number> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  if (!text.includes('event: response.completed')) throw new Error(`stream did not complete: ${text.slice(-300)}`)
  return text.split('\n\n').length - 1
}

/** CPU ms so far of the PostgreSQL server listening on `port`: its postmaster and every process it started. */
function postgresCpuMs(port: string): number {
  const stats = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        return [{ pid: Number(pid), cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8'), stat: readFileSync(`/proc/${pid}/stat`, 'utf8') }]
      } catch {
        return [] // exited meanwhile
      }
    })
  const master = stats.find((p) => p.cmd.includes('postgres') && p.cmd.split('\0').join(' ').includes(`-p ${port}`))
  if (!master) return Number.NaN
  let ms = 0
  for (const p of stats) {
    const fields = p.stat.slice(p.stat.lastIndexOf(')') + 2).split(' ')
    if (p.pid === master.pid || Number(fields[1]) === master.pid) ms += cpuMs(p.pid)
  }
  return ms
}

async function measure(root: string, upstream: string, load: string): Promise<string> {
  const home = tempDir('agentgate-turn-cpu-')
  const env: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')),
  )
  const pg = createTestDatabase ? await createTestDatabase(`turncpu${process.pid}x${++databases}`) : null
  if (createTestDatabase && !pg) throw new Error('--postgres: no PostgreSQL server (see test/support/postgres.ts)')
  if (pg) env.AGENTGATE_DATABASE_URL = pg.url
  const gw = await startServer(
    [process.execPath, 'run', join(root, 'src/main.ts'), 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', upstream],
    { env: { ...env, AGENTGATE_HOME: home }, cwd: home, stderrFile: join(home, 'gateway.log') },
  )
  try {
    const chat = load === 'chat'
    const models = load === 'models'
    const url = chat ? `${gw.url}/v1/chat/completions` : models ? `${gw.url}/v1/models` : `${gw.url}/v1/responses`
    const store = !load.endsWith('-nostore')
    const tok = load.startsWith('tok')
    const sse = tok || load.startsWith('sse')
    const body = sse
      ? { model: tok ? tokModel : `bench-l0-d${deltas}-r0`, input: 'Say hello to the benchmark.', stream: true, store }
      : chat
        ? { model: 'bench-l0-d16-r0', messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] }
        : { model: 'bench-l0-d16-r0', input: 'Say hello to the benchmark.', store }
    const profile = { 'x-bench-profile': `l${latencyMs}` }
    const headers = { 'content-type': 'application/json', ...(chat ? profile : {}) }
    const one = sse
      ? () => sseTurn(url, body)
      : () =>
          fetch(url, models ? { headers: profile } : { method: 'POST', headers, body: JSON.stringify(body) }).then(async (r) => {
            if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`)
            await r.arrayBuffer()
            return 1
          })
    // warm-up: JIT, caches, the database's first pages (tok: one turn per client, each takes seconds)
    const clients = tok ? tokConcurrency : concurrency
    if (tok) await Promise.all(Array.from({ length: clients }, one))
    else await closedLoop(concurrency, 0, warmupMs, one)
    const n = tok ? tokStreams : sse ? streams : requests
    let left = n
    let events = 0
    const pgPort = pg ? new URL(pg.url).port : null
    const pg0 = pgPort ? postgresCpuMs(pgPort) : 0
    const cpu0 = cpuMs(gw.pid)
    const threads0 = threads ? threadCpuByName(gw.pid) : null
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (left-- > 0) {
          const k = await one() // not `events += await one()`: that reads `events` before the await
          events += k
        }
      }),
    )
    const wall = (performance.now() - t0) / 1000
    const cpu = cpuMs(gw.pid) - cpu0
    const server = pgPort ? `, PostgreSQL server ${((postgresCpuMs(pgPort) - pg0) / n).toFixed(3)} ms/turn` : ''
    const split = threads0
      ? `; µs per ${sse ? 'stream' : chat || models ? 'request' : 'turn'}: ${threadSplit(threads0, threadCpuByName(gw.pid), n)}`
      : ''
    return (
      (sse
        ? `${((cpu * 1000) / events).toFixed(2)} µs/event (${(n / wall).toFixed(0)} streams/s, ${(cpu / n).toFixed(2)} ms/stream)`
        : `${(cpu / n).toFixed(3)} ms/${chat || models ? 'request' : 'turn'} (${(n / wall).toFixed(0)} req/s${server})`) + split
    )
  } finally {
    await gw.stop()
    await pg?.drop()
  }
}

const up = await startServer([process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0'], {
  stderrFile: join(tempDir('agentgate-turn-cpu-up-'), 'upstream.log'),
})
const results = new Map<string, string[]>()
try {
  for (let r = 0; r < rounds; r++)
    for (const load of loads)
      for (const root of roots) {
        const line = await measure(root, `${up.url}/v1`, load)
        const key = `${load}\t${root}`
        results.set(key, [...(results.get(key) ?? []), line])
        process.stdout.write(`round ${r + 1} ${load} ${root}: ${line}\n`)
      }
  process.stdout.write('\nsummary (median of the first number per round)\n')
  for (const [key, lines] of results) {
    const first = lines.map((l) => Number.parseFloat(l))
    process.stdout.write(`${key}\t${median(first).toFixed(3)}\t[${first.join(', ')}]\n`)
  }
} finally {
  await stopAll()
  removeTempDirs()
}
