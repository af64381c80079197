// Stateless pass-through: POST /v1/chat/completions and GET /v1/models, 64 connections (wrk), each
// against an upstream that takes 10 ms (issue 13's load: 64 connections then ask for at most 6,400
// req/s; the latency the hop adds in front of a model server) and one that answers at once (the gateway
// is the bottleneck: its throughput and CPU cost). Chat completions also go through a bare Bun proxy
// (bench/floor-proxy.ts: Bun.serve + fetch, none of the gateway's work) in the same run: the floor, what Bun itself
// costs a hop on this machine, so the gateway's rows read against what no code of ours could go below.
import { join } from 'node:path'
import { BENCH_DIR, cpuMs, PAIR_HEADERS, pairMetrics, pairRow, startServer, wrkPair, wrkSide, type Ctx, type ScenarioResult } from '../lib'
import { profileName, type Profile } from '../upstream'

const CONNECTIONS = 64

export async function passthrough(ctx: Ctx): Promise<ScenarioResult> {
  const gw = await ctx.gateway()
  // The floor runs with the fetch cap `agentgate serve` gives itself (src/fetch-cap.ts), as token-split's relays do.
  const floor = await startServer([process.execPath, 'run', join(BENCH_DIR, 'floor-proxy.ts'), '--upstream', ctx.upstream], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' },
    cwd: gw.home,
    stderrFile: join(gw.home, 'floor-proxy.log'),
  })
  const profiles: { key: string; label: string; p: Profile }[] = [
    { key: 'paced10ms', label: 'upstream takes 10 ms', p: { latencyMs: 10, deltas: 16, tokensPerS: 0 } },
    { key: 'instant', label: 'instant upstream', p: { latencyMs: 0, deltas: 16, tokensPerS: 0 } },
  ]
  const rows: string[][] = []
  let metrics: Record<string, number> = {}
  try {
    for (const { key, label, p } of profiles) {
      const headers = { 'x-bench-profile': profileName(p) }
      const chatBody = { model: 'bench', messages: [{ role: 'user', content: 'Say hello to the benchmark.' }], max_tokens: 16 }
      ctx.log(`pass-through: chat completions, ${label}`)
      const chat = await wrkPair(
        ctx,
        gw,
        { direct: `${ctx.upstream}/chat/completions`, gateway: `${gw.url}/v1/chat/completions` },
        { connections: CONNECTIONS, body: chatBody, headers },
      )
      rows.push(pairRow(`POST /v1/chat/completions, ${label}`, CONNECTIONS, chat))
      ctx.log(`pass-through: chat completions, ${label}, floor (bare Bun proxy)`)
      const bare = await wrkSide(ctx, `${floor.url}/v1/chat/completions`, () => cpuMs(floor.pid), {
        connections: CONNECTIONS,
        body: chatBody,
        headers,
      })
      const floorPair = { ...chat, gateway: bare.side, gwCpuMsPerReq: bare.cpuMsPerReq }
      rows.push(pairRow(`POST /v1/chat/completions, ${label}: floor (bare Bun proxy)`, CONNECTIONS, floorPair))
      ctx.log(`pass-through: models, ${label}`)
      const models = await wrkPair(
        ctx,
        gw,
        { direct: `${ctx.upstream}/models`, gateway: `${gw.url}/v1/models` },
        { connections: CONNECTIONS, headers },
      )
      rows.push(pairRow(`GET /v1/models, ${label}`, CONNECTIONS, models))
      metrics = {
        ...metrics,
        ...pairMetrics(`passthrough.chat.${key}`, chat),
        ...pairMetrics(`passthrough.floor.${key}`, floorPair),
        ...pairMetrics(`passthrough.models.${key}`, models),
      }
    }
    metrics['passthrough.gw_rss_mib'] = gw.rssMiB()
    return {
      name: 'passthrough',
      metrics,
      tables: [
        {
          title: 'Stateless pass-through (wrk, 1 thread)',
          headers: PAIR_HEADERS,
          rows,
          note:
            'The floor rows are a bare Bun proxy (bench/floor-proxy.ts: Bun.serve + fetch, the body read whole, the ' +
            "client's headers forwarded as they are, the upstream's own Response returned; Bun's fetch cap as serve's) " +
            'against the same direct numbers: its "gateway" columns are the floor\'s, its CPU the floor process\'s. ' +
            `Gateway RSS after this scenario: ${metrics['passthrough.gw_rss_mib'].toFixed(0)} MiB.`,
        },
      ],
    }
  } finally {
    await floor.stop()
    await gw.stop()
  }
}
