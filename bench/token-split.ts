#!/usr/bin/env bun
// Where a token-by-token stream's CPU goes: the same load (the LLM-like one: streams of 250 tokens at 50 tok/s, one
// upstream chunk per token, the client in its own process, bench/sse-load.ts) through relays that each add one layer of
// the gateway's stream path, then through the gateway itself; CPU per token by thread from /proc, interleaved round by
// round. The differences between rows are what each layer costs a token:
//   relay:pipe      Bun's own pipe (new Response(upstream body)): the floor of fetch + server
//   relay:direct    fetch's reader, each chunk written to a direct stream (what the gateway's I/O does, nothing else)
//   relay:adapter   the upstream adapter (SSE reader, delta matcher) and the SSE writer (http/sse.ts) of a source tree
//   relay:norm      + the normaliser (engine/normalise.ts) and one generator more
//   <tree>#off      the gateway from that source tree (or a compiled binary), store:false
//   <tree>#on       the same, store on (the event log, the turn's rows)
//
//   bun run bench/token-split.ts [--targets relay:direct,relay:adapter,relay:norm,.#off,.#on] [--streams 300]
//                                [--seconds 8] [--warmup 6] [--rounds 2] [--model bench-l100-d250-r50]
//
// A relay target may name the source tree it takes its modules from (relay:adapter@/path, default this one); a gateway
// target is a source tree or a compiled binary (a path ending in agentgate…), with #on or #off. Each line also gives
// the upstream's CPU per token: its work per token is the same on every line, so (gateway ÷ upstream) compares lines
// of different minutes of a shared machine more steadily than the raw µs do.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BENCH_DIR,
  cpuMs,
  median,
  optionOf,
  relayStream,
  ROOT,
  removeTempDirs,
  startServer,
  stopAll,
  tempDir,
  threadCpuByName,
} from './lib'

const argv = process.argv.slice(2)
const opt = optionOf(argv)

if (argv[0] === '--relay') await relay(argv[1]!, argv[2]!, argv[3]!)
else await main()

async function main() {
  const targets = opt('--targets', 'relay:direct,relay:adapter,relay:norm,.#off,.#on').split(',')
  const streams = Number(opt('--streams', '300'))
  const seconds = Number(opt('--seconds', '8'))
  const warmup = Number(opt('--warmup', '6'))
  const rounds = Number(opt('--rounds', '2'))
  const model = opt('--model', 'bench-l100-d250-r50')
  const home = tempDir('agentgate-token-split-')
  const up = await startServer([process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0'], {
    stderrFile: join(home, 'upstream.log'),
  })
  const results = new Map<string, number[][]>()
  try {
    for (let r = 0; r < rounds; r++)
      for (const target of targets) {
        const [what, store = 'on'] = target.split('#')
        const bodyFile = join(home, 'body.json')
        writeFileSync(bodyFile, JSON.stringify({ model, input: 'Say hello to the benchmark.', stream: true, store: store === 'on' }))
        const env: Record<string, string | undefined> = Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith('AGENTGATE_')),
        )
        let cmd: string[]
        if (what!.startsWith('relay:')) {
          const [mode, tree = ROOT] = what!.slice(6).split('@')
          // the relay is a plain Bun process: Bun's fetch cap raised as serve raises it (README Limits)
          env.BUN_CONFIG_MAX_HTTP_REQUESTS = '4096'
          cmd = [process.execPath, 'run', import.meta.path, '--relay', mode!, `${up.url}/v1`, tree]
        } else {
          const tree = what === '.' ? ROOT : what!
          const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`]
          cmd = /\/agentgate[^/]*$/.test(tree) ? [tree, ...serve] : [process.execPath, 'run', join(tree, 'src/main.ts'), ...serve]
        }
        const dir = tempDir('agentgate-token-split-gw-')
        const gw = await startServer(cmd, { env: { ...env, AGENTGATE_HOME: dir }, cwd: dir, stderrFile: join(dir, 'stderr.log') })
        const load = Bun.spawn(
          [
            process.execPath,
            'run',
            join(BENCH_DIR, 'sse-load.ts'),
            `${gw.url}/v1/responses`,
            bodyFile,
            String(streams),
            String(warmup),
            String(seconds),
          ],
          {
            env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: String(streams * 2) },
            stdin: 'ignore',
            stdout: 'pipe',
            stderr: 'inherit',
          },
        )
        const killer = setTimeout(() => load.kill('SIGKILL'), (warmup + seconds + 60) * 1000)
        await Bun.sleep(warmup * 1000)
        const threads0 = threadCpuByName(gw.pid)
        const up0 = cpuMs(up.pid)
        await Bun.sleep(seconds * 1000)
        const threads1 = threadCpuByName(gw.pid)
        const up1 = cpuMs(up.pid)
        const report = JSON.parse(await new Response(load.stdout).text())
        await load.exited
        clearTimeout(killer)
        await gw.stop()
        const tokens = report.tokens as number
        const us = (name: string) => ((threads1.get(name) ?? 0) - (threads0.get(name) ?? 0)) / 1000 / tokens
        let all = 0
        for (const name of threads1.keys()) if (!name.startsWith('main ')) all += us(name)
        const upstream = ((up1 - up0) * 1000) / tokens
        const row = [all, us('main'), us('main user'), us('main sys'), us('HTTP Client'), upstream]
        results.set(target, [...(results.get(target) ?? []), row])
        process.stdout.write(
          `round ${r + 1} ${target}: µs/token all threads ${all.toFixed(2)}, main ${row[1]!.toFixed(2)} (user ${row[2]!.toFixed(2)}, sys ${row[3]!.toFixed(2)}), HTTP client ${row[4]!.toFixed(2)}; upstream ${upstream.toFixed(2)}; ${tokens} tokens, p99 gap ${report.gapMs.p99.toFixed(1)} ms${report.errors ? `, ${report.errors} errors: ${report.firstError}` : ''}\n`,
        )
      }
    process.stdout.write("\nsummary (medians of the rounds): µs/token all threads, main thread; ÷ the upstream's µs/token\n")
    for (const [target, rows] of results) {
      const col = (i: number) => median(rows.map((r) => r[i]!))
      const ratio = (i: number) => median(rows.map((r) => r[i]! / r[5]!))
      process.stdout.write(
        `${target}\tall ${col(0).toFixed(2)}\tmain ${col(1).toFixed(2)}\tHTTP client ${col(4).toFixed(2)}\t÷ upstream: all ${ratio(0).toFixed(3)}, main ${ratio(1).toFixed(3)}\n`,
      )
    }
  } finally {
    await stopAll()
    removeTempDirs()
  }
}

/** A relay of POST /v1/responses to the upstream, through the layers `mode` names (see the top), on a port of its own. */
async function relay(mode: string, upstream: string, tree: string) {
  const { createUpstreamClient } = await import(join(tree, 'src/upstream/client.ts'))
  const { createUpstreamAdapter } = await import(join(tree, 'src/upstream/index.ts'))
  const { sseResponse } = await import(join(tree, 'src/http/sse.ts'))
  const { EventNormaliser } = await import(join(tree, 'src/engine/normalise.ts'))
  const client = createUpstreamClient({
    baseUrl: upstream,
    apiKey: null,
    connectTimeoutMs: 10_000,
    firstByteTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
  })
  const adapter = createUpstreamAdapter('responses', client, { maxSseLineBytes: 1 << 20, maxStreamBytes: 1 << 30 })
  let ids = 0
  const headers = { 'content-type': 'text/event-stream' }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const { model, input } = (await req.json()) as { model: string; input: unknown }
      if (mode === 'pipe' || mode === 'direct') {
        const res = await fetch(`${upstream}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, input, stream: true }),
        })
        if (mode === 'pipe') return new Response(res.body, { headers })
        return new Response(relayStream(res.body!), { headers })
      }
      const batches = adapter.stream({ model, input }, { signal: req.signal })
      if (mode === 'adapter') return sseResponse(batches[Symbol.asyncIterator]())
      const norm = new EventNormaliser((prefix: string) => `${prefix}_${++ids}`)
      return sseResponse(
        (async function* () {
          for await (const batch of batches) {
            const out = []
            for (const ev of batch) for (const e of norm.accept(ev)) out.push(e)
            if (out.length) yield out
            if (norm.outcome) break
          }
          yield [norm.event({ type: 'response.completed', response: { id: 'resp_relay', status: 'completed' } })]
        })(),
      )
    },
  })
  process.on('SIGTERM', () => {
    server.stop(true)
    process.exit(0)
  })
  process.stdout.write(`listening on http://127.0.0.1:${server.port}\n`)
}
