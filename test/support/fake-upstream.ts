// The one fake in the test suite: a scriptable server that speaks vLLM's OpenAI-compatible wire format
// (/v1/models with max_model_len, /v1/responses as SSE or JSON, /v1/chat/completions), with faults.
// Tests queue replies; each POST takes the next one (or the default), and every request is recorded.

export type Fault =
  | { fault: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | { fault: 'drop'; afterEvents: number } // SSE: close the connection after N events, no terminal event
  | { fault: 'slow'; delayMs: number } // wait before answering headers
  | { fault: 'hold'; until: Promise<unknown> } // wait before answering headers until `until` settles (the test lets go)
  | { fault: 'stall'; afterEvents: number; stallMs: number } // SSE: go silent mid-stream
  | { fault: 'malformed'; afterEvents: number; oneWrite?: boolean } // SSE: a broken data line
  // exact bytes; chunked: sent as a stream, without a declared length
  | { fault: 'raw'; contentType: string; body: string | Uint8Array; status?: number; headers?: Record<string, string>; chunked?: boolean }

/** One model turn in vLLM's terms. */
export interface TurnScript {
  text?: string
  reasoning?: string
  functionCalls?: { name: string; arguments: string; call_id?: string }[]
  /** split text deltas into this many pieces (default: by word) */
  chunks?: number
  status?: 'completed' | 'incomplete'
  usage?: { input_tokens: number; output_tokens: number; reasoning_tokens?: number; cached_tokens?: number }
  /** pause between events (ms) */
  delayMs?: number
  /** SSE: the whole stream in one write, as a fast server that fell behind sends it (the gateway reads many events per chunk) */
  oneWrite?: boolean
}

/**
 * A recorded upstream answer replayed as it was (test/fixtures/cassettes, test/support/cassette.ts):
 * SSE frames written `event:` (when recorded) + one `data:` line each, or a JSON body.
 */
export interface CassetteReply {
  cassette: {
    status: number
    headers?: Record<string, string>
    sse?: { event?: string; data: unknown }[]
    /**
     * the SSE body as these exact pieces, each written on its own (after delayMs, when set): chunk boundaries anywhere.
     * A function is awaited in its place, writing nothing: a test holds the rest back until the client has seen what
     * came before (a pause alone does not keep two pieces out of one read on a loaded machine).
     */
    raw?: (string | Uint8Array | (() => Promise<unknown>))[]
    json?: unknown
    delayMs?: number
  }
}

export type Reply = TurnScript | Fault | CassetteReply | ((req: RecordedRequest) => TurnScript | Fault | CassetteReply)

export interface RecordedRequest {
  method: string
  path: string
  search: string
  headers: Record<string, string>
  body: any
  /** the body as it came, byte for byte (decoded as UTF-8) */
  text: string
}

export interface FakeUpstreamOptions {
  models?: { id: string; max_model_len?: number; [k: string]: unknown }[]
  /**
   * vLLM's POST /tokenize (at the server root): the count for a request body, or null for a server without the
   * route (404). Default: fakeTokenCount.
   */
  tokenize?: ((body: any) => number) | null
  /** reply used when the queue is empty */
  defaultReply?: Reply
}

export interface FakeUpstream {
  /** base URL including /v1, as the gateway's --upstream */
  url: string
  port: number
  requests: RecordedRequest[]
  /** requests to one path, e.g. "/v1/responses" */
  requestsTo(path: string): RecordedRequest[]
  queue(...replies: Reply[]): void
  /** when set, GET /v1/models answers with this fault ('slow' delays the normal list) */
  modelsFault: Fault | null
  stop(): Promise<void>
}

let vllmCounter = 0
const vllmId = (p: string) => `${p}_vllm${(++vllmCounter).toString(16).padStart(8, '0')}`

export function startFakeUpstream(opts: FakeUpstreamOptions = {}): FakeUpstream {
  const models = opts.models ?? [{ id: 'test-model', max_model_len: 32768 }]
  const replies: Reply[] = []
  const requests: RecordedRequest[] = []
  const state: { modelsFault: Fault | null } = { modelsFault: null }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const text = req.method === 'POST' ? await req.text() : ''
      let body: any = null
      try {
        body = text ? JSON.parse(text) : null
      } catch {
        body = text
      }
      const rec: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        search: url.search,
        headers: Object.fromEntries(req.headers),
        body,
        text,
      }
      requests.push(rec)

      if (url.pathname === '/v1/models' && req.method === 'GET') {
        if (state.modelsFault?.fault === 'slow') await Bun.sleep(state.modelsFault.delayMs)
        else if (state.modelsFault) return faultResponse(state.modelsFault)
        return Response.json({
          object: 'list',
          data: models.map((m) => ({
            object: 'model',
            created: 1_700_000_000,
            owned_by: 'vllm',
            root: m.id,
            parent: null,
            permission: [],
            ...m,
          })),
        })
      }
      if (req.method !== 'POST')
        return Response.json({ error: { message: 'not found', type: 'NotFoundError', code: 404 } }, { status: 404 })
      if (url.pathname === '/tokenize') {
        const count = opts.tokenize === undefined ? fakeTokenCount : opts.tokenize
        if (!count) return Response.json({ detail: 'Not Found' }, { status: 404 })
        const max = models.find((m) => m.id === body?.model)?.max_model_len ?? models[0]?.max_model_len ?? 32768
        return Response.json({ count: count(body), max_model_len: max, tokens: [] })
      }

      let reply = replies.shift() ?? opts.defaultReply ?? { text: 'Hello from the fake upstream.' }
      if (typeof reply === 'function') reply = reply(rec)
      if ('cassette' in reply) return cassetteResponse(reply.cassette)
      if ('fault' in reply && (reply.fault === 'status' || reply.fault === 'raw')) return faultResponse(reply)
      if ('fault' in reply && reply.fault === 'slow') {
        await Bun.sleep(reply.delayMs)
        reply = { text: 'slow answer' }
      }
      if ('fault' in reply && reply.fault === 'hold') {
        await reply.until.catch(() => {})
        reply = { text: 'held answer' }
      }
      const script = reply as TurnScript | Extract<Fault, { afterEvents: number }>
      if (url.pathname === '/v1/responses') return responsesReply(body, script)
      if (url.pathname === '/v1/chat/completions') return chatReply(body, script)
      if (url.pathname === '/v1/completions')
        return Response.json({
          id: vllmId('cmpl'),
          object: 'text_completion',
          model: body?.model,
          choices: [{ index: 0, text: ' there was a gateway.', finish_reason: 'stop' }],
        })
      if (url.pathname === '/v1/embeddings')
        return Response.json({ object: 'list', model: body?.model, data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2, 0.3] }] })
      return Response.json({ error: { message: 'not found', type: 'NotFoundError', code: 404 } }, { status: 404 })
    },
  })

  return {
    url: `http://127.0.0.1:${server.port}/v1`,
    port: server.port!,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    queue: (...r) => replies.push(...r),
    get modelsFault() {
      return state.modelsFault
    },
    set modelsFault(f) {
      state.modelsFault = f
    },
    stop: async () => {
      await server.stop(true)
    },
  }
}

/**
 * The fake tokenizer: every whitespace-separated word of the messages' texts, reasoning and tool calls is one
 * token, each message adds 3 (its template framing), each tool 10. Deterministic, so tests can predict it.
 */
export function fakeTokenCount(body: { messages?: any[]; tools?: any[] }): number {
  const words = (s: unknown) => (typeof s === 'string' ? s.split(/\s+/).filter(Boolean).length : 0)
  let n = 0
  for (const m of body.messages ?? []) {
    n += 3 + words(m.reasoning_content)
    n +=
      typeof m.content === 'string'
        ? words(m.content)
        : Array.isArray(m.content)
          ? m.content.reduce((a: number, p: any) => a + words(p?.text), 0)
          : 0
    for (const c of m.tool_calls ?? []) n += words(c.function?.name) + words(c.function?.arguments)
  }
  return n + 10 * (body.tools?.length ?? 0)
}

function faultResponse(f: Fault): Response {
  if (f.fault === 'status')
    return Response.json(f.body ?? { error: { message: 'Internal Server Error', type: 'InternalServerError', code: f.status } }, {
      status: f.status,
      headers: f.headers,
    })
  if (f.fault === 'raw')
    return new Response(f.chunked ? chunked(f.body) : f.body, {
      status: f.status ?? 200,
      headers: { ...f.headers, 'content-type': f.contentType },
    })
  return new Response('unexpected fault', { status: 500 })
}

/** Bytes sent in two pieces a moment apart, so the answer goes out chunked, with no content-length. */
function chunked(body: string | Uint8Array): ReadableStream<Uint8Array> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body
  const half = Math.floor(bytes.length / 2)
  return new ReadableStream({
    async start(ctl) {
      ctl.enqueue(bytes.subarray(0, half))
      await Bun.sleep(5)
      ctl.enqueue(bytes.subarray(half))
      ctl.close()
    },
  })
}

function splitText(text: string, chunks?: number): string[] {
  if (!text) return []
  if (chunks && chunks > 0) {
    const size = Math.ceil(text.length / chunks)
    const out: string[] = []
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
    return out
  }
  return text.match(/\S+\s*|\s+/g) ?? [text]
}

/** The events vLLM's /v1/responses streams for a turn (vLLM owns these ids; the gateway replaces them). */
export function vllmResponseEvents(req: any, s: TurnScript): any[] {
  const respId = vllmId('resp')
  const created = Math.floor(Date.now() / 1000)
  const base = {
    id: respId,
    object: 'response',
    created_at: created,
    model: req?.model ?? 'test-model',
    status: 'in_progress',
    output: [],
    instructions: req?.instructions ?? null,
    tools: req?.tools ?? [],
    tool_choice: req?.tool_choice ?? 'auto',
    parallel_tool_calls: true,
    temperature: req?.temperature ?? 1,
    top_p: req?.top_p ?? 1,
    max_output_tokens: req?.max_output_tokens ?? null,
    usage: null,
    error: null,
    incomplete_details: null,
    metadata: {},
    background: false,
    store: false,
    text: { format: { type: 'text' } },
  }
  const ev: any[] = []
  const push = (e: any) => ev.push({ ...e, sequence_number: ev.length })
  push({ type: 'response.created', response: base })
  push({ type: 'response.in_progress', response: base })
  const output: any[] = []
  if (s.reasoning) {
    const id = vllmId('rs')
    const idx = output.length
    push({
      type: 'response.output_item.added',
      output_index: idx,
      item: { id, type: 'reasoning', summary: [], content: [], status: 'in_progress' },
    })
    push({
      type: 'response.reasoning_part.added',
      item_id: id,
      output_index: idx,
      content_index: 0,
      part: { type: 'reasoning_text', text: '' },
    })
    for (const d of splitText(s.reasoning))
      push({ type: 'response.reasoning_text.delta', item_id: id, output_index: idx, content_index: 0, delta: d })
    push({ type: 'response.reasoning_text.done', item_id: id, output_index: idx, content_index: 0, text: s.reasoning })
    push({
      type: 'response.reasoning_part.done',
      item_id: id,
      output_index: idx,
      content_index: 0,
      part: { type: 'reasoning_text', text: s.reasoning },
    })
    const item = {
      id,
      type: 'reasoning',
      summary: [],
      content: [{ type: 'reasoning_text', text: s.reasoning }],
      encrypted_content: null,
      status: 'completed',
    }
    push({ type: 'response.output_item.done', output_index: idx, item })
    output.push(item)
  }
  if (s.text !== undefined) {
    const id = vllmId('msg')
    const idx = output.length
    push({
      type: 'response.output_item.added',
      output_index: idx,
      item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
    })
    push({
      type: 'response.content_part.added',
      item_id: id,
      output_index: idx,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
    })
    for (const d of splitText(s.text, s.chunks))
      push({ type: 'response.output_text.delta', item_id: id, output_index: idx, content_index: 0, delta: d, logprobs: [] })
    push({ type: 'response.output_text.done', item_id: id, output_index: idx, content_index: 0, text: s.text, logprobs: [] })
    const part = { type: 'output_text', text: s.text, annotations: [], logprobs: [] }
    push({ type: 'response.content_part.done', item_id: id, output_index: idx, content_index: 0, part })
    const item = { id, type: 'message', role: 'assistant', status: s.status === 'incomplete' ? 'incomplete' : 'completed', content: [part] }
    push({ type: 'response.output_item.done', output_index: idx, item })
    output.push(item)
  }
  for (const fc of s.functionCalls ?? []) {
    const id = vllmId('fc')
    const idx = output.length
    const call_id = fc.call_id ?? vllmId('call')
    push({
      type: 'response.output_item.added',
      output_index: idx,
      item: { id, type: 'function_call', call_id, name: fc.name, arguments: '', status: 'in_progress' },
    })
    for (const d of splitText(fc.arguments, 3))
      push({ type: 'response.function_call_arguments.delta', item_id: id, output_index: idx, delta: d })
    push({ type: 'response.function_call_arguments.done', item_id: id, output_index: idx, arguments: fc.arguments, name: fc.name })
    const item = { id, type: 'function_call', call_id, name: fc.name, arguments: fc.arguments, status: 'completed' }
    push({ type: 'response.output_item.done', output_index: idx, item })
    output.push(item)
  }
  const u = s.usage ?? { input_tokens: 12, output_tokens: 7 }
  const usage = {
    input_tokens: u.input_tokens,
    input_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
    output_tokens: u.output_tokens,
    output_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
    total_tokens: u.input_tokens + u.output_tokens,
  }
  const final = {
    ...base,
    status: s.status ?? 'completed',
    output,
    usage,
    incomplete_details: s.status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
  }
  push({ type: s.status === 'incomplete' ? 'response.incomplete' : 'response.completed', response: final })
  return ev
}

function sseStream(events: any[], s: { delayMs?: number; oneWrite?: boolean }, fault?: Extract<Fault, { afterEvents: number }>): Response {
  const enc = new TextEncoder()
  const oneWrite = s.oneWrite || (fault?.fault === 'malformed' && fault.oneWrite)
  const stream = new ReadableStream({
    async start(real) {
      // oneWrite: every frame kept, then sent in one write when the stream closes
      const held: Uint8Array[] = []
      const ctl = oneWrite
        ? {
            enqueue: (b: Uint8Array) => held.push(b),
            error: (e: unknown) => real.error(e),
            close: () => {
              real.enqueue(Buffer.concat(held))
              real.close()
            },
          }
        : real
      try {
        for (let i = 0; i < events.length; i++) {
          if (fault && i === fault.afterEvents) {
            if (fault.fault === 'drop') {
              // Let the headers and the first events reach the gateway before the connection dies.
              await Bun.sleep(30)
              ctl.error(new Error('dropped by fake upstream'))
              return
            }
            if (fault.fault === 'stall') await Bun.sleep(fault.stallMs)
            if (fault.fault === 'malformed') {
              ctl.enqueue(enc.encode('event: response.output_text.delta\ndata: {"type": "response.output_text.delta", broken\n\n'))
              ctl.close()
              return
            }
          }
          const e = events[i]
          ctl.enqueue(enc.encode(`event: ${e.type ?? 'message'}\ndata: ${JSON.stringify(e)}\n\n`))
          if (s.delayMs) await Bun.sleep(s.delayMs)
        }
        ctl.close()
      } catch {
        // the gateway went away; nothing to do
      }
    },
  })
  return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } })
}

function responsesReply(req: any, script: TurnScript | Extract<Fault, { afterEvents: number }>): Response | Promise<Response> {
  const fault = 'fault' in script ? script : undefined
  const s: TurnScript = fault
    ? { text: 'This answer is long enough to be cut off in the middle of the stream by a fault.' }
    : (script as TurnScript)
  const events = vllmResponseEvents(req, s)
  if (!req?.stream && !fault) return wholeAnswer(events[events.length - 1].response, s, events.length)
  return sseStream(events, s, fault)
}

/**
 * A whole (stream:false) answer comes when the stream it stands for would have ended, as a model server answers once
 * the generation is done: after the pauses (delayMs) between its events.
 */
function wholeAnswer(body: unknown, s: TurnScript, events: number): Response | Promise<Response> {
  return s.delayMs ? Bun.sleep(s.delayMs * events).then(() => Response.json(body)) : Response.json(body)
}

function chatReply(req: any, script: TurnScript | Extract<Fault, { afterEvents: number }>): Response | Promise<Response> {
  const fault = 'fault' in script ? script : undefined
  const s: TurnScript = fault
    ? { text: 'This answer is long enough to be cut off in the middle of the stream by a fault.' }
    : (script as TurnScript)
  const id = vllmId('chatcmpl')
  const created = Math.floor(Date.now() / 1000)
  const model = req?.model ?? 'test-model'
  const u = s.usage ?? { input_tokens: 12, output_tokens: 7 }
  const usage = {
    prompt_tokens: u.input_tokens,
    completion_tokens: u.output_tokens,
    total_tokens: u.input_tokens + u.output_tokens,
    prompt_tokens_details: { cached_tokens: u.cached_tokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning_tokens ?? 0 },
  }
  const toolCalls = (s.functionCalls ?? []).map((fc, i) => ({
    index: i,
    id: fc.call_id ?? vllmId('call'),
    type: 'function',
    function: { name: fc.name, arguments: fc.arguments },
  }))
  const finish = s.status === 'incomplete' ? 'length' : toolCalls.length ? 'tool_calls' : 'stop'
  const chunk = (delta: any, finish_reason: string | null = null, extra: any = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason, logprobs: null }],
    ...extra,
  })
  const events: any[] = [chunk({ role: 'assistant', content: '' })]
  const frames: string[] = []
  for (const d of splitText(s.reasoning ?? '')) events.push(chunk({ reasoning_content: d }))
  for (const d of splitText(s.text ?? '', s.chunks)) events.push(chunk({ content: d }))
  for (const tc of toolCalls) {
    events.push(
      chunk({ tool_calls: [{ index: tc.index, id: tc.id, type: 'function', function: { name: tc.function.name, arguments: '' } }] }),
    )
    for (const d of splitText(tc.function.arguments, 3))
      events.push(chunk({ tool_calls: [{ index: tc.index, function: { arguments: d } }] }))
  }
  events.push(chunk({}, finish))
  if (req?.stream_options?.include_usage) events.push({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })
  if (!req?.stream && !fault) {
    return wholeAnswer(
      {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: s.text ?? null,
              reasoning_content: s.reasoning ?? null,
              tool_calls: toolCalls.length ? toolCalls.map(({ index: _, ...c }) => c) : undefined,
            },
            finish_reason: finish,
          },
        ],
        usage,
      },
      s,
      events.length,
    )
  }
  const enc = new TextEncoder()
  const stream = new ReadableStream({
    async start(ctl) {
      for (let i = 0; i < events.length; i++) {
        if (fault && i === fault.afterEvents && fault.fault === 'drop') {
          await Bun.sleep(30)
          ctl.error(new Error('dropped by fake upstream'))
          return
        }
        const frame = `data: ${JSON.stringify(events[i])}\n\n`
        if (s.oneWrite) frames.push(frame)
        else ctl.enqueue(enc.encode(frame))
        if (s.delayMs) await Bun.sleep(s.delayMs)
      }
      ctl.enqueue(enc.encode(`${frames.join('')}data: [DONE]\n\n`))
      ctl.close()
    },
  })
  return new Response(stream, { headers: { 'content-type': 'text/event-stream' } })
}

function cassetteResponse(c: CassetteReply['cassette']): Response {
  if (c.raw !== undefined) return rawResponse(c.raw, c)
  if (c.sse === undefined) return Response.json(c.json ?? null, { status: c.status, headers: c.headers })
  const enc = new TextEncoder()
  const frames = c.sse
  const stream = new ReadableStream({
    async start(ctl) {
      try {
        for (const f of frames) {
          const data = typeof f.data === 'string' ? f.data : JSON.stringify(f.data)
          ctl.enqueue(enc.encode(`${f.event ? `event: ${f.event}\n` : ''}data: ${data}\n\n`))
          if (c.delayMs) await Bun.sleep(c.delayMs)
        }
        ctl.close()
      } catch {
        // the gateway went away
      }
    },
  })
  return new Response(stream, { status: c.status, headers: { 'content-type': 'text/event-stream', ...c.headers } })
}

/** An SSE body written as the given pieces, one write each (a pause between them when delayMs is set). */
function rawResponse(pieces: NonNullable<CassetteReply['cassette']['raw']>, c: CassetteReply['cassette']): Response {
  const enc = new TextEncoder()
  const stream = new ReadableStream({
    async start(ctl) {
      try {
        for (let i = 0; i < pieces.length; i++) {
          if (i && c.delayMs) await Bun.sleep(c.delayMs)
          const p = pieces[i]!
          if (typeof p === 'function') await p()
          else ctl.enqueue(typeof p === 'string' ? enc.encode(p) : p)
        }
        ctl.close()
      } catch {
        // the gateway went away
      }
    },
  })
  return new Response(stream, { status: c.status, headers: { 'content-type': 'text/event-stream', ...c.headers } })
}
