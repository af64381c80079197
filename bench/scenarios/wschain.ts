// A Codex-style WebSocket chain (issue 13): one socket, 300 turns one after the other, each a
// `response.create` with `store:false`, `previous_response_id` of the turn before and only the new item —
// the output of the function call the upstream answered the turn before — as Codex sends them. So every
// turn adds a call and its output (2 items) to the chain. The upstream answers at once with one function
// call (`bench-l0-d16-r0-t1`). Read: the cost of turn 300 against turn 10, as gateway CPU per turn
// (all its threads, from the send of a turn to the send of the next, so work done after the answer
// counts) and as latency. Direct: the same turns to the upstream's /v1/responses (SSE), each carrying the
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

/** One chain through the gateway: per turn, ms from send to response.completed and gateway CPU ns. */
async function gatewayChain(wsUrl: string, cpuNs: () => number): Promise<{ latency: number[]; cpu: number[] }> {
  const sock = await Socket.open(wsUrl)
  const latency: number[] = []
  const cpuAt: number[] = []
  try {
    let prev: { id: string; call: FunctionCall } | null = null
    for (let turn = 1; turn <= TURNS; turn++) {
      let completed = ''
      const done = sock.turns(1, (text) => {
        if (text.startsWith('{"type":"response.completed"')) completed = text
      })
      const input = prev
        ? [{ type: 'function_call_output', call_id: prev.call.call_id, output: OUTPUT }]
        : [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Look around the repository.' }] }]
      cpuAt.push(cpuNs())
      const t0 = performance.now()
      sock.send({
        type: 'response.create',
        model: profileModel(TOOL_TURN),
        instructions: INSTRUCTIONS,
        tools: TOOLS,
        store: false,
        input,
        ...(prev ? { previous_response_id: prev.id } : {}),
      })
      await done
      latency.push(performance.now() - t0)
      const r = JSON.parse(completed).response as { id: string; output: FunctionCall[] }
      const call = r.output.find((o) => o.type === 'function_call')
      if (!call) throw new Error(`turn ${turn}: no function call in ${completed.slice(0, 300)}`)
      prev = { id: r.id, call }
    }
    cpuAt.push(cpuNs())
  } finally {
    sock.close()
  }
  return { latency, cpu: latency.map((_, i) => cpuAt[i + 1] - cpuAt[i]) }
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

const windowOf = (perChain: number[][], [from, to]: [number, number]) => median(perChain.flatMap((xs) => xs.slice(from - 1, to)))

export async function wschain(ctx: Ctx): Promise<ScenarioResult> {
  const chains = ctx.quick ? 2 : 5
  const gw = await ctx.gateway()
  const wsUrl = gw.url.replace(/^http/, 'ws') + '/v1/responses'
  const gwLatency: number[][] = []
  const gwCpu: number[][] = []
  const direct: number[][] = []
  try {
    for (let c = 1; c <= chains; c++) {
      ctx.log(`wschain: chain ${c}/${chains} of ${TURNS} turns, direct then through the gateway`)
      direct.push(await directChain(ctx.upstream))
      const g = await gatewayChain(wsUrl, gw.cpuNs)
      gwLatency.push(g.latency)
      gwCpu.push(g.cpu.map((ns) => ns / 1e6))
    }
  } finally {
    await gw.stop()
  }
  const row = (label: string, xs: number[][]) => {
    const early = windowOf(xs, EARLY)
    const late = windowOf(xs, LATE)
    return { early, late, ratio: late / early, cells: [label, fmt(early, 2), fmt(late, 2), `${(late / early).toFixed(2)}×`] }
  }
  const d = row('direct: upstream latency per turn (history inline, SSE)', direct)
  const l = row('gateway: latency per turn (WebSocket)', gwLatency)
  const c = row('gateway: CPU ms per turn', gwCpu)
  const added = row(
    'added latency per turn (gateway − direct)',
    gwLatency.map((xs, i) => xs.map((x, t) => x - direct[i][t])),
  )
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
          'Gateway CPU per turn: all its threads (/proc/<pid>/task/*/schedstat), from the send of a turn to the send of the next.',
      },
    ],
  }
}
