// WebSocket mode of /v1/responses: what 1000 idle sockets cost the gateway, pipelined turns on one
// socket (3 response.create back to back vs one after the other), and the gap between consecutive event
// frames (a Nagle-style stall would show as tens of ms), next to the same stream over SSE and direct.
import { fmt, sleep, summarize, timeStream, type Ctx, type ScenarioResult, type Summary } from '../lib'
import { profileModel, type Profile } from '../upstream'

const IDLE_SOCKETS = 1000
const TERMINAL = /^\{"type":"(response\.(completed|failed|incomplete)|error)"/

/** A client socket whose frames go to whoever is waiting for them. */
export class Socket {
  private onFrame: ((text: string, at: number) => void) | null = null
  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => this.onFrame?.(String(e.data), performance.now())
  }

  static open(url: string, timeoutMs = 10_000): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url)
      const timer = setTimeout(() => reject(new Error(`WebSocket ${url} did not open within ${timeoutMs} ms`)), timeoutMs)
      ws.onopen = () => {
        clearTimeout(timer)
        resolve(new Socket(ws))
      }
      ws.onerror = () => {
        clearTimeout(timer)
        reject(new Error(`WebSocket ${url} failed to open`))
      }
    })
  }

  send(frame: unknown) {
    this.ws.send(JSON.stringify(frame))
  }

  /** Resolves when `n` turns have ended; `record` sees every frame with its arrival time. */
  turns(n: number, record?: (text: string, at: number) => void, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      let left = n
      const timer = setTimeout(() => done(new Error(`${left} of ${n} turns did not end within ${timeoutMs} ms`)), timeoutMs)
      const done = (e?: Error) => {
        clearTimeout(timer)
        this.onFrame = null
        if (e) reject(e)
        else resolve()
      }
      this.onFrame = (text, at) => {
        record?.(text, at)
        const m = TERMINAL.exec(text)
        if (!m) return
        if (m[1] !== 'response.completed') return done(new Error(`turn ended with ${text.slice(0, 300)}`))
        if (--left === 0) done()
      }
    })
  }

  close() {
    this.ws.close()
  }
}

const create = (p: Profile) => ({ type: 'response.create', model: profileModel(p), input: 'Say hello to the benchmark.' })

/** Gaps (ms) between consecutive arrivals from the first token on. */
function gapsFrom(arrivals: { at: number; delta: boolean }[]): number[] {
  const first = arrivals.findIndex((a) => a.delta)
  const out: number[] = []
  for (let i = Math.max(1, first + 1); i < arrivals.length; i++) out.push(arrivals[i].at - arrivals[i - 1].at)
  return out
}

export async function websocket(ctx: Ctx): Promise<ScenarioResult> {
  const metrics: Record<string, number> = {}
  const tables: ScenarioResult['tables'] = []
  const gw = await ctx.gateway()
  const wsUrl = gw.url.replace(/^http/, 'ws') + '/v1/responses'
  try {
    // ---- 1000 idle sockets ----
    ctx.log(`websocket: ${IDLE_SOCKETS} idle sockets`)
    await sleep(1000)
    const before = gw.rssMiB()
    const sockets: Socket[] = []
    const t0 = performance.now()
    for (let i = 0; i < IDLE_SOCKETS; i += 50)
      sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, IDLE_SOCKETS - i) }, () => Socket.open(wsUrl)))))
    const openMs = performance.now() - t0
    await sleep(1000)
    const withSockets = gw.rssMiB()
    // Every socket is a live session: a prewarm on the last one answers.
    const last = sockets[sockets.length - 1]
    const answered = last.turns(1)
    last.send({ ...create(ctx.turnProfile), generate: false })
    await answered
    for (const s of sockets) s.close()
    await sleep(1000)
    const afterClose = gw.rssMiB()
    Object.assign(metrics, {
      'websocket.idle.rss_before_mib': before,
      'websocket.idle.rss_with_sockets_mib': withSockets,
      'websocket.idle.rss_after_close_mib': afterClose,
      'websocket.idle.kib_per_socket': ((withSockets - before) * 1024) / IDLE_SOCKETS,
      'websocket.idle.open_ms': openMs,
    })
    tables.push({
      title: `${IDLE_SOCKETS} idle WebSockets on one gateway`,
      headers: ['gateway RSS before', `with ${IDLE_SOCKETS} sockets`, 'per socket', 'after closing them', `time to open ${IDLE_SOCKETS}`],
      rows: [
        [
          `${fmt(before, 1)} MiB`,
          `${fmt(withSockets, 1)} MiB`,
          `${fmt(metrics['websocket.idle.kib_per_socket'], 1)} KiB`,
          `${fmt(afterClose, 1)} MiB`,
          `${fmt(openMs, 0)} ms`,
        ],
      ],
    })

    // ---- pipelined turns ----
    const trials = ctx.quick ? 8 : 30
    const instant: Profile = { latencyMs: 0, deltas: 16, tokensPerS: 0 }
    const pipeRows: string[][] = []
    const sock = await Socket.open(wsUrl)
    try {
      for (const [key, label, p] of [
        ['instant', 'instant upstream', instant],
        ['turn', 'upstream turn profile', ctx.turnProfile],
      ] as const) {
        ctx.log(`websocket: 3 pipelined vs sequential turns, ${label}`)
        const pipelined: number[] = []
        const sequential: number[] = []
        for (let i = 0; i < trials + 2; i++) {
          let t = performance.now()
          const all = sock.turns(3)
          for (let k = 0; k < 3; k++) sock.send(create(p))
          await all
          const piped = performance.now() - t
          t = performance.now()
          for (let k = 0; k < 3; k++) {
            const one = sock.turns(1)
            sock.send(create(p))
            await one
          }
          const seq = performance.now() - t
          if (i >= 2) {
            // the first two are warm-up
            pipelined.push(piped)
            sequential.push(seq)
          }
        }
        const ps = summarize(pipelined)
        const ss = summarize(sequential)
        pipeRows.push([
          label,
          `${fmt(ps.p50, 2)} / ${fmt(ps.p90, 2)}`,
          `${fmt(ss.p50, 2)} / ${fmt(ss.p90, 2)}`,
          `${(ps.p50 / ss.p50).toFixed(2)}×`,
          String(trials),
        ])
        Object.assign(metrics, {
          [`websocket.pipelined.${key}.pipelined_p50_ms`]: ps.p50,
          [`websocket.pipelined.${key}.sequential_p50_ms`]: ss.p50,
          [`websocket.pipelined.${key}.ratio`]: ps.p50 / ss.p50,
        })
      }
    } finally {
      sock.close()
    }
    tables.push({
      title:
        '3 turns on one socket: pipelined (3 response.create sent at once) vs sequential (send, wait for response.completed, send the next)',
      headers: ['upstream', 'pipelined p50 / p90 ms', 'sequential p50 / p90 ms', 'pipelined / sequential', 'trials'],
      rows: pipeRows,
      note: "The gateway runs a socket's turns one after the other (FIFO), so pipelining saves the client's round trips between turns, no more.",
    })

    // ---- inter-frame gaps ----
    const gapRows: string[][] = []
    const streams = ctx.quick ? 4 : 12
    for (const [key, label, p] of [
      ['nodelay', '500 deltas, no delay', { latencyMs: 0, deltas: 500, tokensPerS: 0 }],
      ['paced', '200 deltas at 1000 tok/s', { latencyMs: 0, deltas: 200, tokensPerS: 1000 }],
    ] as const) {
      ctx.log(`websocket: inter-frame gaps, ${label}`)
      const gwSse: number[] = []
      const direct: number[] = []
      const ws: number[] = []
      const wsSock = await Socket.open(wsUrl)
      try {
        for (let i = 0; i < streams + 1; i++) {
          const arrivals: { at: number; delta: boolean }[] = []
          const done = wsSock.turns(1, (text, at) => arrivals.push({ at, delta: text.startsWith('{"type":"response.output_text.delta"') }))
          wsSock.send(create(p))
          await done
          const body = { model: profileModel(p), input: 'Say hello to the benchmark.', stream: true }
          const viaGw = await timeStream(`${gw.url}/v1/responses`, body, true)
          const dir = await timeStream(`${ctx.upstream}/responses`, body, true)
          if (i === 0) continue // warm-up
          ws.push(...gapsFrom(arrivals))
          // SSE arrivals are per event; the first delta is where firstDeltaMs is.
          const sse = (t: typeof viaGw) => gapsFrom(t.arrivals!.map((at) => ({ at, delta: at >= t.firstDeltaMs })))
          gwSse.push(...sse(viaGw))
          direct.push(...sse(dir))
        }
      } finally {
        wsSock.close()
      }
      const row = (name: string, s: Summary) => [label, name, fmt(s.p50, 3), fmt(s.p99, 3), fmt(s.max, 2), String(s.n)]
      const [w, g, d] = [summarize(ws), summarize(gwSse), summarize(direct)]
      gapRows.push(row('gateway, WebSocket frames', w), row('gateway, SSE events', g), row('direct, SSE events', d))
      for (const [name, s] of [
        ['ws', w],
        ['sse', g],
        ['direct', d],
      ] as const) {
        Object.assign(metrics, {
          [`websocket.gaps.${key}.${name}_p50_ms`]: s.p50,
          [`websocket.gaps.${key}.${name}_p99_ms`]: s.p99,
          [`websocket.gaps.${key}.${name}_max_ms`]: s.max,
        })
      }
    }
    tables.push({
      title: `Gap between consecutive events of one stream, from the first token to the end (${streams} streams pooled)`,
      headers: ['upstream', 'path', 'p50 ms', 'p99 ms', 'max ms', 'gaps'],
      rows: gapRows,
      note: 'Events that arrive in the same read count as a 0 ms gap. A Nagle/delayed-ACK stall would show as a max (or p99) near 40 ms.',
    })
    metrics['websocket.gw_rss_mib'] = gw.rssMiB()
    return { name: 'websocket', metrics, tables }
  } finally {
    await gw.stop()
  }
}
