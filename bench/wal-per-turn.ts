#!/usr/bin/env bun
// What a stored turn writes to SQLite's WAL: a gateway (compiled or from source) in front of the bench upstream takes
// `--turns` turns `--conns` at a time while strace counts the gateway's pwrite calls on its -wal file: the bytes and
// frames (4 KiB pages, each written as its 24-byte header then the page) appended a turn, and what the turns' rows hold
// afterwards (bytes of each JSON column a response, the warm-up's turns included). Only write counts: strace slows the
// gateway, so no time is measured here (bench/turn-write.ts, bench/ab.ts).
//
//   bun run bench/wal-per-turn.ts [--bin dist/agentgate | --source .] [--model bench-l0-d1000-r0] [--stream true]
//                                 [--turns 64] [--conns 8]
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { optionOf, ROOT, removeTempDirs, startGateway, startServer, stopAll, tempDir } from './lib'

const opt = optionOf(process.argv.slice(2))
const source = process.argv.includes('--source') ? opt('--source', ROOT) : null
const bin = opt('--bin', join(ROOT, 'dist/agentgate'))
const model = opt('--model', 'bench-l0-d1000-r0')
const stream = opt('--stream', 'true') === 'true'
const turns = Number(opt('--turns', '64'))
const conns = Number(opt('--conns', '8'))

const upDir = tempDir('agentgate-walturn-up-')
const up = await startServer([process.execPath, 'run', join(ROOT, 'bench/upstream.ts'), '--port', '0'], {
  stderrFile: join(upDir, 'up.log'),
})
const launcher = source
  ? { mode: 'source' as const, command: [process.execPath, 'run', join(source, 'src/main.ts')], label: 'source' }
  : { mode: 'binary' as const, command: [bin], label: bin }
const gw = await startGateway(launcher, `${up.url}/v1`)
const body = JSON.stringify({ model, input: 'Say hello to the benchmark.', stream })
async function one() {
  const res = await fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  await res.text()
  if (res.status !== 200) throw new Error(`status ${res.status}`)
}
// warm-up (the schema's first pages, the JIT), then the counted turns under strace
for (let i = 0; i < conns * 2; i++) await one()
const log = join(gw.home, 'strace.txt')
const st = Bun.spawn(['strace', '-f', '-qq', '-e', 'trace=pwrite64', '-e', 'read=none', '-y', '-o', log, '-p', String(gw.pid)], {
  stderr: 'ignore',
})
await Bun.sleep(500)
let next = 0
await Promise.all(
  Array.from({ length: conns }, async () => {
    while (next++ < turns) await one()
  }),
)
await Bun.sleep(300)
st.kill('SIGINT')
await st.exited
const lines = (await Bun.file(log).text()).split('\n').filter((l) => l.includes('-wal>'))
let frames = 0
let bytes = 0
let headers = 0
for (const l of lines) {
  const m = l.match(/, (\d+), \d+\) = (\d+)/)
  if (!m) continue
  bytes += Number(m[2])
  if (Number(m[1]) === 4096) frames++
  else if (Number(m[1]) === 24) headers++
}
const db = new Database(join(gw.home, 'agentgate.db'), { readonly: true })
const q = (sql: string) => db.query(sql).get() as Record<string, number>
const n = q('SELECT count(*) AS n FROM responses').n
const cols = q(`SELECT sum(length(request)) AS request, sum(length(response)) AS response FROM responses`)
const items = q(`SELECT sum(length(body)) AS items FROM items`)
const events = q(`SELECT sum(length(data)) AS events, count(*) AS rows FROM response_events`)
const per = (x: number) => (x / n).toFixed(0)
console.log(
  `${launcher.label} ${model} stream=${stream}: ${turns} turns ${conns} at a time: WAL ${(bytes / turns / 1024).toFixed(1)} KiB a turn, ` +
    `${(frames / turns).toFixed(1)} frames a turn (${headers} frame headers), ${lines.length} pwrites`,
)
console.log(
  `rows a turn (${n} responses): request ${per(cols.request)} B, response ${per(cols.response)} B, items ${per(items.items)} B, ` +
    `events ${per(events.events)} B in ${(events.rows / n).toFixed(1)} rows`,
)
db.close()
await stopAll()
removeTempDirs()
