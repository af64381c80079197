// previous_response_id chains of 10, 100 and 1000 items: what rehydration costs as seen through HTTP,
// then the store-level numbers of bench/chain-rehydrate.ts (loadChain alone, no HTTP, no upstream).
//
// One chain of 500 stored turns is built through the gateway (each turn = 1 input + 1 output item), so
// its 5th, 50th and 500th responses head chains of 10, 100 and 1000 items. Each measured turn chains on
// one of them with store:false (the chain does not grow), one at a time, against an upstream that
// answers at once. Direct = the upstream given the same number and shape of items inline.
import { join } from 'node:path'
import { BENCH_DIR, closedLoop, fmt, signed, summarize, type Ctx, type ScenarioResult, type Summary } from '../lib'
import { profileModel, type Profile } from '../upstream'

const INSTANT: Profile = { latencyMs: 0, deltas: 16, tokensPerS: 0 }
const LENGTHS = [0, 10, 100, 1000]

async function post(url: string, body: unknown): Promise<any> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const json = (await res.json()) as { status?: string }
  if (res.status !== 200 || json.status !== 'completed') throw new Error(`POST ${url}: ${res.status} ${JSON.stringify(json).slice(0, 300)}`)
  return json
}

/** The items a chain of `n` items holds, inline: what the gateway sends the upstream after rehydrating it. */
function inlineHistory(n: number): unknown[] {
  const items: unknown[] = []
  for (let t = 0; items.length < n; t++) {
    items.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: `turn ${t}` }] })
    items.push({
      id: `msg_${t.toString(16).padStart(32, '0')}`,
      type: 'message',
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: ' word'.repeat(INSTANT.deltas), annotations: [], logprobs: [] }],
    })
  }
  return items.slice(0, n)
}

export async function chains(ctx: Ctx): Promise<ScenarioResult> {
  const gw = await ctx.gateway()
  const model = profileModel(INSTANT)
  const metrics: Record<string, number> = {}
  const rows: string[][] = []
  try {
    ctx.log('chains: building a chain of 500 turns (1000 items) through the gateway')
    const heads = new Map<number, string>()
    let prev: string | null = null
    for (let turn = 1; turn <= 500; turn++) {
      const r: any = await post(`${gw.url}/v1/responses`, { model, input: `turn ${turn}`, ...(prev ? { previous_response_id: prev } : {}) })
      prev = r.id as string
      if (LENGTHS.includes(turn * 2)) heads.set(turn * 2, prev)
    }
    const perPoint = Math.max(1, ctx.durationS / 2) * 1000
    const added0: { p50: number; p99: number } = { p50: NaN, p99: NaN }
    for (const n of LENGTHS) {
      ctx.log(`chains: turns chained on ${n} items`)
      const gwBody = { model, input: 'next', store: false, ...(n ? { previous_response_id: heads.get(n) } : {}) }
      const directBody = {
        model,
        input: [...inlineHistory(n), { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'next' }] }],
        store: false,
      }
      const time = async (url: string, body: unknown) => {
        const t0 = performance.now()
        await post(url, body)
        return performance.now() - t0
      }
      const warm = Math.min(1000, ctx.warmupS * 1000)
      await closedLoop(1, 0, warm, () => time(`${ctx.upstream}/responses`, directBody))
      const direct = summarize((await closedLoop(1, 0, perPoint, () => time(`${ctx.upstream}/responses`, directBody))).results)
      await closedLoop(1, 0, warm, () => time(`${gw.url}/v1/responses`, gwBody))
      const cpu0 = gw.cpuMs()
      const g = await closedLoop(1, 0, perPoint, () => time(`${gw.url}/v1/responses`, gwBody))
      const cpu = (gw.cpuMs() - cpu0) / Math.max(1, g.results.length)
      const gate: Summary = summarize(g.results)
      const added = { p50: gate.p50 - direct.p50, p99: gate.p99 - direct.p99 }
      if (n === 0) Object.assign(added0, added)
      const rehydration = { p50: added.p50 - added0.p50, p99: added.p99 - added0.p99 }
      rows.push([
        n ? String(n) : '0 (no chain)',
        `${fmt(direct.p50, 2)} / ${fmt(direct.p99, 2)}`,
        `${fmt(gate.p50, 2)} / ${fmt(gate.p99, 2)}`,
        `${signed(added.p50)} / ${signed(added.p99)}`,
        n ? `${signed(rehydration.p50)} / ${signed(rehydration.p99)}` : '–',
        fmt(cpu, 2),
        String(gate.n),
      ])
      Object.assign(metrics, {
        [`chains.n${n}.direct_p50_ms`]: direct.p50,
        [`chains.n${n}.gateway_p50_ms`]: gate.p50,
        [`chains.n${n}.gateway_p99_ms`]: gate.p99,
        [`chains.n${n}.added_p50_ms`]: added.p50,
        [`chains.n${n}.gw_cpu_ms_per_turn`]: cpu,
        ...(n ? { [`chains.n${n}.rehydration_p50_ms`]: rehydration.p50, [`chains.n${n}.rehydration_p99_ms`]: rehydration.p99 } : {}),
      })
    }
  } finally {
    await gw.stop()
  }

  ctx.log('chains: store-level loadChain (bench/chain-rehydrate.ts)')
  const store = await storeLevel()
  for (const [k, v] of Object.entries(store.metrics)) metrics[k] = v
  return {
    name: 'chains',
    metrics,
    tables: [
      {
        title: 'previous_response_id chains through HTTP (1 at a time, JSON, store:false on the measured turn, instant upstream)',
        headers: [
          'chain items',
          'direct p50 / p99 ms',
          'gateway p50 / p99 ms',
          'added p50 / p99 ms',
          'rehydration p50 / p99 ms',
          'gw CPU ms/turn',
          'turns',
        ],
        rows,
        note: '"rehydration" = added latency of the chained turn minus added latency of a turn with no chain: loading the chain, and building and sending the longer upstream request.',
      },
      { title: 'Store only: `loadChain` on SQLite (bench/chain-rehydrate.ts, in this process)', headers: store.headers, rows: store.rows },
    ],
  }
}

/**
 * Runs bench/chain-rehydrate.ts (with `args`: --database-url, --items) and takes its markdown table apart;
 * metrics are named `<prefix>.<turns>x<in>x<out>.median_ms`.
 */
export async function storeLevel(
  args: string[] = [],
  prefix = 'chains.store',
): Promise<{ headers: string[]; rows: string[][]; metrics: Record<string, number> }> {
  const p = Bun.spawn([process.execPath, 'run', join(BENCH_DIR, 'chain-rehydrate.ts'), ...args], { stdout: 'pipe', stderr: 'pipe' })
  const killer = setTimeout(() => p.kill('SIGKILL'), 120_000)
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()])
  clearTimeout(killer)
  if ((await p.exited) !== 0) throw new Error(`bench/chain-rehydrate.ts failed: ${err || out}`)
  const lines = out.split('\n').filter((l) => l.startsWith('|'))
  const cells = (l: string) =>
    l
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
  const headers = cells(lines[0])
  const rows = lines.slice(2).map(cells)
  const metrics: Record<string, number> = {}
  for (const r of rows) {
    // e.g. "500 turns × (1 in + 1 out)" → chains.store.500x1x1.median_ms
    const m = r[1].match(/(\d+) turns × \((\d+) in \+ (\d+) out\)/)
    if (m) {
      metrics[`${prefix}.${m[1]}x${m[2]}x${m[3]}.median_ms`] = Number(r[2])
      metrics[`${prefix}.${m[1]}x${m[2]}x${m[3]}.p99_ms`] = Number(r[3])
    }
  }
  return { headers, rows, metrics }
}
