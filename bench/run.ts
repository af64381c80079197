#!/usr/bin/env bun
// `bun run bench`: the gateway against the same load sent straight to a fake upstream, scenario by
// scenario, on loopback. Prints markdown and writes bench/results/latest.md and a JSON file per run.
// See bench/README.md for what is measured and how to read it.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureBinary } from '../test/support/binary'
import {
  BENCH_DIR,
  fmt,
  haveWrk,
  machineInfo,
  machineLine,
  markdownTable,
  removeTempDirs,
  ROOT,
  startGateway,
  startServer,
  stopAll,
  tempDir,
  withOthersLoad,
  type Ctx,
  type GatewayLauncher,
  type ScenarioResult,
} from './lib'
import { chains } from './scenarios/chains'
import { passthrough } from './scenarios/passthrough'
import { responses } from './scenarios/responses'
import { startup } from './scenarios/startup'
import { websocket } from './scenarios/websocket'
import { profileName, type Profile } from './upstream'

const SCENARIOS: Record<string, (ctx: Ctx) => Promise<ScenarioResult>> = { startup, websocket, passthrough, responses, chains }

const HELP = `Usage: bun run bench [options]

Runs every scenario (${Object.keys(SCENARIOS).join(', ')}) against the gateway and, side by side,
directly against bench/upstream.ts; prints markdown and writes bench/results/. Needs wrk on PATH.

Options:
  --quick              1–2 minute smoke run (2 s per point, fewer points); results go to *-quick files
  --source             run the gateway from source (bun run src/main.ts) instead of dist/agentgate
  --only a,b           only these scenarios (results go to *-partial files)
  --duration S         seconds per measured point (default 5, quick 2)
  --warmup S           seconds of warm-up before each point (default 1)
  --ttft-ms N          upstream turn: ms to the first token (default 10)
  --deltas N           upstream turn: tokens per answer (default 16)
  --tokens-per-s N     upstream turn: token rate, 0 = no delay (default 1000)
  --retries N          run a scenario again when other processes used > 10% of the CPU during it,
                       keeping the less disturbed result (default 1, quick 0)
  --help               this help
`

interface Target {
  label: string
  metric: string
  max?: number
  min?: number
  unit: string
}

// The targets of issue 8. Where a target can be read two ways (CPU-bound vs a paced upstream, 1 vs 64
// concurrent) both rows are shown.
const TARGETS: Target[] = [
  {
    label: 'pass-through req/s vs direct: chat completions (instant upstream, 64 conns)',
    metric: 'passthrough.chat.instant.ratio',
    min: 0.9,
    unit: '×',
  },
  {
    label: 'pass-through req/s vs direct: /v1/models (instant upstream, 64 conns)',
    metric: 'passthrough.models.instant.ratio',
    min: 0.9,
    unit: '×',
  },
  {
    label: 'pass-through added p50, 64 conns (upstream takes 20 ms)',
    metric: 'passthrough.chat.paced20ms.added_p50_ms',
    max: 0.3,
    unit: 'ms',
  },
  {
    label: 'pass-through added p99, 64 conns (upstream takes 20 ms)',
    metric: 'passthrough.chat.paced20ms.added_p99_ms',
    max: 2,
    unit: 'ms',
  },
  {
    label: 'pass-through added p50, 64 conns (instant upstream, CPU-bound)',
    metric: 'passthrough.chat.instant.added_p50_ms',
    max: 0.3,
    unit: 'ms',
  },
  {
    label: 'pass-through added p99, 64 conns (instant upstream, CPU-bound)',
    metric: 'passthrough.chat.instant.added_p99_ms',
    max: 2,
    unit: 'ms',
  },
  { label: 'stateful JSON turn added p50, 1 at a time', metric: 'responses.json.c1.added_p50_ms', max: 2, unit: 'ms' },
  {
    label: 'stateful JSON turn added p50, 64 concurrent (64 × 25 ms turns ask for 2,500/s: saturated)',
    metric: 'responses.json.c64.added_p50_ms',
    max: 2,
    unit: 'ms',
  },
  { label: 'stateful SSE turn added p50 (whole stream), 1 at a time', metric: 'responses.sse.c1.added_total_p50_ms', max: 2, unit: 'ms' },
  { label: '1000-item chain rehydration through HTTP, p50', metric: 'chains.n1000.rehydration_p50_ms', max: 5, unit: 'ms' },
  {
    label: '1000-item chain `loadChain` in the store, median (500 turns × 2 items)',
    metric: 'chains.store.500x1x1.median_ms',
    max: 5,
    unit: 'ms',
  },
  { label: 'idle RSS after start', metric: 'startup.idle_rss_mib', max: 50, unit: 'MiB' },
  { label: 'idle RSS after a first 100 requests', metric: 'startup.idle_rss_after_requests_mib', max: 50, unit: 'MiB' },
  { label: `gateway RSS with 1000 idle WebSockets`, metric: 'websocket.idle.rss_with_sockets_mib', max: 200, unit: 'MiB' },
]

function parseArgs(argv: string[]) {
  const opts = {
    quick: false,
    source: false,
    only: null as string[] | null,
    duration: NaN,
    warmup: 1,
    ttft: 10,
    deltas: 16,
    rate: 1000,
    retries: NaN,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = () => {
      const v = Number(argv[++i])
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a} needs a number`)
      return v
    }
    if (a === '--help' || a === '-h') return null
    else if (a === '--quick') opts.quick = true
    else if (a === '--source') opts.source = true
    else if (a === '--only') opts.only = (argv[++i] ?? '').split(',').filter(Boolean)
    else if (a === '--duration') opts.duration = num()
    else if (a === '--warmup') opts.warmup = num()
    else if (a === '--ttft-ms') opts.ttft = num()
    else if (a === '--deltas') opts.deltas = Math.max(1, Math.round(num()))
    else if (a === '--tokens-per-s') opts.rate = num()
    else if (a === '--retries') opts.retries = Math.round(num())
    else throw new Error(`unknown option ${a} (see --help)`)
  }
  for (const s of opts.only ?? [])
    if (!SCENARIOS[s]) throw new Error(`unknown scenario "${s}" (known: ${Object.keys(SCENARIOS).join(', ')})`)
  if (Number.isNaN(opts.duration)) opts.duration = opts.quick ? 2 : 5
  if (Number.isNaN(opts.retries)) opts.retries = opts.quick ? 0 : 1
  return opts
}

/** Share of the machine's CPU used by other processes above which a scenario's numbers are not trusted. */
const DISTURBED = 0.1

const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`)

function targetRows(metrics: Record<string, number>): { rows: string[][]; json: unknown[] } {
  const rows: string[][] = []
  const json: unknown[] = []
  for (const t of TARGETS) {
    const v = metrics[t.metric]
    const measured = v === undefined || !Number.isFinite(v) ? null : v
    const met = measured === null ? null : (t.max === undefined || measured <= t.max) && (t.min === undefined || measured >= t.min)
    const target = t.max !== undefined ? `≤ ${t.max} ${t.unit}` : `≥ ${t.min}${t.unit}`
    rows.push([
      t.label,
      target,
      measured === null ? 'not measured' : `${fmt(measured, t.unit === 'MiB' ? 1 : 2)}${t.unit === '×' ? '×' : ` ${t.unit}`}`,
      met === null ? '–' : met ? 'met' : '**not met**',
    ])
    json.push({ ...t, measured, met })
  }
  return { rows, json }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2))
  if (!opts) {
    process.stdout.write(HELP)
    return 0
  }
  if (!(await haveWrk())) {
    process.stderr.write('bench: wrk is not installed. Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk.\n')
    return 2
  }
  const started = performance.now()
  const machine = await machineInfo()
  const load = (await Bun.file('/proc/loadavg').text()).split(' ').slice(0, 3).join(' ')

  let launcher: GatewayLauncher
  if (opts.source) launcher = { mode: 'source', command: [process.execPath, 'run', join(ROOT, 'src/main.ts')] }
  else {
    log('checking dist/agentgate (builds it when missing or older than the sources)')
    const bin = await ensureBinary()
    if (bin.built) log('built dist/agentgate')
    launcher = { mode: 'binary', command: [bin.path] }
  }

  const turnProfile: Profile = { latencyMs: opts.ttft, deltas: opts.deltas, tokensPerS: opts.rate }
  const upDir = tempDir('agentgate-bench-up-')
  const up = await startServer(
    [
      process.execPath,
      'run',
      join(BENCH_DIR, 'upstream.ts'),
      '--port',
      '0',
      '--latency-ms',
      String(turnProfile.latencyMs),
      '--deltas',
      String(turnProfile.deltas),
      '--tokens-per-s',
      String(turnProfile.tokensPerS),
    ],
    { stderrFile: join(upDir, 'upstream.log') },
  )
  const ctx: Ctx = {
    quick: opts.quick,
    durationS: opts.duration,
    warmupS: opts.warmup,
    upstream: `${up.url}/v1`,
    turnProfile,
    launcher,
    gateway: (extra) => startGateway(launcher, `${up.url}/v1`, extra),
    log,
  }

  const names = opts.only ?? Object.keys(SCENARIOS)
  const results: (ScenarioResult & { seconds: number; othersShare: number })[] = []
  const failures: string[] = []
  const runScenario = async (name: string) => {
    const r = await withOthersLoad(
      () => [up.pid],
      () => SCENARIOS[name](ctx),
    )
    r.value.metrics[`${name}.others_cpu_share`] = r.othersShare
    log(`${name} done in ${r.seconds.toFixed(0)} s; other processes used ${(r.othersShare * 100).toFixed(0)}% of the machine meanwhile`)
    return { ...r.value, seconds: r.seconds, othersShare: r.othersShare }
  }
  for (const name of names) {
    try {
      results.push(await runScenario(name))
    } catch (e) {
      failures.push(`${name}: ${(e as Error)?.message ?? e}`)
      log(`${name} FAILED: ${(e as Error)?.stack ?? e}`)
    }
  }
  // A scenario that other processes disturbed runs again at the end (when they may be done); the less
  // disturbed of the two is kept.
  for (let round = 0; round < opts.retries; round++) {
    for (const [i, r] of results.entries()) {
      if (r.othersShare <= DISTURBED) continue
      log(`${r.name}: other processes used ${(r.othersShare * 100).toFixed(0)}% of the machine; running it again`)
      const again = await runScenario(r.name).catch((e) => {
        log(`${r.name} FAILED on retry: ${(e as Error)?.message ?? e}`)
        return null
      })
      if (again && again.othersShare < r.othersShare) results[i] = again
    }
  }
  await up.stop()

  const metrics: Record<string, number> = Object.assign({}, ...results.map((r) => r.metrics))
  const targets = targetRows(metrics)
  const kind = opts.quick ? 'quick' : opts.only ? 'partial' : 'full'
  const suffix = kind === 'full' ? '' : `-${kind}`
  const elapsedS = (performance.now() - started) / 1000
  const p = turnProfile

  const md = [
    `# agentgate benchmark (${kind} run)`,
    '',
    `Machine: ${machineLine(machine)}; load average at start ${load}.`,
    '',
    `Gateway: ${launcher.mode === 'binary' ? '`dist/agentgate` (compiled)' : '`bun run src/main.ts` (from source)'}, default settings, a fresh SQLite home per scenario. ` +
      `Upstream: \`bench/upstream.ts\` (its own process; model turn: first token after ${p.latencyMs} ms, ${p.deltas} tokens at ${p.tokensPerS || '∞'} tok/s = \`${profileName(p)}\`). ` +
      `Load: wrk 4 (1 thread) and a Bun client, ${opts.duration} s per point after ${opts.warmup} s warm-up, loopback only. ` +
      `**All ${machine.nproc} cores are shared by the load generator, the gateway and the upstream (nothing pinned)**, so "direct" runs with one process fewer competing: ` +
      `ratios and added latencies under CPU-bound load overstate what a gateway on its own cores would add. Added = gateway percentile − direct percentile.`,
    '',
    `Run time ${elapsedS.toFixed(0)} s. CPU used by other processes on the machine while each scenario ran: ${results.map((r) => `${r.name} ${(r.othersShare * 100).toFixed(0)}%`).join(', ')} ` +
      `(above 10% the numbers are disturbed).${failures.length ? ` **Failed scenarios:** ${failures.join('; ')}` : ''}`,
    '',
    '## Targets (issue 8)',
    '',
    markdownTable({ headers: ['target', 'goal', 'measured', ''], rows: targets.rows }),
    ...results.flatMap((r) => [
      `## ${r.name}`,
      '',
      `${r.seconds.toFixed(0)} s; other processes on the machine used ${(r.othersShare * 100).toFixed(0)}% of its CPU meanwhile${r.othersShare > DISTURBED ? ' — **these numbers are disturbed by them; rerun on a quiet machine**' : ''}.`,
      '',
      ...r.tables.map(markdownTable),
    ]),
  ].join('\n')

  process.stdout.write(md + '\n')
  const outDir = join(BENCH_DIR, 'results')
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, `latest${suffix}.md`), md + '\n')
  const stamp = machine.date
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
    .replace('T', '-')
  const jsonPath = join(outDir, `${stamp}-${machine.git.sha}${suffix}.json`)
  writeFileSync(
    jsonPath,
    JSON.stringify(
      {
        kind,
        machine,
        loadAverage: load,
        gateway: launcher.mode,
        options: { ...opts, turnProfile: profileName(p) },
        elapsedS,
        failures,
        targets: targets.json,
        metrics,
        tables: Object.fromEntries(results.map((r) => [r.name, r.tables])),
      },
      null,
      2,
    ) + '\n',
  )
  log(`wrote bench/results/latest${suffix}.md and ${jsonPath.slice(ROOT.length + 1)} (${elapsedS.toFixed(0)} s)`)
  return failures.length ? 1 : 0
}

let exiting = false
const cleanup = async () => {
  await stopAll()
  removeTempDirs()
}
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, async () => {
    if (exiting) return
    exiting = true
    log(`${sig}: stopping`)
    await cleanup()
    process.exit(130)
  })

// Nothing here may run for ever: a hung scenario ends the run.
const watchdog = setTimeout(async () => {
  log('the run took longer than 20 minutes; stopping')
  await cleanup()
  process.exit(1)
}, 20 * 60_000)

main().then(
  async (code) => {
    clearTimeout(watchdog)
    await cleanup()
    process.exit(code)
  },
  async (e) => {
    clearTimeout(watchdog)
    process.stderr.write(`bench: ${(e as Error)?.stack ?? e}\n`)
    await cleanup()
    process.exit(1)
  },
)
