#!/usr/bin/env bun
// CPU profile of the gateway (from source, so names are real) under one kind of load, with Bun's own
// profiler (`bun --cpu-prof --cpu-prof-md`). For finding where a benchmark's time goes, not for numbers.
//
//   bun run bench/profile.ts json                # stateful JSON turns
//   bun run bench/profile.ts sse|chat|models|chain1000|wschain [--requests N] [--concurrency C] [--model bench-l0-d16-r0] [--no-store]
//
// --no-store: the json and sse turns with store:false (the profile is then written as <load>-nostore).
// wschain: turns of Codex-style WebSocket chains (bench/scenarios/wschain.ts: a function call and its output each,
// store:false as Codex sends), a new chain every 30 turns, one socket per --concurrency.
//
// Writes bench/results/profiles/<load>.cpuprofile (Chrome DevTools / speedscope) and <load>.md (read the
// "Hot Functions" table first), and prints the gateway's CPU ms per request.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { BENCH_DIR, cpuMs, optionOf, removeTempDirs, ROOT, startServer, stopAll, tempDir } from './lib'
import { GatewayChain } from './scenarios/wschain'

const LOADS = ['json', 'sse', 'chat', 'models', 'chain1000', 'wschain'] as const
type Load = (typeof LOADS)[number]

const argv = process.argv.slice(2)
const load = argv[0] as Load
if (!LOADS.includes(load)) {
  process.stderr.write(`usage: bun run bench/profile.ts ${LOADS.join('|')} [--requests N] [--concurrency C] [--model M]\n`)
  process.exit(2)
}
const opt = optionOf(argv)
const requests = Number(opt('--requests', '2000'))
const concurrency = Number(opt('--concurrency', '8'))
const model = opt('--model', 'bench-l0-d16-r0')
const noStore = argv.includes('--no-store')
const name = noStore ? `${load}-nostore` : load

const outDir = join(BENCH_DIR, 'results/profiles')
mkdirSync(outDir, { recursive: true })
const home = tempDir('agentgate-profile-')
try {
  const up = await startServer([process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0'], {
    stderrFile: join(home, 'upstream.log'),
  })
  const gw = await startServer(
    [
      process.execPath,
      '--cpu-prof',
      '--cpu-prof-md',
      `--cpu-prof-interval=${opt('--interval', '250')}`,
      `--cpu-prof-dir=${outDir}`,
      `--cpu-prof-name=${name}`,
      'run',
      join(ROOT, 'src/main.ts'),
      '--port',
      '0',
      '--upstream',
      `${up.url}/v1`,
    ],
    { env: { ...process.env, AGENTGATE_HOME: home }, cwd: home, stderrFile: join(home, 'gateway.log') },
  )
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(
      (r) => r.text(),
    )

  let head: string | null = null
  if (load === 'chain1000') {
    for (let i = 0; i < 500; i++)
      head = JSON.parse(await post('/v1/responses', { model, input: `turn ${i}`, ...(head ? { previous_response_id: head } : {}) })).id
  }
  const one = (): Promise<unknown> => {
    switch (load) {
      case 'wschain':
        throw new Error('a wschain turn goes on a socket (chainTurns)')
      case 'chat':
        return post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, { 'x-bench-profile': 'l0' })
      case 'models':
        return fetch(gw.url + '/v1/models').then((r) => r.text())
      case 'chain1000':
        return post('/v1/responses', { model, input: 'next', store: false, previous_response_id: head })
      default:
        return post('/v1/responses', {
          model,
          input: 'Say hello to the benchmark.',
          stream: load === 'sse',
          ...(noStore ? { store: false } : {}),
        })
    }
  }
  /** What one of the load's concurrent clients sends, request after request: a wschain client keeps its socket. */
  const client = (): (() => Promise<unknown>) => {
    if (load !== 'wschain') return one
    const ws = `${gw.url.replace(/^http/, 'ws')}/v1/responses`
    let chain: GatewayChain | null = null
    return async () => {
      if (!chain || chain.turns >= 30) {
        chain?.close()
        chain = await GatewayChain.open(ws)
      }
      return chain.next(() => {})
    }
  }
  // warm-up: 50 requests, as many at once as the load runs (one after another, a token-by-token turn of seconds made
  // the warm-up minutes long and the profile mostly idle)
  let warm = 50
  await Promise.all(
    Array.from({ length: Math.min(concurrency, warm) }, async () => {
      const send = client()
      while (warm-- > 0) await send()
    }),
  )
  const cpu0 = cpuMs(gw.pid)
  const t0 = performance.now()
  let left = requests
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const send = client()
      while (left-- > 0) await send()
    }),
  )
  const wall = performance.now() - t0
  process.stdout.write(
    `${name}: ${requests} requests, ${concurrency} concurrent, ${(requests / (wall / 1000)).toFixed(0)} req/s, gateway CPU ${((cpuMs(gw.pid) - cpu0) / requests).toFixed(3)} ms/request\n`,
  )
  await stopAll() // SIGTERM: the gateway exits cleanly and Bun writes the profile
  process.stdout.write(`profile: ${join(outDir, `${name}.cpuprofile`)}, summary: ${join(outDir, `${name}.md`)}\n`)
} finally {
  await stopAll()
  removeTempDirs()
}
