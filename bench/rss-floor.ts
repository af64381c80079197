// A bare Bun server for bench/rss-map.ts --floor: the Bun APIs agentgate's request paths use (Bun.serve, fetch to the
// upstream, bun:sqlite, an SSE stream re-emitted through a ReadableStream) and nothing of agentgate, so the pages of
// Bun's own code that the same requests touch can be told apart from the gateway's. Takes serve's arguments; reads
// only --upstream.
import { Database } from 'bun:sqlite'
const argv = process.argv.slice(2)
const upstream = argv[argv.indexOf('--upstream') + 1]
const db = new Database(':memory:')
db.exec('create table r (id integer primary key, body text)')
const insert = db.prepare('insert into r (body) values (?)')
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  async fetch(req) {
    const path = new URL(req.url).pathname
    if (path === '/health') return Response.json({ status: 'ok' })
    if (path === '/v1/models') {
      const r = await fetch(`${upstream}/models`)
      return new Response(r.body, { status: r.status, headers: { 'content-type': 'application/json' } })
    }
    if (path === '/v1/chat/completions') {
      const r = await fetch(`${upstream}/chat/completions`, {
        method: 'POST',
        body: await req.text(),
        headers: { 'content-type': 'application/json' },
      })
      return new Response(r.body, { status: r.status, headers: { 'content-type': 'application/json' } })
    }
    const body = (await req.json()) as { stream?: boolean }
    const r = await fetch(`${upstream}/responses`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    })
    if (!body.stream) {
      const out = await r.json()
      insert.run(JSON.stringify(out))
      return Response.json(out)
    }
    const reader = r.body!.getReader()
    const dec = new TextDecoder()
    const enc = new TextEncoder()
    return new Response(
      new ReadableStream({
        async pull(c) {
          const x = await reader.read()
          if (x.done) {
            insert.run('done')
            return c.close()
          }
          for (const line of dec.decode(x.value, { stream: true }).split('\n'))
            if (line.startsWith('data: ')) c.enqueue(enc.encode(`data: ${JSON.stringify(JSON.parse(line.slice(6)))}\n\n`))
        },
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    )
  },
})
console.log(`floor listening on http://127.0.0.1:${server.port}`)
