// Streamed events (issue 13): SSE turns of 1,000 `output_text.delta` events from an upstream that sends
// them at once, 8 connections (wrk reads each stream to its end), store on and `store:false`. What the
// gateway spends per event it relays (CPU from /proc over the window ÷ events) and its stream rate
// against the same streams taken straight from the upstream.
import { fmt, type Pair, ratio, type Ctx, type ScenarioResult, signed, turnBody, wrkPair } from '../lib'
import { profileName, type Profile } from '../upstream'

const CONNECTIONS = 8
const STREAM: Profile = { latencyMs: 0, deltas: 1000, tokensPerS: 0 }
/**
 * Warm-up of each side before its measured window, at least (as the turns scenario's, for the same reason): a fresh
 * gateway's JIT compiles the stream's path for 15-20 s of this load (BUN_JSC_reportCompileTimes on the binary: ~1.1 s of
 * compiling in the 8 s after a 10 s warm-up ... 0.2 s after 20 s). With the 1 s warm-up the JIT thread was ~0.15 ms of a
 * stream's 1.2-1.4 ms of CPU and took a core from the main thread; after 10 s it is ~0.05 ms (bench/burst-breakdown.ts).
 */
export const STREAM_WARMUP_S = 10
/** events of one upstream stream: created, in_progress, item added, part added, the deltas, 4 closing events */
export const EVENTS_PER_STREAM = STREAM.deltas + 8

/** One stream by hand first: wrk only sees bytes, so a gateway that cut streams short would look fast. */
async function checkStream(url: string, body: unknown) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  const deltas = text.split('event: response.output_text.delta\n').length - 1
  if (res.status !== 200 || deltas !== STREAM.deltas || !text.includes('event: response.completed\n'))
    throw new Error(`a 1,000-delta stream through the gateway came back with status ${res.status}, ${deltas} deltas: ${text.slice(0, 300)}`)
}

export async function streams(ctx: Ctx): Promise<ScenarioResult> {
  const metrics: Record<string, number> = {}
  const rows: string[][] = []
  for (const [key, label, store] of [
    ['store_on', 'store on (default)', true],
    ['store_off', 'store:false', false],
  ] as const) {
    const gw = await ctx.gateway()
    try {
      ctx.log(`streams: 1,000-delta SSE turns, ${CONNECTIONS} conns, ${label}`)
      const body = turnBody(STREAM, { stream: true, ...(store ? {} : { store: false }) })
      await checkStream(`${gw.url}/v1/responses`, body)
      const pair: Pair = await wrkPair(
        ctx,
        gw,
        { direct: `${ctx.upstream}/responses`, gateway: `${gw.url}/v1/responses` },
        { connections: CONNECTIONS, body, warmupS: STREAM_WARMUP_S },
      )
      const usPerEvent = (pair.gwCpuMsPerReq * 1000) / EVENTS_PER_STREAM
      const upUsPerEvent = (pair.upCpuMsPerReq * 1000) / EVENTS_PER_STREAM
      const k = `streams.${key}`
      Object.assign(metrics, {
        [`${k}.direct_streams_per_s`]: pair.direct.rps,
        [`${k}.gateway_streams_per_s`]: pair.gateway.rps,
        [`${k}.ratio`]: pair.gateway.rps / pair.direct.rps,
        [`${k}.direct_p50_ms`]: pair.direct.p50,
        [`${k}.gateway_p50_ms`]: pair.gateway.p50,
        [`${k}.direct_p99_ms`]: pair.direct.p99,
        [`${k}.gateway_p99_ms`]: pair.gateway.p99,
        [`${k}.gw_cpu_ms_per_stream`]: pair.gwCpuMsPerReq,
        [`${k}.gw_cpu_us_per_event`]: usPerEvent,
        [`${k}.upstream_cpu_us_per_event`]: upUsPerEvent,
        [`${k}.errors`]: pair.direct.errors + pair.gateway.errors,
      })
      const errs = (n: number) => (n ? ` (${n} errors)` : '')
      rows.push([
        label,
        fmt(pair.direct.rps) + errs(pair.direct.errors),
        fmt(pair.gateway.rps) + errs(pair.gateway.errors),
        ratio(pair.gateway.rps / pair.direct.rps),
        `${fmt(pair.direct.p50, 2)} / ${fmt(pair.gateway.p50, 2)}`,
        signed(pair.gateway.p99 - pair.direct.p99),
        fmt(pair.gwCpuMsPerReq, 2),
        fmt(usPerEvent, 2),
        fmt((usPerEvent > 0 ? 1e6 / usPerEvent : NaN) / 1000, 0),
        `${fmt(upUsPerEvent, 2)} (gateway ${ratio(usPerEvent / upUsPerEvent)})`,
      ])
    } finally {
      await gw.stop()
    }
  }
  return {
    name: 'streams',
    metrics,
    tables: [
      {
        title: `SSE turns of ${STREAM.deltas.toLocaleString('en-US')} deltas (wrk, ${CONNECTIONS} conns, upstream \`${profileName(STREAM)}\`: all events at once)`,
        headers: [
          'store',
          'direct streams/s',
          'gateway streams/s',
          'ratio',
          'whole stream p50 ms, direct / gateway',
          'added p99 ms',
          'gw CPU ms/stream',
          'gw CPU µs/event',
          'k events/s per gateway core',
          "upstream CPU µs/event, direct (the hour's speed)",
        ],
        rows,
        note:
          `µs/event = the gateway's CPU over the window (/proc/<pid>/stat) ÷ (streams × ${EVENTS_PER_STREAM} upstream events). A fresh gateway per row. ` +
          "The upstream's CPU per event while it served the direct side is the same code every run: it shows how fast the machine was that hour, and the gateway's CPU as a multiple of it is steadier between hours than the µs alone.",
      },
    ],
  }
}
