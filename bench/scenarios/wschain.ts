// A Codex-style WebSocket chain (issue 13): one socket, 300 turns one after the other, each a
// `response.create` with `store:false`, `previous_response_id` of the turn before and only the new item —
// the output of the function call the upstream answered the turn before — as Codex sends them. So every
// turn adds a call and its output (2 items) to the chain. The upstream answers at once with one function
// call (`bench-l0-d16-r0-t1`). Read: the cost of turn 300 against turn 10, as gateway CPU per turn
// (all its threads, from the send of a turn to the send of the next, so work done after the answer
// counts) and as latency; turn 10 is read on a short chain beside the long one, the two windows turn for turn
// (gatewayChains). Direct: the same turns to the upstream's /v1/responses (SSE), each carrying the
// whole history inline — what the gateway sends it — so the upstream's own growth is visible apart.
import { type Ctx, fmt, median, type ScenarioResult, timeStream } from '../lib'
import { profileModel, type Profile } from '../upstream'
import { Socket } from './websocket'

const TURNS = 300
const TOOL_TURN: Profile = { latencyMs: 0, deltas: 16, tokensPerS: 0, toolCall: true }
/** turns 6–15 stand for "turn 10" and 291–300 for "turn 300" (medians over these, pooled over the chains) */
const EARLY: [number, number] = [6, 15]
const LATE: [number, number] = [TURNS - 9, TURNS]

const INSTRUCTIONS = 'You are a coding agent running in a terminal. Keep answers short; use the tools to inspect and change files. '.repeat(
  30,
)
const fn = (name: string, props: Record<string, unknown>) => ({
  type: 'function',
  name,
  description: `The ${name} tool.`,
  strict: false,
  parameters: { type: 'object', properties: props, required: Object.keys(props), additionalProperties: false },
})
const TOOLS = [
  fn('shell', { command: { type: 'array', items: { type: 'string' } }, workdir: { type: 'string' }, timeout_ms: { type: 'number' } }),
  fn('apply_patch', { input: { type: 'string' } }),
  fn('update_plan', { explanation: { type: 'string' }, plan: { type: 'array', items: { type: 'object' } } }),
  fn('view_image', { path: { type: 'string' } }),
]
/** the arguments bench/upstream.ts streams for a 16-delta call */
const CALL_ARGUMENTS = `{"command":["echo"${',"word"'.repeat(14)}]}`
const OUTPUT = `exit code 0\n${'word '.repeat(40)}`

interface FunctionCall {
  type: 'function_call'
  call_id: string
  name: string
  arguments: string
  id?: string
}

/** A chain through the gateway on its own socket, one turn at a time. */
export class GatewayChain {
  /** turns done */
  turns = 0
  private prev: { id: string; call: FunctionCall } | null = null
  private constructor(private readonly sock: Socket) {}

  static async open(wsUrl: string): Promise<GatewayChain> {
    return new GatewayChain(await Socket.open(wsUrl))
  }

  /** Its next turn, sent right after `atSend()` (the reading that starts the turn's CPU): ms from the send to response.completed. */
  async next(atSend: () => void): Promise<number> {
    const turn = ++this.turns
    let completed = ''
    const done = this.sock.turns(1, (text) => {
      if (text.startsWith('{"type":"response.completed"')) completed = text
    })
    const prev = this.prev
    const input = prev
      ? [{ type: 'function_call_output', call_id: prev.call.call_id, output: OUTPUT }]
      : [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look around the repository.' }] }]
    atSend()
    const t0 = performance.now()
    this.sock.send({
      type: 'response.create',
      model: profileModel(TOOL_TURN),
      instructions: INSTRUCTIONS,
      tools: TOOLS,
      store: false,
      input,
      ...(prev ? { previous_response_id: prev.id } : {}),
    })
    await done
    const latency = performance.now() - t0
    const r = JSON.parse(completed).response as { id: string; output: FunctionCall[] }
    const call = r.output.find((o) => o.type === 'function_call')
    if (!call) throw new Error(`turn ${turn}: no function call in ${completed.slice(0, 300)}`)
    this.prev = { id: r.id, call }
    return latency
  }

  close() {
    this.sock.close()
  }
}

/** A measured turn: which turn of its chain, ms from send to response.completed, gateway CPU ms. */
interface TurnSample {
  turn: number
  latency: number
  cpu: number
}

/**
 * A long chain through the gateway and a short one beside it, on two sockets, one turn at a time: the long chain's
 * turns up to its LATE window alone, the short chain's up to its EARLY window, then the two windows turn for turn
 * (long, short, long, short…). "Turn 300" and "turn 10" are then read in the same seconds of the gateway's life, so
 * what drifts with time — the JIT still compiling, a collection, the machine's neighbours — weighs on both alike
 * (measured one after the other, turn 10 of the first chain fell in the gateway's first second, JIT and all). A
 * turn's CPU runs from its send to the next send, whichever socket that is, so work done after its answer counts.
 */
async function gatewayChains(wsUrl: string, cpuNs: () => number): Promise<{ early: TurnSample[]; late: TurnSample[] }> {
  const long = await GatewayChain.open(wsUrl)
  const short = await GatewayChain.open(wsUrl)
  const sent: { window: 'early' | 'late' | null; turn: number; latency: number; cpuAt: number }[] = []
  const step = async (chain: GatewayChain, window: 'early' | 'late' | null) => {
    let cpuAt = 0
    const latency = await chain.next(() => {
      cpuAt = cpuNs()
    })
    sent.push({ window, turn: chain.turns, latency, cpuAt })
  }
  try {
    while (long.turns < LATE[0] - 1) await step(long, null)
    while (short.turns < EARLY[0] - 1) await step(short, null)
    // the windows are as long: each turn of one follows a turn of the other
    while (long.turns < LATE[1]) {
      await step(long, 'late')
      await step(short, 'early')
    }
  } finally {
    long.close()
    short.close()
  }
  const end = cpuNs()
  const samples = (window: 'early' | 'late') =>
    sent.flatMap((s, i) =>
      s.window === window ? [{ turn: s.turn, latency: s.latency, cpu: ((sent[i + 1]?.cpuAt ?? end) - s.cpuAt) / 1e6 }] : [],
    )
  return { early: samples('early'), late: samples('late') }
}

/** The same chain straight to the upstream, history inline: per turn, ms to the end of the stream. */
async function directChain(upstream: string): Promise<number[]> {
  const history: unknown[] = [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look around the repository.' }] }]
  const latency: number[] = []
  for (let turn = 1; turn <= TURNS; turn++) {
    const body = { model: profileModel(TOOL_TURN), instructions: INSTRUCTIONS, tools: TOOLS, store: false, stream: true, input: history }
    const t = await timeStream(`${upstream}/responses`, body)
    latency.push(t.totalMs)
    // the call the gateway would have relayed, and the output Codex would send for it
    const call_id = `call_direct_${turn}`
    history.push({ type: 'function_call', call_id, name: 'shell', arguments: CALL_ARGUMENTS, status: 'completed' })
    history.push({ type: 'function_call_output', call_id, output: OUTPUT })
  }
  return latency
}

export async function wschain(ctx: Ctx): Promise<ScenarioResult> {
  const chains = ctx.quick ? 2 : 5
  const gw = await ctx.gateway()
  const wsUrl = gw.url.replace(/^http/, 'ws') + '/v1/responses'
  const early: (TurnSample & { direct: number })[] = []
  const late: (TurnSample & { direct: number })[] = []
  try {
    for (let c = 1; c <= chains; c++) {
      ctx.log(`wschain: chain ${c}/${chains} of ${TURNS} turns, direct then through the gateway (a short chain beside it)`)
      const direct = await directChain(ctx.upstream)
      const g = await gatewayChains(wsUrl, gw.cpuNs)
      for (const s of g.early) early.push({ ...s, direct: direct[s.turn - 1] })
      for (const s of g.late) late.push({ ...s, direct: direct[s.turn - 1] })
    }
  } finally {
    await gw.stop()
  }
  const row = (label: string, of: (s: TurnSample & { direct: number }) => number) => {
    const e = median(early.map(of))
    const l = median(late.map(of))
    return { early: e, late: l, ratio: l / e, cells: [label, fmt(e, 2), fmt(l, 2), `${(l / e).toFixed(2)}×`] }
  }
  const d = row('direct: upstream latency per turn (history inline, SSE)', (s) => s.direct)
  const l = row('gateway: latency per turn (WebSocket)', (s) => s.latency)
  const c = row('gateway: CPU ms per turn', (s) => s.cpu)
  const added = row('added latency per turn (gateway − direct)', (s) => s.latency - s.direct)
  const metrics: Record<string, number> = {
    'wschain.direct_turn10_ms': d.early,
    'wschain.direct_turn300_ms': d.late,
    'wschain.direct_ratio': d.ratio,
    'wschain.gateway_turn10_ms': l.early,
    'wschain.gateway_turn300_ms': l.late,
    'wschain.latency_ratio': l.ratio,
    'wschain.gw_cpu_turn10_ms': c.early,
    'wschain.gw_cpu_turn300_ms': c.late,
    'wschain.cpu_ratio': c.ratio,
    'wschain.added_turn10_ms': added.early,
    'wschain.added_turn300_ms': added.late,
    'wschain.added_ratio': added.ratio,
  }
  return {
    name: 'wschain',
    metrics,
    tables: [
      {
        title: `Codex-style WebSocket chain: ${TURNS} turns on one socket, each adding a function call and its output (${chains} chains, upstream \`bench-l0-d16-r0-t1\`)`,
        headers: [
          'per turn',
          `turn 10 (median of turns ${EARLY.join('–')}) ms`,
          `turn 300 (turns ${LATE.join('–')}) ms`,
          'turn 300 / turn 10',
        ],
        rows: [d.cells, l.cells, added.cells, c.cells],
        note:
          'Each turn sends `store:false`, `previous_response_id` and only the new `function_call_output`; the gateway rehydrates the rest ' +
          `(by turn 300 the chain holds ${TURNS * 2 - 1} items). Every request carries ${TOOLS.length} function tools and ${(INSTRUCTIONS.length / 1024).toFixed(1)} KiB of instructions. ` +
          'Gateway CPU per turn: all its threads (/proc/<pid>/task/*/schedstat), from the send of a turn to the send of the next. ' +
          `Through the gateway each chain has a short one beside it on a second socket: turns ${LATE.join('–')} of the long chain and ${EARLY.join('–')} of the short one alternate, turn for turn, so both windows are read in the same seconds. ` +
          'Direct: the same turns one chain after the other.',
      },
    ],
  }
}
