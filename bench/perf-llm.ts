#!/usr/bin/env bun
// The serving thread under the LLM-like load, sampled by Linux perf with the JavaScript frames named: `bun --cpu-prof`
// distorts this load 3–10×, perf at ~2 kHz does not. The target runs with BUN_JSC_logJIT=1 (JavaScriptCore then writes
// "Generated JIT code for <function>: [start, end)" to stderr for every compile); those lines, up to the end of the
// window, become /tmp/perf-<pid>.map, which perf reads for the JIT's anonymous code. (BUN_JSC_useJITDump=1 names only
// thunks and inline caches in this Bun, not functions, and its file's name is not one `perf inject --jit` accepts.)
// Bun's own code is stripped: native frames stay addresses, so time is split by the kind of the sampled frame (our
// JavaScript, Bun/JSC native, libc, kernel) and by the nearest named JavaScript frame above it.
//
//   bun run bench/perf-llm.ts <dist/agentgate | source tree | relay:direct|relay:pipe|…> [--store off] [--streams 500]
//                             [--warmup 8] [--seconds 6] [--out /tmp/perf-llm] [--top 40]
//
// Writes <out>.data (perf record -g of the main thread only) and keeps the map, for `perf report -i <out>.data`.
// Needs perf (linux-perf / linux-tools). One run: compare two targets in the same minutes, the machine is shared.
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BENCH_DIR, optionOf, ROOT, removeTempDirs, sseLoad, startServer, stopAll, tempDir, threadSched, turnBody } from './lib'
import { LLM_TURN } from './scenarios/llm'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
const target = argv[0] && !argv[0].startsWith('--') ? argv[0] : join(ROOT, 'dist/agentgate')
const store = opt('--store', 'on') !== 'off'
const streams = Number(opt('--streams', '500'))
const warmupS = Number(opt('--warmup', '8'))
const seconds = Number(opt('--seconds', '6'))
const out = opt('--out', '/tmp/perf-llm')
const top = Number(opt('--top', '40'))

/** JSC's logJIT lines of `log` (its first `bytes` bytes) as perf map lines; a later compile wins where code was reused. */
export function perfMap(log: string, bytes: number): string[] {
  const entries: { start: number; end: number; line: string }[] = []
  for (const l of readFileSync(log).subarray(0, bytes).toString('utf8').split('\n')) {
    const m = l.match(/^Generated JIT code for (.*): \[0x([0-9a-f]+), 0x([0-9a-f]+)\)/)
    if (!m) continue
    const name = m[1]!
      .replace(/^(Baseline|DFG) JIT code for /, '$1 ')
      .replace(/^FTL B3 code for /, 'FTL ')
      .replace(/:\[0x[^\]]*\]/, '')
      .replace(/\s+/g, '_')
    const start = Number.parseInt(m[2]!, 16)
    const end = Number.parseInt(m[3]!, 16)
    entries.push({ start, end, line: `${m[2]} ${(end - start).toString(16)} ${name}` })
  }
  const kept: typeof entries = []
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!
    if (!kept.some((k) => e.start < k.end && k.start < e.end)) kept.push(e)
  }
  return kept.map((k) => k.line)
}

/** `perf script` samples: the share of each kind of leaf frame, and of each nearest named JavaScript frame. */
function breakdown(script: string): string {
  const samples = script.split('\n\n').filter((s) => s.trim())
  const byKind = new Map<string, number>()
  const byFrame = new Map<string, number>()
  const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1)
  for (const s of samples) {
    const frames = s
      .split('\n')
      .map((l) => l.trim().match(/^([0-9a-f]+) (.*) \((.*)\)$/))
      .filter((f): f is RegExpMatchArray => f !== null)
    if (!frames.length) continue
    const dso = frames[0]![3]!
    const kind = dso.includes('kallsyms') ? 'kernel' : dso.includes('/perf-') ? 'javascript' : dso.includes('libc') ? 'libc' : 'Bun/JSC'
    add(byKind, kind)
    const js = frames.find((f) => f[3]!.includes('/perf-') && f[2] !== '[unknown]')
    add(byFrame, `${js ? js[2]!.replace(/#.*$/, '') : '(no JavaScript frame)'} ← ${kind}`)
  }
  const n = samples.length
  const list = (m: Map<string, number>, k: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([x, c]) => `${((c / n) * 100).toFixed(2).padStart(6)}%  ${x}`)
      .join('\n')
  return `${n} samples\nby the sampled frame's kind:\n${list(byKind, 4)}\nby the nearest named JavaScript frame ← the sampled frame's kind:\n${list(byFrame, top)}\n`
}

const home = tempDir('agentgate-perf-llm-')
const up = await startServer(
  [process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0', '--latency-ms', '10', '--deltas', '16', '--tokens-per-s', '0'],
  { stderrFile: join(home, 'upstream.log') },
)
const log = `${out}.stderr`
writeFileSync(log, '')
try {
  const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`]
  const cmd = target.startsWith('relay:')
    ? [process.execPath, join(BENCH_DIR, 'token-split.ts'), '--relay', target.slice(6), `${up.url}/v1`, ROOT]
    : /\/agentgate[^/]*$/.test(target)
      ? [resolve(target), ...serve]
      : [process.execPath, 'run', join(resolve(target), 'src/main.ts'), ...serve]
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')))
  // a relay is a plain Bun process: Bun's fetch cap raised as serve raises it (README Limits)
  const gw = await startServer(cmd, {
    env: { ...env, BUN_JSC_logJIT: '1', BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', AGENTGATE_HOME: home },
    cwd: home,
    stderrFile: log,
  })
  const body = turnBody(LLM_TURN, store ? { stream: true } : { stream: true, store: false })
  const load = sseLoad({ url: `${gw.url}/v1/responses`, body, concurrency: streams, warmupS, durationS: seconds })
  await Bun.sleep(warmupS * 1000)
  const s0 = threadSched(gw.pid)
  const t0 = performance.now()
  // the main thread only (-t: its tid is the pid), within the load's window
  const perf = Bun.spawn(
    ['perf', 'record', '-F', '1999', '-g', '-t', String(gw.pid), '-o', `${out}.data`, '--', 'sleep', String(seconds - 1)],
    {
      stdout: 'ignore',
      stderr: 'pipe',
    },
  )
  if ((await perf.exited) !== 0) throw new Error(`perf record failed: ${await new Response(perf.stderr).text()}`)
  const windowMs = performance.now() - t0
  const s1 = threadSched(gw.pid)
  const compiled = statSync(log).size
  const { report } = await load
  await gw.stop()
  const map = perfMap(log, compiled)
  writeFileSync(`/tmp/perf-${gw.pid}.map`, `${map.join('\n')}\n`)
  const tokensPerS = report.tokens / report.windowS
  const onCpu = (s1.runNs - s0.runNs) / 1e6 / (windowMs / 1000)
  const wait = (s1.waitNs - s0.waitNs) / 1e6 / (windowMs / 1000)
  process.stdout.write(
    `${target} store ${store ? 'on' : 'off'}: ${tokensPerS.toFixed(0)} tokens/s; main thread on a CPU ${onCpu.toFixed(0)} ms/s (${((onCpu * 1000) / tokensPerS).toFixed(2)} µs a token), waiting for one ${wait.toFixed(0)} ms/s; gap p50 ${report.gapMs.p50.toFixed(1)} p99 ${report.gapMs.p99.toFixed(1)} ms; ${map.length} compiled functions named (/tmp/perf-${gw.pid}.map)\n`,
  )
  const script = Bun.spawnSync(['perf', 'script', '-i', `${out}.data`, '-F', 'ip,sym,dso'], { stdout: 'pipe', stderr: 'ignore' })
  process.stdout.write(breakdown(script.stdout.toString()))
} finally {
  await stopAll()
  removeTempDirs()
}
