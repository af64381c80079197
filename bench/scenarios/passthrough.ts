// Stateless pass-through: POST /v1/chat/completions and GET /v1/models, 64 connections (wrk), each
// against an upstream that takes 10 ms (issue 13's load: 64 connections then ask for at most 6,400
// req/s; the latency the hop adds in front of a model server) and one that answers at once (the gateway
// is the bottleneck: its throughput and CPU cost).
import { PAIR_HEADERS, pairMetrics, pairRow, wrkPair, type Ctx, type ScenarioResult } from '../lib'
import { profileName, type Profile } from '../upstream'

const CONNECTIONS = 64

export async function passthrough(ctx: Ctx): Promise<ScenarioResult> {
  const gw = await ctx.gateway()
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
      ctx.log(`pass-through: models, ${label}`)
      const models = await wrkPair(
        ctx,
        gw,
        { direct: `${ctx.upstream}/models`, gateway: `${gw.url}/v1/models` },
        { connections: CONNECTIONS, headers },
      )
      rows.push(pairRow(`GET /v1/models, ${label}`, CONNECTIONS, models))
      metrics = { ...metrics, ...pairMetrics(`passthrough.chat.${key}`, chat), ...pairMetrics(`passthrough.models.${key}`, models) }
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
          note: `Gateway RSS after this scenario: ${metrics['passthrough.gw_rss_mib'].toFixed(0)} MiB.`,
        },
      ],
    }
  } finally {
    await gw.stop()
  }
}
