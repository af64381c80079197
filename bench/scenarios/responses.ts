// Stateful turns: POST /v1/responses (store on, the default) as JSON (wrk) and as SSE (a Bun client
// that times the first event, the first token and the whole stream), at 1, 16, 64 and 256 concurrent.
// Direct = the same request to the upstream's /v1/responses, which keeps nothing.
import {
  closedLoop,
  fmt,
  PAIR_HEADERS,
  pairMetrics,
  pairRow,
  ratio,
  signed,
  summarize,
  timeStream,
  turnBody,
  wrkPair,
  type Ctx,
  type Gateway,
  type ScenarioResult,
  type StreamTiming,
  type Summary,
} from '../lib'
import { profileName } from '../upstream'

interface StreamSide {
  turnsPerS: number
  firstEvent: Summary
  firstDelta: Summary
  total: Summary
  errors: number
}

async function streamLoad(
  url: string,
  body: unknown,
  conns: number,
  ctx: Ctx,
  gw: Gateway | null,
): Promise<StreamSide & { cpuMs: number }> {
  const call = () => timeStream(url, body)
  if (ctx.warmupS > 0) await closedLoop(conns, 0, ctx.warmupS * 1000, call)
  const cpu0 = gw?.cpuMs() ?? 0
  const { results, errors, elapsedMs } = await closedLoop<StreamTiming>(conns, 0, ctx.durationS * 1000, call)
  return {
    turnsPerS: results.length / (elapsedMs / 1000),
    firstEvent: summarize(results.map((r) => r.firstEventMs)),
    firstDelta: summarize(results.map((r) => r.firstDeltaMs)),
    total: summarize(results.map((r) => r.totalMs)),
    errors,
    cpuMs: gw ? (gw.cpuMs() - cpu0) / Math.max(1, results.length) : NaN,
  }
}

const pp = (s: Summary) => `${fmt(s.p50, 2)} / ${fmt(s.p99, 2)}`

export async function responses(ctx: Ctx): Promise<ScenarioResult> {
  const concurrency = ctx.quick ? [1, 64] : [1, 16, 64, 256]
  const gw = await ctx.gateway()
  const body = turnBody(ctx.turnProfile)
  const metrics: Record<string, number> = {}
  const jsonRows: string[][] = []
  const sseRows: string[][] = []
  try {
    // One turn by hand first: a benchmark of error answers would be worthless.
    const check = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    const first = (await check.json()) as { status?: string }
    if (check.status !== 200 || first.status !== 'completed')
      throw new Error(`a turn through the gateway failed: ${check.status} ${JSON.stringify(first).slice(0, 300)}`)

    for (const c of concurrency) {
      ctx.log(`responses: JSON turns, ${c} concurrent`)
      const pair = await wrkPair(
        ctx,
        gw,
        { direct: `${ctx.upstream}/responses`, gateway: `${gw.url}/v1/responses` },
        { connections: c, body },
      )
      jsonRows.push(pairRow('POST /v1/responses (JSON, store on)', c, pair))
      Object.assign(metrics, pairMetrics(`responses.json.c${c}`, pair))
    }
    for (const c of concurrency) {
      ctx.log(`responses: SSE turns, ${c} concurrent`)
      const sbody = { ...body, stream: true }
      const direct = await streamLoad(`${ctx.upstream}/responses`, sbody, c, ctx, null)
      const gate = await streamLoad(`${gw.url}/v1/responses`, sbody, c, ctx, gw)
      const errs = (s: StreamSide) => (s.errors ? ` (${s.errors} errors)` : '')
      sseRows.push([
        String(c),
        fmt(direct.turnsPerS) + errs(direct),
        fmt(gate.turnsPerS) + errs(gate),
        ratio(gate.turnsPerS / direct.turnsPerS),
        pp(direct.firstEvent),
        pp(gate.firstEvent),
        pp(direct.firstDelta),
        pp(gate.firstDelta),
        signed(gate.firstDelta.p50 - direct.firstDelta.p50),
        pp(direct.total),
        pp(gate.total),
        `${signed(gate.total.p50 - direct.total.p50)} / ${signed(gate.total.p99 - direct.total.p99)}`,
        fmt(gate.cpuMs, 3),
      ])
      const k = `responses.sse.c${c}`
      Object.assign(metrics, {
        [`${k}.direct_turns_per_s`]: direct.turnsPerS,
        [`${k}.gateway_turns_per_s`]: gate.turnsPerS,
        [`${k}.direct_first_event_p50_ms`]: direct.firstEvent.p50,
        [`${k}.gateway_first_event_p50_ms`]: gate.firstEvent.p50,
        [`${k}.gateway_first_event_p99_ms`]: gate.firstEvent.p99,
        [`${k}.direct_first_delta_p50_ms`]: direct.firstDelta.p50,
        [`${k}.gateway_first_delta_p50_ms`]: gate.firstDelta.p50,
        [`${k}.direct_first_delta_p99_ms`]: direct.firstDelta.p99,
        [`${k}.gateway_first_delta_p99_ms`]: gate.firstDelta.p99,
        [`${k}.direct_total_p50_ms`]: direct.total.p50,
        [`${k}.gateway_total_p50_ms`]: gate.total.p50,
        [`${k}.direct_total_p99_ms`]: direct.total.p99,
        [`${k}.gateway_total_p99_ms`]: gate.total.p99,
        [`${k}.added_total_p50_ms`]: gate.total.p50 - direct.total.p50,
        [`${k}.gw_cpu_ms_per_turn`]: gate.cpuMs,
        [`${k}.errors`]: direct.errors + gate.errors,
      })
    }
    metrics['responses.gw_rss_mib'] = gw.rssMiB()
    metrics['responses.gw_peak_rss_mib'] = gw.peakRssMiB()
    const p = ctx.turnProfile
    const profile = `upstream turn: first token after ${p.latencyMs} ms, ${p.deltas} tokens at ${p.tokensPerS || '∞'} tok/s (model \`bench-${profileName(p)}\`)`
    return {
      name: 'responses',
      metrics,
      tables: [
        { title: `Stateful turn, JSON (wrk; ${profile})`, headers: PAIR_HEADERS, rows: jsonRows },
        {
          title: `Stateful turn, SSE (Bun client; same upstream turn)`,
          headers: [
            'conns',
            'direct turns/s',
            'gateway turns/s',
            'ratio',
            'first event p50 / p99 ms, direct',
            'gateway',
            'first token p50 / p99 ms, direct',
            'gateway',
            'added first token p50 ms',
            'whole stream p50 / p99 ms, direct',
            'gateway',
            'added p50 / p99 ms',
            'gw CPU ms/turn',
          ],
          rows: sseRows,
          note:
            `The gateway answers \`response.created\` before it calls the upstream, so its "first event" is its own start-up of a turn ` +
            `(validation, store insert); "first token" is the first \`response.output_text.delta\`. Gateway RSS after this scenario: ${metrics['responses.gw_rss_mib'].toFixed(0)} MiB (peak ${metrics['responses.gw_peak_rss_mib'].toFixed(0)} MiB).`,
        },
      ],
    }
  } finally {
    await gw.stop()
  }
}
