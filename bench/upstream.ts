// The benchmark's fake vLLM: fixed, configurable timing and nothing else (no scripting, no recording, so
// its own cost stays small and the same whether the gateway or the load generator is calling it).
// Separate from test/support/fake-upstream.ts on purpose: tests need faults, benchmarks need a metronome.
//
//   bun run bench/upstream.ts [--port 0] [--latency-ms 0] [--deltas 16] [--tokens-per-s 0]
//   → prints "bench-upstream listening on http://127.0.0.1:PORT"
//
// Timing of one turn ("profile"): the first output token after `latencyMs`, then `deltas` tokens at
// `tokensPerS` (0 = all at once, no delay). SSE: headers and response.created at once, then the deltas
// on that schedule. JSON (/v1/responses without stream, /v1/chat/completions): the whole body when the
// last token would have been sent. A request picks its own profile with the header
// `x-bench-profile: l<latencyMs>-d<deltas>-r<tokensPerS>[-t1]` or a model named `bench-l…-d…-r…`
// (the model name is what reaches the upstream through the gateway's /v1/responses); any part may be left out.
// GET /bench/streams says how many timed SSE streams were open at once (the most since the last call).
// `t1` makes the answer one function call (`shell`, its arguments streamed as `deltas` pieces) instead of
// text: the turn of an agent such as Codex, whose next request carries the call's output.

export interface Profile {
  latencyMs: number
  deltas: number
  /** 0 = no delay between deltas */
  tokensPerS: number
  /** answer with a function call instead of text */
  toolCall?: boolean
}

export const profileName = (p: Profile) => `l${p.latencyMs}-d${p.deltas}-r${p.tokensPerS}${p.toolCall ? '-t1' : ''}`
/** The model name that makes the upstream use profile `p` (through the gateway or directly). */
export const profileModel = (p: Profile) => `bench-${profileName(p)}`

export function parseProfile(spec: string | null | undefined, defaults: Profile): Profile {
  const p = { ...defaults }
  if (!spec) return p
  for (const [, key, value] of spec.matchAll(/(?:^|-)([ldrt])(\d+(?:\.\d+)?)/g)) {
    if (key === 'l') p.latencyMs = Number(value)
    else if (key === 'd') p.deltas = Math.max(1, Math.round(Number(value)))
    else if (key === 't') p.toolCall = Number(value) > 0
    else p.tokensPerS = Number(value)
  }
  return p
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
const enc = new TextEncoder()
/** One word per token, the size of a typical BPE token in English text. */
const TOKEN = ' word'

let counter = 0
const nextId = (prefix: string) => `${prefix}_bench${(++counter).toString(16).padStart(8, '0')}`

/**
 * vLLM's /v1/responses event stream for one answer (text, or one function call when `toolCall`), split into
 * the part before the first token, the token events and the tail.
 */
export function responseEvents(model: string, deltas: number, toolCall = false) {
  const id = nextId('resp')
  const itemId = nextId(toolCall ? 'fc' : 'msg')
  const base = {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model,
    status: 'in_progress',
    output: [] as unknown[],
    instructions: null,
    tools: [],
    tool_choice: 'auto',
    parallel_tool_calls: true,
    temperature: 1,
    top_p: 1,
    max_output_tokens: null,
    usage: null as unknown,
    error: null,
    incomplete_details: null,
    metadata: {},
    background: false,
    store: false,
    text: { format: { type: 'text' } },
  }
  const text = TOKEN.repeat(deltas)
  let item: Record<string, unknown>
  let open: Record<string, unknown>[]
  let tokens: Record<string, unknown>[]
  let close: Record<string, unknown>[]
  if (toolCall) {
    // {"command":["echo"," word"," word",…]}: `deltas` pieces that concatenate to valid JSON arguments
    const pieces = ['{"command":["echo"', ...Array.from({ length: Math.max(0, deltas - 2) }, () => ',"word"'), ']}'].slice(
      0,
      Math.max(1, deltas),
    )
    if (deltas === 1) pieces[0] = '{"command":["echo"]}'
    const args = pieces.join('')
    const callId = nextId('call')
    item = { id: itemId, type: 'function_call', call_id: callId, name: 'shell', arguments: args, status: 'completed' }
    open = [{ type: 'response.output_item.added', output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } }]
    tokens = pieces.map((delta) => ({ type: 'response.function_call_arguments.delta', item_id: itemId, output_index: 0, delta }))
    close = [
      { type: 'response.function_call_arguments.done', item_id: itemId, output_index: 0, arguments: args, name: 'shell' },
      { type: 'response.output_item.done', output_index: 0, item },
    ]
  } else {
    const part = { type: 'output_text', text, annotations: [], logprobs: [] }
    item = { id: itemId, type: 'message', role: 'assistant', status: 'completed', content: [part] }
    open = [
      {
        type: 'response.output_item.added',
        output_index: 0,
        item: { id: itemId, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
      },
      {
        type: 'response.content_part.added',
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      },
    ]
    tokens = Array.from({ length: deltas }, () => ({
      type: 'response.output_text.delta',
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      delta: TOKEN,
      logprobs: [],
    }))
    close = [
      { type: 'response.output_text.done', item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] },
      { type: 'response.content_part.done', item_id: itemId, output_index: 0, content_index: 0, part },
      { type: 'response.output_item.done', output_index: 0, item },
    ]
  }
  const final = {
    ...base,
    status: 'completed',
    output: [item],
    usage: {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: deltas,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12 + deltas,
    },
  }
  let seq = 0
  const ev = (e: Record<string, unknown>) => ({ ...e, sequence_number: seq++ })
  const head = [ev({ type: 'response.created', response: base }), ev({ type: 'response.in_progress', response: base }), ...open.map(ev)]
  const body = tokens.map(ev)
  const tail = [...close.map(ev), ev({ type: 'response.completed', response: final })]
  return { head, body, tail, final }
}

const sse = (e: Record<string, unknown>) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`

/** ms from the start of a turn until token i (0-based) is sent. */
const tokenDue = (p: Profile, i: number) => p.latencyMs + (p.tokensPerS > 0 ? (i * 1000) / p.tokensPerS : 0)

/** Sleeps until `performance.now()` reaches `at` (no-op when already there). */
async function until(at: number) {
  const wait = at - performance.now()
  if (wait > 0.05) await Bun.sleep(wait)
}

/** Timed streams being sent right now, and the most at once since the last GET /bench/streams. */
let streaming = 0
let maxStreaming = 0

function streamResponse(model: string, p: Profile, signal: AbortSignal): Response {
  const { head, body, tail } = responseEvents(model, p.deltas, p.toolCall)
  // No timing at all: one buffer, the cheapest thing the upstream can do.
  if (p.latencyMs === 0 && p.tokensPerS === 0) return new Response([...head, ...body, ...tail].map(sse).join(''), { headers: SSE_HEADERS })
  const t0 = performance.now()
  const stream = new ReadableStream<Uint8Array>({
    async start(ctl) {
      maxStreaming = Math.max(maxStreaming, ++streaming)
      try {
        ctl.enqueue(enc.encode(head.map(sse).join('')))
        for (let i = 0; i < body.length; ) {
          await until(t0 + tokenDue(p, i))
          if (signal.aborted) return ctl.close()
          // Every token that is due by now goes out in one write, as a server that fell behind would do.
          let out = ''
          const now = performance.now() - t0
          do out += sse(body[i++])
          while (i < body.length && tokenDue(p, i) <= now)
          if (i === body.length) out += tail.map(sse).join('')
          ctl.enqueue(enc.encode(out))
        }
        ctl.close()
      } catch {
        // the client went away
      } finally {
        streaming--
      }
    },
  })
  return new Response(stream, { headers: SSE_HEADERS })
}

function chatCompletion(model: string, p: Profile) {
  const text = TOKEN.repeat(p.deltas)
  return {
    id: nextId('chatcmpl'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, reasoning_content: null, tool_calls: [] },
        logprobs: null,
        finish_reason: 'stop',
        stop_reason: null,
      },
    ],
    usage: { prompt_tokens: 12, completion_tokens: p.deltas, total_tokens: 12 + p.deltas, prompt_tokens_details: null },
    prompt_logprobs: null,
  }
}

const MODELS = (id: string) => ({
  object: 'list',
  data: [{ id, object: 'model', created: 1_700_000_000, owned_by: 'vllm', root: id, parent: null, max_model_len: 32768, permission: [] }],
})

export interface BenchUpstream {
  /** base URL including /v1 */
  url: string
  port: number
  stop(): Promise<void>
}

export function startBenchUpstream(opts: { port?: number; defaults: Profile }): BenchUpstream {
  const modelsBody = JSON.stringify(MODELS(profileModel(opts.defaults)))
  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname
      const header = req.headers.get('x-bench-profile')
      // For the benchmark: how many timed streams ran at once (through a gateway: how many it had open upstream).
      if (req.method === 'GET' && path === '/bench/streams') {
        const out = { now: streaming, max: maxStreaming }
        maxStreaming = streaming
        return Response.json(out)
      }
      if (req.method === 'GET' && path === '/v1/models') {
        const p = parseProfile(header, { ...opts.defaults, deltas: 1 })
        await until(performance.now() + p.latencyMs)
        return new Response(modelsBody, { headers: { 'content-type': 'application/json' } })
      }
      if (req.method !== 'POST')
        return Response.json({ error: { message: 'not found', type: 'NotFoundError', code: 404 } }, { status: 404 })
      const body = (await req.json().catch(() => null)) as { model?: string; stream?: boolean } | null
      const model = typeof body?.model === 'string' ? body.model : 'bench'
      const p = parseProfile(header ?? (model.startsWith('bench-') ? model.slice(6) : null), opts.defaults)
      const t0 = performance.now()
      if (path === '/v1/responses') {
        if (body?.stream) return streamResponse(model, p, req.signal)
        const { final } = responseEvents(model, p.deltas, p.toolCall)
        await until(t0 + tokenDue(p, p.deltas - 1))
        return Response.json(final)
      }
      if (path === '/v1/chat/completions') {
        if (body?.stream)
          return Response.json(
            { error: { message: 'the bench upstream answers chat completions as JSON only', type: 'BadRequestError', code: 400 } },
            { status: 400 },
          )
        await until(t0 + tokenDue(p, p.deltas - 1))
        return Response.json(chatCompletion(model, p))
      }
      return Response.json({ error: { message: 'not found', type: 'NotFoundError', code: 404 } }, { status: 404 })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/v1`, port: server.port!, stop: () => server.stop(true) }
}

if (import.meta.main) {
  const argv = process.argv.slice(2)
  const num = (flag: string, fallback: number) => {
    const i = argv.indexOf(flag)
    return i >= 0 ? Number(argv[i + 1]) : fallback
  }
  const up = startBenchUpstream({
    port: num('--port', 0),
    defaults: { latencyMs: num('--latency-ms', 0), deltas: num('--deltas', 16), tokensPerS: num('--tokens-per-s', 0) },
  })
  process.stdout.write(`bench-upstream listening on ${up.url.replace(/\/v1$/, '')}\n`)
  const stop = async () => {
    await up.stop()
    process.exit(0)
  }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}
