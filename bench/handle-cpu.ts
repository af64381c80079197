#!/usr/bin/env bun
// The gateway's own work per request, in process: the production app (createGateway) answers `app.handle()`
// requests while its upstream client's fetch is a stub that answers at once, so what is measured is our JS path
// (hooks, routing, validation, header filtering, wrappers, metrics, the engine and the store) without sockets, Bun's
// HTTP client thread or the neighbours' noise that /proc CPU numbers carry on a shared box. For comparing source
// trees; it does not see what happens natively after the handler (the body pipe) — bench/turn-cpu.ts does.
//
//   bun run bench/handle-cpu.ts [--roots /path/a,/path/b] [--loads chat,models,json,json-nostore,sse,messages-sse]
//                               [--requests 40000] [--rounds 3] [--inflight 8] [--census]
//
// chat, models: pass-through. json, json-nostore: a stateful JSON turn (POST /v1/responses, store on — a real SQLite
// file, its commits and WAL checkpoints included — or store:false), the stub answering the upstream's whole Response.
// sse: POST /v1/responses with stream:true and store:false, the stub streaming 16 deltas; messages-sse: the same turn
// through POST /v1/messages (stream:true). Both read the whole SSE answer.
// Prints µs of process CPU per request, the minimum over 5 runs of --requests (--inflight at once), minus the same
// loop with no gateway (building the request, reading the stub's answer), per root and load, interleaved round by round.
// --census: instead of CPU, what a request allocates on the JavaScript heap, by kind of cell (objects, closures and the
// scopes they capture, strings, promises, async frames...), less the same loop with no gateway: the child runs with
// the collector off (BUN_JSC_useGC=0), so the heap's census of cells (bun:jsc heapStats) after --requests (default
// 2,000 here) less the one before is every cell they allocated. The garbage a request leaves is what the collector's
// pauses grow with (bench/tail-breakdown.ts), so this says where to cut. Counts are of the JIT tiers reached after a
// 2,000-request warm-up: the optimizing tiers sink some allocations later on.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, optionOf, ROOT } from './lib'

const argv = process.argv.slice(2)
const opt = optionOf(argv)
const census = argv.includes('--census')
const requests = Number(opt('--requests', census ? '2000' : '40000'))
const inflight = Number(opt('--inflight', '8'))

if (argv.includes('--child')) {
  const root = opt('--root', ROOT)
  const load = opt('--load', 'chat')
  process.stdout.write(census ? `${JSON.stringify(await cellsPerRequest(root, load))}\n` : `${(await measure(root, load)).toFixed(2)}\n`)
  process.exit(0)
}

const roots = opt('--roots', ROOT).split(',')
const loads = opt('--loads', 'chat,models').split(',')
const rounds = Number(opt('--rounds', '3'))
const results = new Map<string, number[]>()
for (let r = 0; r < rounds; r++)
  for (const load of loads)
    for (const root of roots) {
      // A process per measurement: each tree's modules, JIT and heap of its own.
      const args = ['--child', '--root', root, '--load', load, '--requests', String(requests), '--inflight', String(inflight)]
      const p = Bun.spawn([process.execPath, import.meta.path, ...args, ...(census ? ['--census'] : [])], {
        stdout: 'pipe',
        stderr: 'inherit',
        env: census ? { ...process.env, BUN_JSC_useGC: '0' } : process.env,
      })
      const out = (await new Response(p.stdout).text()).trim()
      if ((await p.exited) !== 0) throw new Error(`${root} ${load}: exited ${p.exitCode}`)
      if (census) {
        const cells = Object.entries(JSON.parse(out) as Record<string, number>).sort((a, b) => b[1] - a[1])
        const total = cells.reduce((t, [, n]) => t + n, 0)
        const shown = cells.filter(([, n]) => n >= 0.5).map(([kind, n]) => `${n.toFixed(1)} ${kind}`)
        process.stdout.write(`round ${r + 1} ${load} ${root}: ${total.toFixed(0)} cells/request: ${shown.join(', ')}\n`)
        continue
      }
      const us = Number(out)
      results.set(`${load}\t${root}`, [...(results.get(`${load}\t${root}`) ?? []), us])
      process.stdout.write(`round ${r + 1} ${load} ${root}: ${us.toFixed(2)} µs/request\n`)
    }
if (!census) process.stdout.write('\nsummary (median over rounds, µs of our own CPU per request)\n')
for (const [key, v] of results) process.stdout.write(`${key}\t${median(v).toFixed(2)}\t[${v.map((x) => x.toFixed(2)).join(', ')}]\n`)

async function measure(root: string, load: string): Promise<number> {
  const { gw, dir, through, bare } = await harness(root, load)
  const cpuPerRequest = async (one: () => Promise<void>) => {
    Bun.gc(true)
    const t0 = process.cpuUsage()
    for (let i = 0; i < requests; i += inflight) await Promise.all(Array.from({ length: inflight }, one))
    const t = process.cpuUsage(t0)
    return (t.user + t.system) / requests
  }
  try {
    for (let i = 0; i < 20_000; i++) await Promise.all([through(), bare()]) // warm-up: JIT tiers
    let best = Number.POSITIVE_INFINITY
    let bestBare = Number.POSITIVE_INFINITY
    for (let k = 0; k < 5; k++) {
      best = Math.min(best, await cpuPerRequest(through))
      bestBare = Math.min(bestBare, await cpuPerRequest(bare))
    }
    return best - bestBare
  } finally {
    await gw.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** --census: cells allocated per request by kind, the gateway's loop less the bare one (the collector is off). */
async function cellsPerRequest(root: string, load: string): Promise<Record<string, number>> {
  const { heapStats } = await import('bun:jsc')
  const { gw, dir, through, bare } = await harness(root, load)
  const cells = async (one: () => Promise<void>) => {
    const before = heapStats().objectTypeCounts
    for (let i = 0; i < requests; i += inflight) await Promise.all(Array.from({ length: inflight }, one))
    const after = heapStats().objectTypeCounts
    return Object.fromEntries(Object.entries(after).map(([kind, n]) => [kind, (n - (before[kind] ?? 0)) / requests]))
  }
  try {
    for (let i = 0; i < 2_000; i++) await Promise.all([through(), bare()]) // warm-up: JIT tiers (no collector: kept short)
    const gateway = await cells(through)
    const without = await cells(bare)
    return Object.fromEntries(
      Object.entries(gateway)
        .map(([kind, n]) => [kind, n - (without[kind] ?? 0)] as const)
        .filter(([, n]) => n > 0.05),
    )
  } finally {
    await gw.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The production app in process, its upstream a stub: a request through it, and the same loop without it. */
async function harness(root: string, load: string) {
  const { loadConfig } = await import(join(root, 'src/config.ts'))
  const { createGateway } = await import(join(root, 'src/gateway.ts'))
  const { createLogger } = await import(join(root, 'src/log.ts'))
  const { createUpstreamClient } = await import(join(root, 'src/upstream/client.ts'))
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-handle-cpu-'))
  const config = loadConfig({
    flags: { '--host': '127.0.0.1', '--port': '0', '--upstream': 'http://127.0.0.1:9/v1' },
    env: { AGENTGATE_HOME: dir },
  })
  const turn = load.startsWith('json')
  // What bench/upstream.ts answers a JSON turn of 16 tokens (model bench-l0-d16-r0), ids fresh per answer.
  let n = 0
  const upstreamResponse = () =>
    JSON.stringify({
      id: `resp_up${++n}`,
      object: 'response',
      created_at: 1764500000,
      model: 'bench-l0-d16-r0',
      status: 'completed',
      output: [
        {
          id: `msg_up${n}`,
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: ' hello'.repeat(16), annotations: [], logprobs: [] }],
        },
      ],
      usage: {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 16,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 28,
      },
    })
  const chatAnswer = JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content: 'hello '.repeat(16) } }],
  })
  const upstreamAnswer = () => {
    const answer = turn ? upstreamResponse() : chatAnswer
    return new Response(answer, {
      headers: { 'content-type': 'application/json', 'content-length': String(answer.length), date: 'x', server: 'y' },
    })
  }
  // A streamed turn's upstream answer: the bench upstream's 16-delta turn as one SSE body.
  const { responseEvents } = await import('./upstream')
  const { head, body: deltas, tail } = responseEvents('bench', 16)
  const sseAnswer = [...head, ...deltas, ...tail]
    .map((e: Record<string, unknown>) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`)
    .join('')
  const streamed = load === 'sse' || load === 'messages-sse'
  const stub = (async () =>
    streamed ? new Response(sseAnswer, { headers: { 'content-type': 'text/event-stream' } }) : upstreamAnswer()) as unknown as typeof fetch
  const upstream = createUpstreamClient({
    baseUrl: config.upstream,
    apiKey: null,
    connectTimeoutMs: 10_000,
    firstByteTimeoutMs: 600_000,
    idleTimeoutMs: 60_000,
    fetch: stub,
  })
  const gw = await createGateway(config, { version: 'bench', quiet: true, logger: createLogger('warn', () => {}), upstream })
  const body = turn
    ? JSON.stringify({ model: 'bench-l0-d16-r0', input: 'Say hello to the benchmark.', store: load === 'json' })
    : JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'Say hello to the benchmark.' }] })
  const path = turn ? '/v1/responses' : '/v1/chat/completions'
  const common = { host: '127.0.0.1:8080', 'user-agent': 'wrk', accept: '*/*', connection: 'keep-alive' }
  const post = (to: string, json: string) => () =>
    new Request(`http://127.0.0.1:8080${to}`, {
      method: 'POST',
      headers: { ...common, 'content-type': 'application/json', 'content-length': String(json.length) },
      body: json,
    })
  const sseBody = JSON.stringify({ model: 'bench', input: 'Say hello to the benchmark.', stream: true, store: false })
  const messagesBody = JSON.stringify({ model: 'bench', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'Say hello.' }] })
  const request =
    load === 'models'
      ? () => new Request('http://127.0.0.1:8080/v1/models', { headers: common })
      : load === 'sse'
        ? post('/v1/responses', sseBody)
        : load === 'messages-sse'
          ? post('/v1/messages', messagesBody)
          : post(path, body)
  const through = async () => {
    const res: Response = await gw.app.handle(request())
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`)
    await res.arrayBuffer()
  }
  const bare = async () => {
    const req = request()
    if (load !== 'models') await req.arrayBuffer()
    await (await stub('')).arrayBuffer()
  }
  return { gw, dir, through, bare }
}
