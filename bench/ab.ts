#!/usr/bin/env bun
// Two compiled gateways compared in the same hour: the benchmark's own scenarios (bench/run.ts --binary) run for each
// in turn, pair after pair, the order flipped every pair so a machine that speeds up or slows down during the run
// favours neither. The host under this benchmark is shared and not equally fast from hour to hour (the same binary's
// CPU per event has read a third apart an hour later), so two full runs at different hours cannot compare commits;
// this can. Besides the raw numbers it prints the gateway's CPU as a multiple of the upstream's in the same run
// (bench/upstream.ts is the same code for both), which moves least with the machine.
//
//   bun run bench/ab.ts --binaries OLD,NEW [--only streams,turns] [--pairs 3] [--quick]
//
// Build the two first, e.g. `git worktree add /tmp/old <commit> && (cd /tmp/old && bun install && bun run build.ts)`,
// then `--binaries /tmp/old/dist/agentgate,dist/agentgate`. Each run's files go to bench/results/ as *-partial
// (or *-quick) files, as any --only run's; nothing here changes latest.md.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BENCH_DIR, fmt, markdownTable, median } from './lib'

const HELP = `Usage: bun run bench/ab.ts --binaries OLD,NEW [--only streams,turns] [--pairs 3] [--quick]

Runs bench/run.ts --only <scenarios> --binary <each> alternately (OLD NEW, then NEW OLD, ...) and prints,
per metric, each binary's values and medians: the raw numbers, and the gateway's CPU divided by the
upstream's CPU in the same run (steadier between minutes than either alone); for pass-through also
divided by the floor's (a bare Bun proxy under the same load in the same run).

Options:
  --binaries A,B   the two compiled gateways (required)
  --only a,b       bench scenarios to run (default streams,turns; those with an upstream CPU reference:
                   streams, turns, passthrough, postgres)
  --pairs N        rounds of both binaries (default 3)
  --quick          pass --quick to each run (shorter points)
  --help           this help
`

interface Opts {
  binaries: [string, string]
  only: string
  pairs: number
  quick: boolean
}

function parseArgs(argv: string[]): Opts | null {
  let binaries: string[] = []
  let only = 'streams,turns'
  let pairs = 3
  let quick = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') return null
    else if (a === '--binaries') binaries = (argv[++i] ?? '').split(',').filter(Boolean)
    else if (a === '--only') only = argv[++i] ?? ''
    else if (a === '--pairs') pairs = Number(argv[++i])
    else if (a === '--quick') quick = true
    else throw new Error(`unknown option ${a} (see --help)`)
  }
  if (binaries.length !== 2) throw new Error('--binaries needs two paths, OLD,NEW')
  if (!Number.isInteger(pairs) || pairs < 1) throw new Error('--pairs needs a whole number ≥ 1')
  return { binaries: [resolve(binaries[0]!), resolve(binaries[1]!)], only, pairs, quick }
}

/** One bench run of one binary: its metrics (read back from the JSON file it wrote). */
async function benchRun(binary: string, opts: Opts): Promise<Record<string, number>> {
  const args = ['run', join(BENCH_DIR, 'run.ts'), '--only', opts.only, '--binary', binary, ...(opts.quick ? ['--quick'] : [])]
  const proc = Bun.spawn([process.execPath, ...args], { stdout: 'ignore', stderr: 'pipe' })
  let log = ''
  const decoder = new TextDecoder()
  for await (const chunk of proc.stderr) {
    const text = decoder.decode(chunk, { stream: true })
    log += text
    // the run's own progress lines, indented under ours
    for (const line of text.split('\n')) if (/ done in | FAILED| SKIPPED/.test(line)) process.stderr.write(`  ${line.trim()}\n`)
  }
  const code = await proc.exited
  const json = log.match(/wrote \S+ and (\S+\.json)/)?.[1]
  if (code !== 0 || !json) throw new Error(`bench run of ${binary} failed (exit ${code}):\n${log.slice(-2000)}`)
  return (JSON.parse(readFileSync(join(BENCH_DIR, '..', json), 'utf8')) as { metrics: Record<string, number> }).metrics
}

/** The metrics a pair compares: rates against direct, added latency, the gateway's CPU, and how disturbed the run was. */
const COMPARED = new RegExp(
  `\\.(${['ratio', 'added_p50_ms', 'added_p99_ms', 'added_gap_p99_ms', 'gw_cpu_pct', 'gw_main_run_pct', 'gw_cpu_ms_per_req', 'gw_cpu_us_per_event', 'others_cpu_share', 'cpu_ratio', 'added_ratio', 'gw_cpu_turn10_ms', 'gw_cpu_turn300_ms'].join('|')})$`,
)

/** The metrics worth comparing, with the gateway ÷ upstream CPU of each point that has both. */
function comparable(m: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(m)) {
    if (COMPARED.test(k)) out[k] = v
    const up = k.replace(/\.gw_cpu_(ms_per_req|us_per_event)$/, '.upstream_cpu_$1')
    if (up !== k && Number.isFinite(m[up]) && m[up]! > 0) out[`${k.slice(0, k.lastIndexOf('.'))}.gw_cpu ÷ upstream_cpu`] = v / m[up]!
    // pass-through: the gateway's CPU a request over the bare Bun proxy's (bench/floor-proxy.ts) under the same load
    // in the same run: the floor is the same code in every run, so it reads the machine's speed at that minute under
    // the very load the gateway gets (in one pair its CPU a request read 10–13% apart between the two runs)
    const floor = k.replace(/^passthrough\.chat\.(\w+)\.gw_cpu_ms_per_req$/, 'passthrough.floor.$1.gw_cpu_ms_per_req')
    if (floor !== k && Number.isFinite(m[floor]) && m[floor]! > 0)
      out[`${k.slice(0, k.lastIndexOf('.'))}.gw_cpu ÷ floor_cpu`] = v / m[floor]!
  }
  return out
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2))
  if (!opts) {
    process.stdout.write(HELP)
    return 0
  }
  const runs: Record<string, number>[][] = [[], []]
  for (let pair = 0; pair < opts.pairs; pair++) {
    const order = pair % 2 === 0 ? [0, 1] : [1, 0]
    for (const which of order) {
      process.stderr.write(`ab: pair ${pair + 1}/${opts.pairs}, ${which === 0 ? 'OLD' : 'NEW'} (${opts.binaries[which]})\n`)
      runs[which]!.push(comparable(await benchRun(opts.binaries[which]!, opts)))
    }
  }
  const keys = Object.keys(runs[0]![0]!).filter((k) => runs.every((r) => r.every((m) => Number.isFinite(m[k]))))
  const digits = (k: string) => (k.endsWith('_share') ? 2 : 3)
  const rows = keys.map((k) => {
    const [a, b] = runs.map((r) => r.map((m) => m[k]!))
    const [ma, mb] = [median(a!), median(b!)]
    return [
      k,
      `${fmt(ma, digits(k))} [${a!.map((v) => fmt(v, digits(k))).join(', ')}]`,
      `${fmt(mb, digits(k))} [${b!.map((v) => fmt(v, digits(k))).join(', ')}]`,
      ma ? `${fmt(mb / ma, 2)}×` : '–',
    ]
  })
  process.stdout.write(
    `OLD ${opts.binaries[0]}\nNEW ${opts.binaries[1]}\n${opts.pairs} pairs of \`bench --only ${opts.only}${opts.quick ? ' --quick' : ''}\`, order flipped every pair.\n\n` +
      `${markdownTable({ headers: ['metric', 'OLD: median [runs]', 'NEW: median [runs]', 'NEW ÷ OLD'], rows })}\n\n` +
      'others_cpu_share: the share of the machine other processes used during that scenario (above 0.10 the run is disturbed).\n',
  )
  return 0
}

if (import.meta.main)
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`ab: ${(e as Error)?.message ?? e}\n`)
      process.exit(2)
    },
  )
