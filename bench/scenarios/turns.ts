// Stateful JSON turns (issue 13): POST /v1/responses without streaming, 64 connections (wrk), an upstream
// that answers after 10 ms, store on (the default) and `store:false`, on the default SQLite store. The
// PostgreSQL scenario runs the same load through jsonTurns().
import { fmt, type Ctx, type Gateway, type Pair, PAIR_HEADERS, pairMetrics, pairRow, type ScenarioResult, turnBody, wrkPair } from '../lib'
import { profileName, type Profile } from '../upstream'

export const TURN_CONNECTIONS = 64
/**
 * Warm-up of each side before its measured window, at least: a fresh gateway's JIT still compiles the turn's path for
 * several seconds (about 18% of its CPU in the first ~10 s), which a 1 s warm-up left in the measured window: with it
 * the CPU per turn read about a quarter higher than at steady state (bench --only turns --quick, --warmup 1 against 8).
 * A gateway serves turns for hours; its start-up is measured by the startup scenario. The direct side gets the same.
 */
export const TURN_WARMUP_S = 6
/** 10 ms to the answer, 16 tokens in it (JSON: all at once after 10 ms) */
export const TURN_10MS: Profile = { latencyMs: 10, deltas: 16, tokensPerS: 0 }

/** One turn by hand first: a benchmark of error answers would be worthless. */
export async function checkTurn(gw: Gateway, body: unknown) {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const json = (await res.json()) as { status?: string }
  if (res.status !== 200 || json.status !== 'completed')
    throw new Error(`a turn through the gateway failed: ${res.status} ${JSON.stringify(json).slice(0, 300)}`)
}

/** The JSON turn load, direct and through `gw`. */
export async function jsonTurns(ctx: Ctx, gw: Gateway, store: boolean): Promise<Pair> {
  const body = turnBody(TURN_10MS, store ? {} : { store: false })
  await checkTurn(gw, body)
  return wrkPair(
    ctx,
    gw,
    { direct: `${ctx.upstream}/responses`, gateway: `${gw.url}/v1/responses` },
    { connections: TURN_CONNECTIONS, body, warmupS: TURN_WARMUP_S },
  )
}

export async function turns(ctx: Ctx): Promise<ScenarioResult> {
  const metrics: Record<string, number> = {}
  const rows: string[][] = []
  for (const [key, label, store] of [
    ['store_on', 'store on (default)', true],
    ['store_off', 'store:false', false],
  ] as const) {
    const gw = await ctx.gateway()
    try {
      ctx.log(`turns: JSON turns, ${TURN_CONNECTIONS} conns, 10 ms upstream, SQLite, ${label}`)
      const pair = await jsonTurns(ctx, gw, store)
      rows.push(pairRow(`POST /v1/responses JSON, ${label}`, TURN_CONNECTIONS, pair))
      Object.assign(metrics, pairMetrics(`turns.sqlite.${key}`, pair))
      metrics[`turns.sqlite.${key}.gw_rss_mib`] = gw.rssMiB()
    } finally {
      await gw.stop()
    }
  }
  return {
    name: 'turns',
    metrics,
    tables: [
      {
        title: `Stateful JSON turns on SQLite (wrk, ${TURN_CONNECTIONS} conns, upstream \`${profileName(TURN_10MS)}\`: the answer after 10 ms)`,
        headers: PAIR_HEADERS,
        rows,
        note: `A fresh gateway and database per row. Gateway RSS at the end: ${fmt(metrics['turns.sqlite.store_on.gw_rss_mib'], 0)} MiB (store on), ${fmt(metrics['turns.sqlite.store_off.gw_rss_mib'], 0)} MiB (store:false).`,
      },
    ],
  }
}
