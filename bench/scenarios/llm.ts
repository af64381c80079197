// An LLM-like load (issue 13): 500 concurrent streamed turns, each token 20 ms after the last (50
// tokens/s per stream, 25,000 tokens/s in all), turns back to back for 60 s (quick: 10 s), store on.
// The load comes from bench/sse-load.ts, its own process. Read: the gateway's CPU (% of one core) and
// RSS while it relays them, and the gap between consecutive tokens of a stream at p99 through the
// gateway minus the same straight from the upstream.
import { type Ctx, fmt, type Gateway, type ScenarioResult, signed, sleep, sseLoad, threadSched, turnBody } from '../lib'
import type { LoadReport } from '../sse-load'
import { profileName, type Profile } from '../upstream'

export const STREAMS = 500
/** first token after 100 ms, then 250 tokens at 50/s: a 5.1 s turn */
export const LLM_TURN: Profile = { latencyMs: 100, deltas: 250, tokensPerS: 50 }

interface Side {
  report: LoadReport
  /** the gateway's CPU over the measured window, % of one core (NaN for direct) */
  cpuPct: number
  rssMaxMiB: number
  rssEndMiB: number
  /** the most streams the upstream was sending at once during the window */
  upstreamStreamsMax: number
  /**
   * % of the window each process's main thread spent runnable but waiting for a CPU (schedstat): the gateway's
   * (NaN for direct), the load client's, the upstream's. On a shared machine a token is late when one of the three
   * had it ready and no core ran that thread; this is what separates the machine's share of the gap from ours.
   */
  waitPct: { gateway: number; client: number; upstream: number }
  /** % of the window the gateway's main thread was on a CPU (NaN for direct) */
  gwMainRunPct: number
}

/** A main thread's run and run-queue wait (ns so far); null once the process is gone or off Linux. */
const sched = (pid: number) => {
  try {
    return threadSched(pid)
  } catch {
    return null
  }
}

const upstreamStreams = async (upstream: string) =>
  ((await (await fetch(`${upstream.replace(/\/v1$/, '')}/bench/streams`)).json()) as { now: number; max: number }).max

async function run(
  upstream: string,
  upstreamPid: number,
  url: string,
  gw: Gateway | null,
  warmupS: number,
  durationS: number,
): Promise<Side> {
  const body = turnBody(LLM_TURN, { stream: true })
  const load = sseLoad({ url, body, concurrency: STREAMS, warmupS, durationS })
  // the gateway's CPU and RSS over the client's measured window (it starts measuring after its warm-up)
  await sleep(warmupS * 1000)
  await upstreamStreams(upstream)
  const cpu0 = gw?.cpuMs() ?? NaN
  const gw0 = gw ? sched(gw.pid) : null
  const up0 = sched(upstreamPid)
  const t0 = performance.now()
  let rssMax = 0
  while (performance.now() - t0 < durationS * 1000) {
    await sleep(Math.min(1000, durationS * 1000 - (performance.now() - t0)))
    if (gw) rssMax = Math.max(rssMax, gw.rssMiB())
  }
  const wallMs = performance.now() - t0
  const cpuPct = gw ? ((gw.cpuMs() - cpu0) / wallMs) * 100 : NaN
  const gw1 = gw ? sched(gw.pid) : null
  const up1 = sched(upstreamPid)
  const pct = (ns: number) => (ns / 1e6 / wallMs) * 100
  const rssEnd = gw ? gw.rssMiB() : NaN
  const upstreamStreamsMax = await upstreamStreams(upstream)
  const { report } = await load
  if (report.turns === 0) throw new Error(`no turn completed (${report.errors} errors; first: ${report.firstError})`)
  const waitPct = {
    gateway: gw0 && gw1 ? pct(gw1.waitNs - gw0.waitNs) : NaN,
    client: (report.clientMain.waitMs / (report.windowS * 1000)) * 100,
    upstream: up0 && up1 ? pct(up1.waitNs - up0.waitNs) : NaN,
  }
  const gwMainRunPct = gw0 && gw1 ? pct(gw1.runNs - gw0.runNs) : NaN
  return { report, cpuPct, rssMaxMiB: gw ? rssMax : NaN, rssEndMiB: rssEnd, upstreamStreamsMax, waitPct, gwMainRunPct }
}

export async function llm(ctx: Ctx): Promise<ScenarioResult> {
  const durationS = ctx.quick ? 10 : 60
  const warmupS = ctx.quick ? 5 : 10
  const gw = await ctx.gateway()
  let direct: Side
  let gate: Side
  try {
    ctx.log(`llm: ${STREAMS} streams at ${LLM_TURN.tokensPerS} tok/s, direct, ${warmupS} s warm-up + ${durationS} s`)
    direct = await run(ctx.upstream, ctx.upstreamPid, `${ctx.upstream}/responses`, null, warmupS, durationS)
    ctx.log(`llm: ${STREAMS} streams at ${LLM_TURN.tokensPerS} tok/s, through the gateway, ${warmupS} s warm-up + ${durationS} s`)
    gate = await run(ctx.upstream, ctx.upstreamPid, `${gw.url}/v1/responses`, gw, warmupS, durationS)
  } finally {
    await gw.stop()
  }
  const metrics: Record<string, number> = {}
  for (const [side, s] of [
    ['direct', direct],
    ['gateway', gate],
  ] as const) {
    const r = s.report
    Object.assign(metrics, {
      [`llm.${side}_turns`]: r.turns,
      [`llm.${side}_errors`]: r.errors,
      [`llm.${side}_tokens_per_s`]: r.tokens / r.windowS,
      [`llm.${side}_gap_p50_ms`]: r.gapMs.p50,
      [`llm.${side}_gap_p99_ms`]: r.gapMs.p99,
      [`llm.${side}_gap_p999_ms`]: r.gapMs.p999,
      [`llm.${side}_gap_max_ms`]: r.gapMs.max,
      [`llm.${side}_first_token_p50_ms`]: r.firstTokenMs.p50,
      [`llm.${side}_first_token_p99_ms`]: r.firstTokenMs.p99,
      [`llm.${side}_client_cpu_pct`]: (r.clientCpuMs / (r.windowS * 1000)) * 100,
      [`llm.${side}_upstream_streams_max`]: s.upstreamStreamsMax,
      [`llm.${side}_client_main_wait_pct`]: s.waitPct.client,
      [`llm.${side}_upstream_main_wait_pct`]: s.waitPct.upstream,
    })
  }
  Object.assign(metrics, {
    'llm.added_gap_p99_ms': gate.report.gapMs.p99 - direct.report.gapMs.p99,
    'llm.added_first_token_p50_ms': gate.report.firstTokenMs.p50 - direct.report.firstTokenMs.p50,
    'llm.gw_cpu_pct': gate.cpuPct,
    'llm.gw_rss_max_mib': gate.rssMaxMiB,
    'llm.gw_rss_end_mib': gate.rssEndMiB,
    'llm.gw_main_run_pct': gate.gwMainRunPct,
    'llm.gw_main_wait_pct': gate.waitPct.gateway,
  })
  const cells = (label: string, s: Side) => {
    const r = s.report
    return [
      label,
      `${fmt(r.tokens / r.windowS)}${r.errors ? ` (${r.errors} failed turns: ${r.firstError})` : ''}`,
      String(r.turns),
      `${fmt(r.gapMs.p50, 1)} / ${fmt(r.gapMs.p99, 1)} / ${fmt(r.gapMs.p999, 1)} / ${fmt(r.gapMs.max, 1)}`,
      `${fmt(r.firstTokenMs.p50, 1)} / ${fmt(r.firstTokenMs.p99, 1)}`,
      String(s.upstreamStreamsMax),
      Number.isFinite(s.cpuPct) ? `${fmt(s.cpuPct, 0)}%` : '–',
      Number.isFinite(s.rssMaxMiB) ? `${fmt(s.rssMaxMiB, 0)} MiB` : '–',
      `${fmt((r.clientCpuMs / (r.windowS * 1000)) * 100, 0)}%`,
      [s.waitPct.gateway, s.waitPct.client, s.waitPct.upstream].map((p) => (Number.isFinite(p) ? `${fmt(p, 0)}%` : '–')).join(' / '),
    ]
  }
  return {
    name: 'llm',
    metrics,
    tables: [
      {
        title: `LLM-like load: ${STREAMS} concurrent SSE turns, upstream \`${profileName(LLM_TURN)}\` (first token after ${LLM_TURN.latencyMs} ms, ${LLM_TURN.deltas} tokens at ${LLM_TURN.tokensPerS}/s), ${durationS} s after ${warmupS} s warm-up`,
        headers: [
          'path',
          'tokens/s received',
          'turns completed',
          'gap between tokens p50 / p99 / p99.9 / max ms',
          'first token p50 / p99 ms',
          'upstream streams at once (max)',
          'gateway CPU (% of a core)',
          'gateway RSS max',
          'load client CPU',
          'main thread waiting for a CPU: gateway / client / upstream',
        ],
        rows: [cells('direct', direct), cells('through the gateway (store on)', gate)],
        note:
          `Added p99 gap: ${signed(metrics['llm.added_gap_p99_ms'])} ms. The client (bench/sse-load.ts, one Bun process, up to ${STREAMS * 2} fetches at once) ` +
          'times each read that holds a token; tokens that share a read count as a 0 ms gap. Client i starts i/500 of a turn late, so turns start spread out. ' +
          '"Turns completed": started and ended inside the window. "Upstream streams at once": reported by bench/upstream.ts; ' +
          "through the gateway it is how many upstream requests the gateway had open (Bun's fetch runs at most 256 at once unless BUN_CONFIG_MAX_HTTP_REQUESTS is set at start; serve on Linux sets 4096 itself, README Limits). " +
          `"Waiting for a CPU": % of the window each process's main thread was runnable but not running (Linux schedstat), the machine's share of a late token; the gateway's main thread ran ${fmt(gate.gwMainRunPct, 0)}% of the window.`,
      },
    ],
  }
}
