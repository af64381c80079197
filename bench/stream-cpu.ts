#!/usr/bin/env bun
// CPU per streamed event of the gateway's own stream path, in one process and without a network: the engine (turn
// start, normaliser, checkpoint and event log, turn end), the upstream adapter and SSE parser, and the SSE writer, fed
// by an in-memory upstream and read by an in-memory client. What is left out (sockets, Bun's fetch and HTTP server, the
// load generator) costs the same to every source tree, and on a shared machine it is most of the noise: this is for
// comparing changes to that path, interleaved, where bench/turn-cpu.ts (the whole gateway over loopback) moves by more
// than the change. Not a number to quote as the gateway's cost per event (turn-cpu and the bench are).
//
//   bun run bench/stream-cpu.ts [--roots /path/a,/path/b] [--loads tok,tok-nostore,burst,burst-nostore,llm,llm-nostore,llm-relay,tok-relay]
//                               [--turns 400] [--concurrency 100] [--deltas 250] [--burst-deltas 1000] [--rounds 5]
//
// tok*: one upstream event per chunk (token by token), each chunk a macrotask after the one before (as network reads
// are); *-relay: no gateway, each upstream chunk written as it is to a direct stream (the floor of the same load);
// llm*: the same chunks, one every 20 ms per stream (the LLM-like load's 50 tokens/s; --concurrency streams, each
// running --turns ÷ --concurrency turns of 5 s: use --concurrency 500 --turns 1000); burst*: --burst-deltas deltas in one chunk. *-nostore: store:false. Each load runs in a fresh child process per
// root and round; the line gives the main thread's CPU (from /proc, so the JIT and GC threads are apart) per event.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { relayStream } from './lib'

const argv = process.argv.slice(2)
const opt = (flag: string, fallback: string) => {
  const i = argv.indexOf(flag)
  return i >= 0 ? argv[i + 1]! : fallback
}

/** CPU ns of the calling thread (the main thread: where the gateway's JavaScript runs). */
const threadNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0])
/** CPU ns of the whole process (every thread). */
const processNs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

async function child(root: string, load: string, turns: number, concurrency: number, deltas: number) {
  const { responseEvents } = await import('./upstream')
  const { createTurnEngine } = await import(join(root, 'src/engine/turn.ts'))
  const { createUpstreamClient } = await import(join(root, 'src/upstream/client.ts'))
  const { createUpstreamAdapter } = await import(join(root, 'src/upstream/index.ts'))
  const { openSqliteStore } = await import(join(root, 'src/store/sqlite/repository.ts'))
  const { sseResponse } = await import(join(root, 'src/http/sse.ts'))
  const { createSealer, sealingKey } = await import(join(root, 'src/sealing/sealer.ts'))
  const { timeOrderedId } = await import(join(root, 'src/ids.ts'))
  const { silentLogger } = await import(join(root, 'src/log.ts'))
  // llm*: tokens paced as the bench's LLM-like load sends them (one chunk every 20 ms per stream), so the store's clock
  // (engine/checkpoint.ts, a log row per running turn every 100 ms) runs as it does served
  const paced = load.startsWith('llm')
  const tok = load.startsWith('tok') || paced
  const store = !load.endsWith('-nostore') && !load.endsWith('-relay')
  const enc = new TextEncoder()
  const frame = (e: Record<string, unknown>) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`
  // The upstream's answer, as the bench upstream sends it: tok, one event per chunk; burst, the deltas in one chunk.
  // Made once per model and sent as the same bytes to every turn: the upstream's own work is not the gateway's (building
  // and encoding it per turn was a third of this process's CPU), and the gateway never writes into what it reads.
  const answers = new Map<string, Uint8Array[]>()
  const answerOf = (model: string) => {
    let chunks = answers.get(model)
    if (!chunks) {
      const { head, body, tail } = responseEvents(model, deltas)
      const text = tok
        ? [head.map(frame).join(''), ...body.map(frame), tail.map(frame).join('')]
        : [[...head, ...body, ...tail].map(frame).join('')]
      chunks = text.map((t) => enc.encode(t))
      answers.set(model, chunks)
    }
    return chunks
  }
  const fakeFetch = async (_url: string, init: RequestInit) => {
    const { model } = JSON.parse(String(init.body))
    const chunks = answerOf(model)
    let i = 0
    const stream = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        // a macrotask per chunk: the next network read comes from the event loop, not from the same microtask drain
        if (paced) await Bun.sleep(i < 2 ? 0 : 20)
        else if (tok) await new Promise((r) => setImmediate(r))
        // tok: a fresh buffer per chunk, as every network read gives (one buffer read again and again hid what a new
        // buffer costs: e.g. a view of part of it made for the first time)
        if (i < chunks.length) ctl.enqueue(tok ? chunks[i++]!.slice() : chunks[i++]!)
        else ctl.close()
      },
    })
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } })
  }
  const client = createUpstreamClient({
    baseUrl: 'http://upstream.invalid/v1',
    apiKey: null,
    connectTimeoutMs: 10_000,
    firstByteTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    fetch: fakeFetch as unknown as typeof fetch,
  })
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-stream-cpu-'))
  const st = await openSqliteStore(join(dir, 'agentgate.db'))
  const engine = createTurnEngine({
    store: st,
    adapter: createUpstreamAdapter('responses', client, { maxSseLineBytes: 1 << 20, maxStreamBytes: 1 << 30 }),
    clock: Date.now,
    ids: timeOrderedId,
    logger: silentLogger,
    sealer: createSealer([sealingKey(new Uint8Array(32).fill(7))]),
    // the gateway's defaults (src/config/tuning-settings.ts): a stored turn's final Response is measured against them
    limits: { maxHistoryItems: 10_000, maxStoredResponseBytes: 8 * 1024 * 1024 },
  })
  const body = { model: 'bench-model', input: 'Say hello to the benchmark.', stream: true, store }
  let events = 0
  // *-relay: no gateway, the floor under the same load: the upstream's body read and each chunk written to a direct stream
  // as it comes (bench/token-split.ts relay:direct, in process), read by the same client
  const relay = load.endsWith('-relay')
  const relayed = async () => {
    const upstream = await fakeFetch('', { body: JSON.stringify(body) })
    return new Response(relayStream(upstream.body!), { headers: { 'content-type': 'text/event-stream' } })
  }
  const one = async () => {
    if (relay) {
      const text = await (await relayed()).text()
      let n = 0
      for (let at = text.indexOf('\n\n'); at >= 0; at = text.indexOf('\n\n', at + 2)) n++
      return n
    }
    const turn = await engine.start(body, { tenant: 'default', recordEvents: true })
    // as the route streams it: a tree whose batches() takes a sink (engine/turn-types.ts BatchSink) is given the writer's
    const res: Response = sseResponse(turn.batches.length > 0 ? (sink: unknown) => turn.batches(sink) : turn.batches())
    const text = await res.text()
    if (!text.includes('event: response.completed')) throw new Error(`stream did not complete: ${text.slice(-300)}`)
    let n = 0
    for (let at = text.indexOf('\n\n'); at >= 0; at = text.indexOf('\n\n', at + 2)) n++
    return n
  }
  const run = async (count: number) => {
    let left = count
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const k = await one() // not `events += await one()`: that reads `events` before the await
          events += k
        }
      }),
    )
  }
  await run(Math.max(concurrency, turns / 2)) // warm-up: JIT, the database's first pages
  events = 0
  const { heapStats } = await import('bun:jsc')
  const cells0 = census ? heapStats().objectTypeCounts : {}
  const t0 = threadNs()
  const p0 = processNs()
  await run(turns)
  const main = (threadNs() - t0) / events / 1000
  const all = (processNs() - p0) / events / 1000
  // --census: the heap's cells by kind, allocated per event (the collector is off in the child)
  const cells = census
    ? Object.fromEntries(Object.entries(heapStats().objectTypeCounts).map(([kind, n]) => [kind, (n - (cells0[kind] ?? 0)) / events]))
    : undefined
  await st.close()
  rmSync(dir, { recursive: true, force: true })
  process.stdout.write(JSON.stringify({ main, all, events, cells }) + '\n')
}

const census = argv.includes('--census')
if (argv[0] === '--child') {
  const [, root, load, turns, concurrency, deltas] = argv
  await child(root!, load!, Number(turns), Number(concurrency), Number(deltas))
  process.exit(0)
}

const roots = opt('--roots', join(import.meta.dir, '..')).split(',')
const loads = opt('--loads', 'tok,tok-nostore,burst,burst-nostore').split(',')
const turns = Number(opt('--turns', '400'))
const concurrency = Number(opt('--concurrency', '100'))
const rounds = Number(opt('--rounds', '5'))
const results = new Map<string, number[]>()
for (let r = 0; r < rounds; r++)
  for (const load of loads)
    for (const root of roots) {
      const deltas = load.startsWith('burst') ? opt('--burst-deltas', '1000') : opt('--deltas', '250')
      const n = turns
      const proc = Bun.spawn(
        [
          process.execPath,
          import.meta.path,
          '--child',
          root,
          load,
          String(n),
          String(load.startsWith('burst') ? 8 : concurrency),
          deltas,
          ...(census ? ['--census'] : []),
        ],
        { stdout: 'pipe', stderr: 'inherit', env: census ? { ...process.env, BUN_JSC_useGC: '0' } : process.env },
      )
      const out = await new Response(proc.stdout).text()
      if ((await proc.exited) !== 0) throw new Error(`${load} ${root}: the child failed`)
      const { main, all, cells } = JSON.parse(out)
      if (cells) {
        const top = Object.entries(cells as Record<string, number>)
          .filter(([, n]) => n >= 0.05)
          .sort((a, b) => b[1] - a[1])
        const total = top.reduce((t, [, n]) => t + n, 0)
        process.stdout.write(
          `round ${r + 1} ${load} ${root}: cells per event ${total.toFixed(2)}: ${top.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', ')}\n`,
        )
        continue
      }
      const key = `${load}\t${root}`
      results.set(key, [...(results.get(key) ?? []), main])
      process.stdout.write(`round ${r + 1} ${load} ${root}: main thread ${main.toFixed(2)} µs/event, process ${all.toFixed(2)} µs/event\n`)
    }
process.stdout.write('\nsummary (main thread µs/event: median [rounds])\n')
for (const [key, xs] of results) {
  const s = [...xs].sort((a, b) => a - b)
  process.stdout.write(`${key}\t${s[Math.floor(s.length / 2)]!.toFixed(2)}\t[${xs.map((x) => x.toFixed(2)).join(', ')}]\n`)
}
