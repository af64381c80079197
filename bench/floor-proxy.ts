#!/usr/bin/env bun
// The floor of a pass-through hop on this machine: a bare Bun proxy (Bun.serve + fetch) with none of the gateway's
// work — no routing framework, hooks, auth, request id, header filtering, limits, metrics, timeouts or tracing. It
// reads the request body whole (as the gateway does, so the upstream gets a Content-Length), forwards the client's
// headers as they are to the same path below --upstream, and answers with the upstream's body:
//   as-is   the upstream's own Response (what the gateway hands Bun: its body is piped natively)
//   wrap    new Response(upstream.body, { status, headers }) (the body read through a JS stream)
// Run it with BUN_CONFIG_MAX_HTTP_REQUESTS=4096, the fetch cap `agentgate serve` runs with (src/fetch-cap.ts), so the
// two differ by the gateway's own work only. Used by the passthrough scenario (its floor row).
//
//   BUN_CONFIG_MAX_HTTP_REQUESTS=4096 bun run bench/floor-proxy.ts --upstream http://127.0.0.1:PORT/v1 [--mode as-is|wrap]
import { optionOf } from './lib'

const opt = optionOf(process.argv.slice(2))
const upstream = opt('--upstream', '').replace(/\/+$/, '')
const mode = opt('--mode', 'as-is')
if (!upstream || (mode !== 'as-is' && mode !== 'wrap')) {
  process.stderr.write('usage: bun run bench/floor-proxy.ts --upstream URL [--mode as-is|wrap]\n')
  process.exit(2)
}
const pathStart = (url: string) => url.indexOf('/', url.indexOf(':') + 3)

const server = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  // like the gateway's /v1 routes: the client's path below /v1 goes to the same path below the upstream's base
  async fetch(req) {
    const path = req.url.slice(pathStart(req.url)).replace(/^\/v1/, '')
    const res = await fetch(upstream + path, {
      method: req.method,
      headers: req.headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : await req.arrayBuffer(),
      decompress: false,
    } as RequestInit)
    return mode === 'as-is' ? res : new Response(res.body, { status: res.status, headers: res.headers })
  },
})
process.on('SIGTERM', () => {
  server.stop(true)
  process.exit(0)
})
process.stdout.write(`floor-proxy (${mode}) listening on ${server.url.href.replace(/\/$/, '')}\n`)
