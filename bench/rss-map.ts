// Where the gateway's idle resident memory is, mapping by mapping: the executable by ELF section (the Bun runtime's
// code and read-only data, the embedded app bundle `.bun`), the shared libraries, and the anonymous regions, read
// from /proc/PID/smaps and /proc/PID/pagemap 2 s after the start and again 2 s after a first batch of requests.
//
//   bun run bench/rss-map.ts [--binary dist/agentgate | --floor] [--kinds health,models,chat,json,sse] [--n 20]
//     [--separate] [--pages] [--waits 2,7] [-- <extra serve args>]
//
// --separate: a fresh gateway for each kind of request, so the growth is told apart per request path.
// --pages: also lists which MiB of each executable section the requests touched.
// --floor: a bare Bun server (rss-floor.ts) in place of the gateway, run by this Bun (whose .text is the executable's).
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { sleep, startGateway, startServer, tempDir, turnBody, type Gateway } from './lib'

const ROOT = join(import.meta.dir, '..')
const PAGE = 4096
const MiB = 1024 * 1024

interface Args {
  binary: string
  kinds: string[]
  n: number
  separate: boolean
  pages: boolean
  /** a bare Bun server (rss-floor.ts, run by this Bun) instead of the gateway */
  floor: boolean
  extra: string[]
  /** seconds after the requests at which RssAnon/RssFile are read again (the last one is the reported snapshot) */
  waits: number[]
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    binary: join(ROOT, 'dist/agentgate'),
    kinds: ['health', 'models', 'chat', 'json', 'sse'],
    n: 20,
    separate: false,
    pages: false,
    floor: false,
    extra: [],
    waits: [2],
  }
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]
    if (v === '--') {
      a.extra = argv.slice(i + 1)
      break
    }
    if (v === '--binary') a.binary = argv[++i]
    else if (v === '--kinds') a.kinds = argv[++i].split(',')
    else if (v === '--n') a.n = Number(argv[++i])
    else if (v === '--separate') a.separate = true
    else if (v === '--pages') a.pages = true
    else if (v === '--floor') a.floor = true
    else if (v === '--waits') a.waits = argv[++i].split(',').map(Number)
    else throw new Error(`unknown option ${v}`)
  }
  return a
}

interface Section {
  name: string
  offset: number
  size: number
}

/** The executable's sections that are loaded (file offsets), from readelf. */
function sections(file: string): Section[] {
  const out = Bun.spawnSync(['readelf', '-SW', file]).stdout.toString()
  const list: Section[] = []
  for (const line of out.split('\n')) {
    const m = line.match(
      /\]\s+(\S+)\s+(PROGBITS|NOBITS|DYNSYM|STRTAB|RELA|NOTE|GNU_HASH|HASH|VERSYM|VERDEF|VERNEED|INIT_ARRAY|FINI_ARRAY|DYNAMIC)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/,
    )
    if (!m || m[2] === 'NOBITS' || Number.parseInt(m[3], 16) === 0) continue
    list.push({ name: m[1], offset: Number.parseInt(m[4], 16), size: Number.parseInt(m[5], 16) })
  }
  return list
}

interface Mapping {
  start: number
  end: number
  perms: string
  offset: number
  path: string
  rss: number
  anon: number
}

function mappings(pid: number): Mapping[] {
  const list: Mapping[] = []
  let cur: Mapping | null = null
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = line.match(/^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/)
    if (head) {
      cur = {
        start: Number.parseInt(head[1], 16),
        end: Number.parseInt(head[2], 16),
        perms: head[3],
        offset: Number.parseInt(head[4], 16),
        path: head[5],
        rss: 0,
        anon: 0,
      }
      list.push(cur)
      continue
    }
    const f = line.match(/^(Rss|Anonymous):\s+(\d+) kB/)
    if (f && cur) {
      if (f[1] === 'Rss') cur.rss = Number(f[2]) * 1024
      else cur.anon = Number(f[2]) * 1024
    }
  }
  return list
}

/** Per page of a mapping: 0 not present, 1 a file page, 2 an anonymous page (a private copy). */
function pageKinds(pid: number, m: Mapping): Uint8Array {
  const n = (m.end - m.start) / PAGE
  const buf = Buffer.alloc(n * 8)
  const fd = openSync(`/proc/${pid}/pagemap`, 'r')
  try {
    readSync(fd, buf, 0, buf.length, (m.start / PAGE) * 8)
  } finally {
    closeSync(fd)
  }
  const kinds = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const hi = buf.readUInt32LE(i * 8 + 4)
    const present = (hi >>> 31) & 1
    const filePage = (hi >>> 29) & 1
    kinds[i] = present ? (filePage ? 1 : 2) : 0
  }
  return kinds
}

/** A snapshot: bytes resident per bucket ("exe .text file", "lib libc.so.6", "anon rwx 128 MiB #1" …) and the exe's pages. */
interface Snapshot {
  buckets: Map<string, number>
  exePages: Map<number, number> // file page index → kind
  status: { anon: number; file: number }
}

function snapshot(pid: number, exe: string, secs: Section[]): Snapshot {
  const buckets = new Map<string, number>()
  const add = (k: string, v: number) => buckets.set(k, (buckets.get(k) ?? 0) + v)
  const exePages = new Map<number, number>()
  const maps = mappings(pid)
  for (const m of maps) {
    if (m.rss === 0) continue
    if (m.path === exe || m.path.endsWith('(deleted)')) {
      const kinds = pageKinds(pid, m)
      for (let i = 0; i < kinds.length; i++) {
        if (!kinds[i]) continue
        const off = m.offset + i * PAGE
        exePages.set(off / PAGE, kinds[i])
        const s = secs.find((s) => off + PAGE > s.offset && off < s.offset + s.size)
        add(`exe ${s?.name ?? '(other)'} ${kinds[i] === 1 ? 'file' : 'anon'}`, PAGE)
      }
    } else if (m.path.startsWith('/')) add(`lib ${m.path.split('/').pop()} ${m.anon ? 'anon+file' : 'file'}`, m.rss)
    else if (m.path) add(`${m.path} ${m.perms}`, m.rss)
    else {
      const size = m.end - m.start
      // Regions of 64 MiB and more one by one (by address: the JIT's pool, the allocators' reservations), the rest by size.
      const sizeClass =
        size >= 64 * MiB ? `${(size / MiB).toFixed(0)} MiB @${m.start.toString(16)}` : size >= 4 * MiB ? '4–64 MiB' : '<4 MiB'
      add(`anon ${m.perms} ${sizeClass}`, m.rss)
    }
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(status.match(new RegExp(`${k}:\\s+(\\d+)`))?.[1] ?? 0) * 1024
  return { buckets, exePages, status: { anon: kb('RssAnon'), file: kb('RssFile') } }
}

const fmt = (b: number) => (b / MiB).toFixed(2)

function report(label: string, before: Snapshot, after: Snapshot, secs: Section[], pages: boolean): void {
  console.log(`\n## ${label}`)
  console.log(
    `RssAnon ${fmt(before.status.anon)} → ${fmt(after.status.anon)} MiB, RssFile ${fmt(before.status.file)} → ${fmt(after.status.file)} MiB`,
  )
  const keys = [...new Set([...before.buckets.keys(), ...after.buckets.keys()])].sort()
  console.log('| mapping | before MiB | after MiB | Δ MiB |\n|---|---|---|---|')
  for (const k of keys) {
    const b = before.buckets.get(k) ?? 0
    const a = after.buckets.get(k) ?? 0
    if (a < 64 * 1024 && b < 64 * 1024) continue
    console.log(`| ${k} | ${fmt(b)} | ${fmt(a)} | ${a - b >= 0 ? '+' : ''}${fmt(a - b)} |`)
  }
  if (!pages) return
  // Which MiB of each section gained pages.
  for (const s of secs) {
    const gained = new Map<number, number>()
    for (const [p] of after.exePages) {
      if (before.exePages.has(p)) continue
      const off = p * PAGE
      if (off + PAGE <= s.offset || off >= s.offset + s.size) continue
      const mib = Math.floor((off - s.offset) / MiB)
      gained.set(mib, (gained.get(mib) ?? 0) + 1)
    }
    if (gained.size === 0) continue
    const total = [...gained.values()].reduce((x, y) => x + y, 0)
    const line = [...gained.entries()]
      .sort((x, y) => x[0] - y[0])
      .map(([m, n]) => `${m}:${n}`)
      .join(' ')
    console.log(`${s.name}: +${fmt(total * PAGE)} MiB new pages, by MiB of the section (MiB:pages) ${line}`)
  }
}

async function send(url: string, kind: string): Promise<void> {
  const post = (path: string, body: unknown) =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) =>
      r.arrayBuffer(),
    )
  switch (kind) {
    case 'health':
      await fetch(`${url}/health`).then((r) => r.arrayBuffer())
      return
    case 'models':
      await fetch(`${url}/v1/models`).then((r) => r.arrayBuffer())
      return
    case 'chat':
      await post('/v1/chat/completions', { model: 'bench', messages: [{ role: 'user', content: 'hi' }] })
      return
    case 'json':
    case 'sse':
      await post('/v1/responses', turnBody({ latencyMs: 0, deltas: 16, tokensPerS: 0 }, { stream: kind === 'sse' }))
      return
    default:
      throw new Error(`unknown kind ${kind}`)
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const upDir = tempDir('agentgate-rssmap-up-')
  const up = await startServer([process.execPath, join(import.meta.dir, 'upstream.ts'), '--port', '0'], {
    stderrFile: join(upDir, 'upstream.log'),
  })
  const floor = join(import.meta.dir, 'rss-floor.ts')
  const launcher = args.floor
    ? { mode: 'source' as const, command: [process.execPath, floor], label: 'bench/rss-floor.ts (bare Bun)' }
    : { mode: 'binary' as const, command: [args.binary], label: args.binary }
  const groups = args.separate ? args.kinds.map((k) => [k]) : [args.kinds]
  try {
    for (const kinds of groups) {
      // The whole executable read into the page cache first, as after a build: a read fault maps the pages around it
      // that are cached (fault-around, 64 KiB), so RssFile depends on the file's page-cache history — a fresh copy of
      // a binary read up to ~3 MiB more than an hour-old one. Reading it first narrows that (bench/README.md).
      readFileSync(args.floor ? process.execPath : args.binary)
      const gw: Gateway = await startGateway(launcher, `${up.url}/v1`, args.extra)
      try {
        const exe = readFileSync(`/proc/${gw.pid}/maps`, 'utf8').split('\n')[0].split(/\s+/).slice(5).join(' ')
        // the file the process runs (a wrapper script's runtime, too): its sections by file offset
        const secs = sections(`/proc/${gw.pid}/exe`)
        await sleep(2000)
        const before = snapshot(gw.pid, exe, secs)
        for (let i = 0; i < args.n; i++) for (const k of kinds) await send(gw.url, k)
        let waited = 0
        for (const w of args.waits) {
          await sleep((w - waited) * 1000)
          waited = w
          const s = snapshot(gw.pid, exe, secs)
          const threads = readdirSync(`/proc/${gw.pid}/task`).length
          console.log(`${w} s after: RssAnon ${fmt(s.status.anon)} MiB, RssFile ${fmt(s.status.file)} MiB, ${threads} threads`)
        }
        const after = snapshot(gw.pid, exe, secs)
        report(`${kinds.join('+')} × ${args.n} (${launcher.label})`, before, after, secs, args.pages)
      } finally {
        await gw.stop()
      }
    }
  } finally {
    await up.stop()
  }
}

await main()
