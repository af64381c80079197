// Writes test/fixtures/cassettes/{responses,chat}/*.json: the scenarios below, each as the request the
// gateway sends and the upstream's streamed answer in vLLM's exact wire formats —
//   /v1/responses: vllm/entrypoints/openai/responses/streaming_events.py (simple path for Qwen3-style
//     reasoning/tool parsers: bare uuid item ids, `call_` call ids, `response.reasoning_part.*`, a stray
//     `summary` on message items; Harmony path for gpt-oss: `msg_`/`fc_` ids, and a function call's
//     output_item.done item carrying `item_id`/`output_index`/`sequence_number` instead of `id`), and
//     serving.py (the terminal event is always `response.completed`, status "incomplete" on max_tokens;
//     the final object lists the output again under fresh ids);
//   /v1/chat/completions: chat_completion/serving.py (`exclude_unset` chunks, `delta.reasoning`,
//     `chatcmpl-tool-` call ids, the last token riding with finish_reason, a usage chunk, `[DONE]`).
// Hand-built from that source, not captured from a live server: re-record against a real vLLM when one
// is at hand. Run `bun test/support/cassette-build.ts` after changing a scenario.
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { toInputItems } from '../../src/engine/input'
import { toUpstreamRequest } from '../../src/engine/turn'
import { sequentialIds } from '../../src/ids'
import { toChatRequest } from '../../src/upstream/chat'
import { CASSETTE_DIR, type Cassette, type CassetteExchange, type CassetteName, type Wire } from './cassette'

interface ModelTurn {
  style: 'simple' | 'harmony'
  reasoning?: string[]
  text?: string[]
  calls?: { name: string; args: string[] }[]
  finish: 'stop' | 'tool_calls' | 'length'
  usage: { prompt: number; completion: number; reasoning?: number; cached?: number }
}

interface Scenario {
  name: CassetteName
  model: string
  description: string
  /** per turn: what the client sent (built per wire: later turns echo that wire's call ids) and what the model did */
  turns: ((callIds: string[]) => { client: Record<string, any>; model: ModelTurn })[]
}

const CODEX = JSON.parse(readFileSync(join(import.meta.dir, '..', 'fixtures', 'codex', 'req-sse-patch-turn1.json'), 'utf8'))
const QWEN = 'Qwen/Qwen3-8B'
const GPT_OSS = 'openai/gpt-oss-20b'
const WEATHER_TOOL = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather for a city.',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
}
const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+hello from patch\n*** End Patch\n'
const PATCH_ARGS = JSON.stringify({ input: PATCH })

/** Splits at the given offsets (one of them inside a `\n` escape, to exercise decoding across chunks). */
function splitAt(s: string, at: number[]): string[] {
  const out: string[] = []
  let prev = 0
  for (const i of at) {
    out.push(s.slice(prev, i))
    prev = i
  }
  out.push(s.slice(prev))
  return out
}

const codexReasoning = ['The user wants a new file', ' hello.txt; ', 'I will add it with apply_patch.']
const codexTurn1Input = CODEX.input

const SCENARIOS: Scenario[] = [
  {
    name: 'plain-text',
    model: QWEN,
    description: 'A plain answer, no reasoning, no tools.',
    turns: [
      () => ({
        client: { model: QWEN, input: 'Say hello in five words.' },
        model: {
          style: 'simple',
          text: ['Hello', ' there', ',', ' nice', ' to', ' meet', ' you', '!'],
          finish: 'stop',
          usage: { prompt: 15, completion: 9 },
        },
      }),
    ],
  },
  {
    name: 'reasoning',
    model: QWEN,
    description: 'Qwen3-style reasoning (reasoning parser qwen3) before the answer.',
    turns: [
      () => ({
        client: { model: QWEN, input: 'What is 17 * 3?', reasoning: { effort: 'medium' } },
        model: {
          style: 'simple',
          reasoning: ['The user', ' asks for', ' 17 times 3', '. 17 * 3', ' = 51', '.'],
          text: ['17', ' ×', ' 3', ' =', ' 51', '.'],
          finish: 'stop',
          usage: { prompt: 18, completion: 24, reasoning: 14 },
        },
      }),
    ],
  },
  {
    name: 'function-call',
    model: GPT_OSS,
    description: 'gpt-oss (Harmony): reasoning, then one function call.',
    turns: [
      () => ({
        client: { model: GPT_OSS, input: 'What is the weather in Paris?', tools: [WEATHER_TOOL] },
        model: {
          style: 'harmony',
          reasoning: ['User wants', ' the weather', ' in Paris.', ' Call get_weather.'],
          calls: [{ name: 'get_weather', args: ['{"', 'city', '":"', 'Paris', '"}'] }],
          finish: 'tool_calls',
          usage: { prompt: 92, completion: 31, reasoning: 12 },
        },
      }),
    ],
  },
  {
    name: 'parallel-function-calls',
    model: QWEN,
    description: 'Two function calls in one turn (hermes tool parser).',
    turns: [
      () => ({
        client: { model: QWEN, input: 'Weather in Paris and in Tokyo?', tools: [WEATHER_TOOL], parallel_tool_calls: true },
        model: {
          style: 'simple',
          calls: [
            { name: 'get_weather', args: ['{"city": ', '"Paris"', '}'] },
            { name: 'get_weather', args: ['{"city": ', '"Tokyo"', '}'] },
          ],
          finish: 'tool_calls',
          usage: { prompt: 160, completion: 38 },
        },
      }),
    ],
  },
  {
    name: 'codex-session',
    model: QWEN,
    description: 'Codex over HTTP (full history resent each turn): apply_patch (custom tool) → exec_command → answer.',
    turns: [
      () => ({
        client: { ...CODEX, model: QWEN },
        model: {
          style: 'simple',
          reasoning: codexReasoning,
          calls: [{ name: 'apply_patch', args: splitAt(PATCH_ARGS, [10, 30, 50, PATCH_ARGS.indexOf('\\n+') + 1, 80]) }],
          finish: 'tool_calls',
          usage: { prompt: 4310, completion: 61, reasoning: 17 },
        },
      }),
      ([patchCall]) => ({
        client: {
          ...CODEX,
          model: QWEN,
          input: [
            ...codexTurn1Input,
            {
              type: 'reasoning',
              id: 'rs_1',
              summary: [],
              content: [{ type: 'reasoning_text', text: codexReasoning.join('') }],
              encrypted_content: null,
            },
            { type: 'custom_tool_call', id: 'ctc_1', status: 'completed', call_id: patchCall, name: 'apply_patch', input: PATCH },
            {
              type: 'custom_tool_call_output',
              id: 'ctco_1',
              call_id: patchCall,
              output: 'Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n',
            },
          ],
        },
        model: {
          style: 'simple',
          calls: [{ name: 'exec_command', args: ['{"cmd": "cat', ' hello.txt"', ', "yield_time_ms": 1000}'] }],
          finish: 'tool_calls',
          usage: { prompt: 4420, completion: 29, cached: 4288 },
        },
      }),
      ([patchCall, execCall]) => ({
        client: {
          ...CODEX,
          model: QWEN,
          input: [
            ...codexTurn1Input,
            {
              type: 'reasoning',
              id: 'rs_1',
              summary: [],
              content: [{ type: 'reasoning_text', text: codexReasoning.join('') }],
              encrypted_content: null,
            },
            { type: 'custom_tool_call', id: 'ctc_1', status: 'completed', call_id: patchCall, name: 'apply_patch', input: PATCH },
            {
              type: 'custom_tool_call_output',
              id: 'ctco_1',
              call_id: patchCall,
              output: 'Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nA hello.txt\n',
            },
            {
              type: 'function_call',
              id: 'fc_2',
              status: 'completed',
              name: 'exec_command',
              arguments: '{"cmd": "cat hello.txt", "yield_time_ms": 1000}',
              call_id: execCall,
            },
            {
              type: 'function_call_output',
              id: 'fco_2',
              call_id: execCall,
              output: 'Process exited with code 0\nOutput:\nhello from patch\n',
            },
          ],
        },
        model: {
          style: 'simple',
          text: ['I added', ' `hello.txt`', '; it contains', ' "hello from patch"', '.'],
          finish: 'stop',
          usage: { prompt: 4480, completion: 14, cached: 4416 },
        },
      }),
    ],
  },
  {
    name: 'length',
    model: QWEN,
    description: 'An answer cut off by max_output_tokens (finish_reason length).',
    turns: [
      () => ({
        client: { model: QWEN, input: 'Write a long story about a lighthouse keeper.', max_output_tokens: 16 },
        model: {
          style: 'simple',
          text: [
            'The',
            ' lighthouse',
            ' stood',
            ' at',
            ' the',
            ' edge',
            ' of',
            ' the',
            ' world',
            ',',
            ' and',
            ' its',
            ' keeper',
            ',',
            ' Elias',
            ',',
          ],
          finish: 'length',
          usage: { prompt: 17, completion: 16 },
        },
      }),
    ],
  },
]

/** Stable fake uuids (hex), so rebuilding gives the same files. */
function uuids(seed: string) {
  let n = 0
  return () => createHash('md5').update(`${seed}:${n++}`).digest('hex')
}

/** Pydantic dumps the OpenAI event/item models field by field; their fields are in alphabetical order. */
function sorted<T>(v: T): T {
  if (Array.isArray(v)) return v.map(sorted) as T
  if (!v || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sorted((v as any)[k])]),
  ) as T
}

type Frame = { event?: string; data: unknown }

function responsesFrames(s: Scenario, turnNo: number, req: Record<string, any>, m: ModelTurn): { frames: Frame[]; callIds: string[] } {
  const uuid = uuids(`${s.name}/${turnNo}/responses`)
  const created = 1_764_108_000 + turnNo * 60
  const respId = `resp_${uuid()}`
  const frames: Frame[] = []
  let seq = 0
  const push = (ev: Record<string, unknown>) => {
    const data = sorted({ ...ev, sequence_number: seq++ })
    frames.push({ event: String(ev.type), data })
  }
  const harmony = m.style === 'harmony'
  const response = (status: string, output: unknown[], usage: unknown) => ({
    id: respId,
    created_at: created,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: req.instructions ?? null,
    metadata: req.metadata ?? null,
    model: s.model,
    object: 'response',
    output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    temperature: req.temperature ?? 0.6,
    tool_choice: req.tool_choice ?? 'auto',
    tools: req.tools ?? [],
    top_p: req.top_p ?? 0.95,
    background: false,
    max_output_tokens: req.max_output_tokens ?? 32768 - m.usage.prompt,
    max_tool_calls: null,
    previous_response_id: null,
    prompt: null,
    reasoning: req.reasoning ?? null,
    service_tier: 'auto',
    status,
    text: req.text ?? null,
    top_logprobs: null,
    truncation: 'disabled',
    usage,
    user: null,
    input_messages: null,
    output_messages: null,
  })
  push({ type: 'response.created', response: response('in_progress', [], null) })
  push({ type: 'response.in_progress', response: response('in_progress', [], null) })
  let index = 0
  const callIds: string[] = []
  if (m.reasoning) {
    const id = harmony ? `msg_${uuid()}` : uuid()
    const text = m.reasoning.join('')
    const where = { item_id: id, output_index: index, content_index: 0 }
    push({
      type: 'response.output_item.added',
      output_index: index,
      item: { id, summary: [], type: 'reasoning', content: null, encrypted_content: null, status: 'in_progress' },
    })
    push({ type: 'response.reasoning_part.added', ...where, part: { text: '', type: 'reasoning_text' } })
    for (const d of m.reasoning) push({ type: 'response.reasoning_text.delta', ...where, delta: d })
    push({ type: 'response.reasoning_text.done', ...where, text })
    push({ type: 'response.reasoning_part.done', ...where, part: { text, type: 'reasoning_text' } })
    push({
      type: 'response.output_item.done',
      output_index: index,
      item: {
        id,
        summary: [],
        type: 'reasoning',
        content: [{ text, type: 'reasoning_text' }],
        encrypted_content: null,
        status: 'completed',
      },
    })
    index++
  }
  if (m.text) {
    const id = harmony ? `msg_${uuid()}` : uuid()
    const text = m.text.join('')
    const where = { item_id: id, output_index: index, content_index: 0 }
    push({
      type: 'response.output_item.added',
      output_index: index,
      item: { id, content: [], role: 'assistant', status: 'in_progress', type: 'message' },
    })
    push({ type: 'response.content_part.added', ...where, part: { annotations: [], text: '', type: 'output_text', logprobs: [] } })
    for (const d of m.text) push({ type: 'response.output_text.delta', ...where, delta: d, logprobs: [] })
    push({ type: 'response.output_text.done', ...where, text, logprobs: [] })
    const part = { annotations: [], text, type: 'output_text', logprobs: null }
    push({ type: 'response.content_part.done', ...where, part })
    push({
      type: 'response.output_item.done',
      output_index: index,
      item: { id, content: [part], role: 'assistant', status: 'completed', type: 'message', ...(harmony ? {} : { summary: [] }) },
    })
    index++
  }
  for (const call of m.calls ?? []) {
    const id = harmony ? `fc_${uuid()}` : uuid()
    const callId = `call_${uuid()}`
    callIds.push(callId)
    const args = call.args.join('')
    push({
      type: 'response.output_item.added',
      output_index: index,
      item: { arguments: '', call_id: callId, name: call.name, type: 'function_call', id, status: 'in_progress' },
    })
    for (const d of call.args) push({ type: 'response.function_call_arguments.delta', item_id: id, output_index: index, delta: d })
    push({ type: 'response.function_call_arguments.done', item_id: id, output_index: index, arguments: args, name: call.name })
    const item = harmony
      ? {
          arguments: args,
          call_id: callId,
          name: call.name,
          type: 'function_call',
          id: null,
          status: 'completed',
          item_id: id,
          output_index: index,
          sequence_number: -1,
        }
      : { arguments: args, call_id: callId, name: call.name, type: 'function_call', id, status: 'completed' }
    push({ type: 'response.output_item.done', output_index: index, item })
    index++
  }
  // The final object is built again from the whole output, under fresh ids.
  const output: unknown[] = []
  if (m.reasoning)
    output.push(
      sorted({
        id: `rs_${uuid()}`,
        summary: [],
        type: 'reasoning',
        content: [{ text: m.reasoning.join(''), type: 'reasoning_text' }],
        encrypted_content: null,
        status: 'completed',
      }),
    )
  if (m.text)
    output.push(
      sorted({
        id: `msg_${uuid()}`,
        content: [{ annotations: [], text: m.text.join(''), type: 'output_text', logprobs: null }],
        role: 'assistant',
        status: 'completed',
        type: 'message',
      }),
    )
  for (const call of m.calls ?? [])
    output.push(
      sorted({
        arguments: call.args.join(''),
        call_id: `call_${uuid()}`,
        name: call.name,
        type: 'function_call',
        id: `fc_${uuid()}`,
        status: 'completed',
      }),
    )
  const usage = {
    input_tokens: m.usage.prompt,
    input_tokens_details: { cached_tokens: m.usage.cached ?? 0, input_tokens_per_turn: [], cached_tokens_per_turn: [] },
    output_tokens: m.usage.completion,
    output_tokens_details: {
      reasoning_tokens: m.usage.reasoning ?? 0,
      tool_output_tokens: 0,
      output_tokens_per_turn: [],
      tool_output_tokens_per_turn: [],
    },
    total_tokens: m.usage.prompt + m.usage.completion,
  }
  push({ type: 'response.completed', response: response(m.finish === 'length' ? 'incomplete' : 'completed', output, usage) })
  return { frames, callIds }
}

function chatFrames(s: Scenario, turnNo: number, m: ModelTurn): { frames: Frame[]; callIds: string[] } {
  const uuid = uuids(`${s.name}/${turnNo}/chat`)
  const id = `chatcmpl-${uuid()}`
  const created = 1_764_108_000 + turnNo * 60
  const chunk = (choice: Record<string, unknown>) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: s.model,
    choices: [{ index: 0, ...choice }],
  })
  const deltas: Record<string, unknown>[] = [{ role: 'assistant', content: '' }]
  for (const d of m.reasoning ?? []) deltas.push({ reasoning: d })
  for (const d of m.text ?? []) deltas.push({ content: d })
  const callIds: string[] = []
  ;(m.calls ?? []).forEach((call, i) => {
    const callId = `chatcmpl-tool-${uuid()}`
    callIds.push(callId)
    deltas.push({ tool_calls: [{ id: callId, type: 'function', index: i, function: { name: call.name } }] })
    for (const a of call.args) deltas.push({ tool_calls: [{ index: i, function: { arguments: a } }] })
  })
  const frames: Frame[] = deltas.map((delta, i) => {
    const last = i === deltas.length - 1
    // The last token's delta comes with the finish reason.
    return {
      data: chunk(
        last ? { delta, logprobs: null, finish_reason: m.finish, stop_reason: null } : { delta, logprobs: null, finish_reason: null },
      ),
    }
  })
  const usage: Record<string, unknown> = {
    prompt_tokens: m.usage.prompt,
    total_tokens: m.usage.prompt + m.usage.completion,
    completion_tokens: m.usage.completion,
  }
  if (m.usage.cached) usage.prompt_tokens_details = { cached_tokens: m.usage.cached }
  frames.push({ data: { id, object: 'chat.completion.chunk', created, model: s.model, choices: [], usage } })
  frames.push({ data: '[DONE]' })
  return { frames, callIds }
}

function build(s: Scenario, wire: Wire): Cassette {
  const exchanges: CassetteExchange[] = []
  let callIds: string[] = []
  s.turns.forEach((turn, i) => {
    const { client, model } = turn(callIds)
    const upstream = toUpstreamRequest(client as any, [], toInputItems(client.input, sequentialIds()))
    if (wire === 'responses') {
      const body = { ...upstream, stream: true }
      const { frames, callIds: ids } = responsesFrames(s, i, body, model)
      exchanges.push({
        client,
        request: { method: 'POST', path: '/v1/responses', body },
        response: { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, sse: frames },
      })
      callIds = [...callIds, ...ids]
    } else {
      const body = toChatRequest(upstream)
      const { frames, callIds: ids } = chatFrames(s, i, model)
      exchanges.push({
        client,
        request: { method: 'POST', path: '/v1/chat/completions', body },
        response: { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, sse: frames },
      })
      callIds = [...callIds, ...ids]
    }
  })
  const source =
    wire === 'responses'
      ? `vLLM /v1/responses stream (${s.model}), ${s.turns.length} exchange(s); shapes from vllm-project/vllm vllm/entrypoints/openai/responses/{streaming_events,serving,protocol}.py. Built by test/support/cassette-build.ts, not captured live.`
      : `vLLM /v1/chat/completions stream (${s.model}), ${s.turns.length} exchange(s); shapes from vllm-project/vllm vllm/entrypoints/openai/chat_completion/{serving,protocol}.py. Built by test/support/cassette-build.ts, not captured live.`
  return { name: s.name, wire, description: s.description, source, exchanges }
}

/** Readable but compact: structure indented down to a request/response's fields, one SSE frame per line. */
function layout(v: unknown, depth = 0, key = ''): string {
  const pad = '  '.repeat(depth + 1)
  const end = '  '.repeat(depth)
  if (Array.isArray(v) && (key === 'sse' || key === 'exchanges'))
    return `[\n${v.map((x) => pad + (key === 'sse' ? JSON.stringify(x) : layout(x, depth + 1))).join(',\n')}\n${end}]`
  if (v && typeof v === 'object' && !Array.isArray(v) && depth < 4)
    return `{\n${Object.entries(v)
      .map(([k, x]) => `${pad}${JSON.stringify(k)}: ${layout(x, depth + 1, k)}`)
      .join(',\n')}\n${end}}`
  return JSON.stringify(v)
}

if (import.meta.main) {
  for (const wire of ['responses', 'chat'] as const) {
    mkdirSync(join(CASSETTE_DIR, wire), { recursive: true })
    for (const s of SCENARIOS) writeFileSync(join(CASSETTE_DIR, wire, `${s.name}.json`), layout(build(s, wire)) + '\n')
  }
  console.log(`wrote ${SCENARIOS.length * 2} cassettes under ${CASSETTE_DIR}`)
}
