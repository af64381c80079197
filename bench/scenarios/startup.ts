// Cold start (process spawn → its "listening on" line, and → the first 200 on /health; median of 20) and
// the gateway's idle RSS: right after start, and idle again after a first few requests of each kind
// (routes compiled, store and upstream connections warmed).
import { fmt, median, sleep, summarize, tempDir, turnBody, type Ctx, type ScenarioResult } from '../lib'

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port!
  await s.stop(true)
  return port
}

/**
 * Spawns the gateway on a known port; ms from spawn to its "listening on" line on stdout, and to the first
 * 200 on /health (polled every 2 ms from then on).
 */
async function coldStart(ctx: Ctx, home: string): Promise<{ listening: number; health: number }> {
  const port = await freePort()
  const env: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')),
  )
  env.AGENTGATE_HOME = home
  const t0 = performance.now()
  const proc = Bun.spawn([...ctx.launcher.command, 'serve', '--host', '127.0.0.1', '--port', String(port), '--upstream', ctx.upstream], {
    cwd: home,
    env: env as Record<string, string>,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'ignore',
  })
  const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
  try {
    const reader = proc.stdout.getReader()
    const decoder = new TextDecoder()
    let out = ''
    while (!out.includes('listening on')) {
      const r = await reader.read()
      if (r.done) throw new Error(`the gateway exited (${await proc.exited}) before its "listening on" line`)
      out += decoder.decode(r.value, { stream: true })
    }
    const listening = performance.now() - t0
    void (async () => {
      while (!(await reader.read()).done);
    })().catch(() => {})
    for (;;) {
      if (performance.now() - t0 > 15_000) throw new Error('the gateway did not answer /health within 15 s')
      if (proc.exitCode !== null) throw new Error(`the gateway exited with ${proc.exitCode} during start-up`)
      const ok = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.status === 200,
        () => false,
      )
      if (ok) return { listening, health: performance.now() - t0 }
      await sleep(2)
    }
  } finally {
    clearTimeout(killer)
    proc.kill('SIGTERM')
    const t = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await proc.exited
    clearTimeout(t)
  }
}

export async function startup(ctx: Ctx): Promise<ScenarioResult> {
  const n = ctx.quick ? 5 : 20
  ctx.log(`startup: ${n} cold starts of the ${ctx.launcher.mode === 'binary' ? 'compiled binary' : 'gateway from source'}`)
  // The first start of a home creates the database and migrates it; later ones open it.
  const home = tempDir('agentgate-bench-start-')
  const firstMs = (await coldStart(ctx, home)).health
  const starts: { listening: number; health: number }[] = []
  for (let i = 0; i < n; i++) starts.push(await coldStart(ctx, home))
  const fresh: number[] = []
  for (let i = 0; i < Math.min(5, n); i++) fresh.push((await coldStart(ctx, tempDir('agentgate-bench-start-'))).health)
  const times = starts.map((t) => t.health)
  const s = summarize(times)
  const l = summarize(starts.map((t) => t.listening))

  ctx.log('startup: idle RSS')
  const gw = await ctx.gateway()
  try {
    await sleep(2000)
    const idle = gw.rssMiB()
    const idleParts = gw.rssPartsMiB()
    // One request of each kind, a few times, then idle again.
    for (let i = 0; i < 20; i++) {
      await fetch(`${gw.url}/health`).then((r) => r.arrayBuffer())
      await fetch(`${gw.url}/v1/models`).then((r) => r.arrayBuffer())
      await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'hi' }] }),
      }).then((r) => r.arrayBuffer())
      for (const stream of [false, true])
        await fetch(`${gw.url}/v1/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(turnBody({ latencyMs: 0, deltas: 16, tokensPerS: 0 }, { stream })),
        }).then((r) => r.arrayBuffer())
    }
    await sleep(2000)
    const warm = gw.rssMiB()
    const warmParts = gw.rssPartsMiB()
    const metrics = {
      'startup.listening_p50_ms': l.p50,
      'startup.listening_max_ms': l.max,
      'startup.cold_start_p50_ms': s.p50,
      'startup.cold_start_max_ms': s.max,
      'startup.cold_start_new_db_p50_ms': median(fresh),
      'startup.first_start_ms': firstMs,
      'startup.idle_rss_mib': idle,
      'startup.idle_rss_after_requests_mib': warm,
      'startup.idle_rss_anon_mib': idleParts.anon,
      'startup.idle_rss_file_mib': idleParts.file,
      'startup.idle_rss_after_requests_anon_mib': warmParts.anon,
      'startup.idle_rss_after_requests_file_mib': warmParts.file,
    }
    return {
      name: 'startup',
      metrics,
      tables: [
        {
          title: `Cold start and idle memory (${ctx.launcher.label})`,
          headers: [
            'spawn → "listening on" line, median (min–max)',
            'spawn → first 200 on /health, median (min–max)',
            'same, new database each time (median)',
            'idle RSS after start',
            'idle RSS after 100 requests',
          ],
          rows: [
            [
              `${fmt(l.p50, 1)} ms (${fmt(Math.min(...starts.map((t) => t.listening)), 1)}–${fmt(l.max, 1)}), n=${n}`,
              `${fmt(s.p50, 1)} ms (${fmt(Math.min(...times), 1)}–${fmt(s.max, 1)}), n=${n}`,
              `${fmt(median(fresh), 1)} ms, n=${fresh.length}`,
              `${fmt(idle, 1)} MiB (anon ${fmt(idleParts.anon, 1)}, file ${fmt(idleParts.file, 1)})`,
              `${fmt(warm, 1)} MiB (anon ${fmt(warmParts.anon, 1)}, file ${fmt(warmParts.file, 1)})`,
            ],
          ],
          note: 'anon: memory the gateway alone holds (heaps, JIT code); file: pages of the executable and libraries it has touched, clean and shared with the page cache, which the kernel takes back under memory pressure without swap.',
        },
      ],
    }
  } finally {
    await gw.stop()
  }
}
