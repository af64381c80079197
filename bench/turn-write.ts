#!/usr/bin/env bun
// A stored JSON turn's one write (store.createResponse with its input and output, as turn-finish.ts storeWhole makes
// it), alone, through the real SQLite store (openSqliteStore on a fresh file: group commit, WAL, the checkpoint worker),
// `--group` turns ending in the same turn of the event loop (what the group commit gathers into one transaction; the
// bench's turns load at ~4,500 turns/s gathered about 10 a commit). Prints the serving thread's CPU per turn (schedstat)
// and the WAL frames (4 KiB pages) a commit appended, read from the wal-index header. SQLite writes each frame with two
// pwrite calls (its 24-byte header, then the page), and on the 2-core VM of 2026-12-01 a pair cost 5.5–9 µs against
// 2.3–3.3 µs for one write of both: the frames a commit appends are most of its cost. For trying schema or pragma
// changes of the store's write against its floor.
// --shape stream: a stored streamed turn's two writes instead, as a foreground SSE turn makes them — at its start the row
// (in_progress, a lease) with its input and `response.created` (turn-start.ts), at its end finishResponse with the
// final Response, its output and the rest of its log, the deltas one run row (store/event-runs.ts) — the group's start
// writes gathered into one commit and their end writes into another. --shape stream-at-end: the same turn stored in one
// write at its end (createResponse with everything, as a turn nobody can see while it runs is stored). --deltas
// defaults to 1,000 for these (the bench's streams load).
//
//   bun run bench/turn-write.ts [--group 1,10,64] [--turns 20000] [--rounds 3] [--deltas 16] [--shape json|stream|stream-at-end]
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeltaList, RUN_KEY } from '../src/store/event-runs'
import { openSqliteStore } from '../src/store/sqlite/repository'
import { timeOrderedId } from '../src/ids'
import { settledJson } from '../src/json-text'
import type { EventBody, ItemBody, ResponseRecord, Store } from '../src/store/types'
import { median, optionOf, threadSched } from './lib'

const opt = optionOf(process.argv.slice(2))
const groups = opt('--group', '1,10,64').split(',').map(Number)
const turns = Number(opt('--turns', '20000'))
const rounds = Number(opt('--rounds', '3'))
const shape = opt('--shape', 'json')
if (!['json', 'stream', 'stream-at-end'].includes(shape)) throw new Error(`--shape: json, stream or stream-at-end, not ${shape}`)
const streamed = shape !== 'json'
const deltas = Number(opt('--deltas', streamed ? '1000' : '16'))

/**
 * The write(s) of one turn of the bench as the gateway stores it: the Response of `--deltas` words, its input and output
 * message (and for a stream its log). Its JSON is made before the write, as the gateway makes it when it measures the
 * Response (src/json-text.ts settledJson).
 */
function turn(): (store: Store) => Promise<unknown> {
  const id = timeOrderedId('resp')
  const now = Date.now()
  const input = {
    id: timeOrderedId('msg'),
    type: 'message',
    role: 'user',
    content: [{ type: 'input_text', text: 'Say hello to the benchmark.' }],
  }
  const text = ' word'.repeat(deltas)
  const output = {
    id: timeOrderedId('msg'),
    type: 'message',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  }
  // the same array in the Response and as its output items, as the gateway hands them to the store
  const outputs = [output] as ItemBody[]
  // biome-ignore format: the Response's fields as the gateway answers them
  const response = { id, object: 'response', created_at: Math.floor(now / 1000), model: 'bench-l10-d16-r0', instructions: null, previous_response_id: null, conversation: null, tools: [], tool_choice: 'auto', parallel_tool_calls: true, temperature: 1, top_p: 1, presence_penalty: 0, frequency_penalty: 0, top_logprobs: 0, max_output_tokens: null, max_tool_calls: null, reasoning: null, text: { format: { type: 'text' } }, truncation: 'disabled', metadata: {}, store: true, background: false, service_tier: 'auto', safety_identifier: null, prompt_cache_key: null, status: 'completed', completed_at: Math.floor(now / 1000), output: outputs, output_text: text, usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: deltas, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 28 }, error: null, incomplete_details: null }
  const rec = {
    id,
    tenant: 'default',
    status: 'completed',
    model: 'bench-l10-d16-r0',
    request: { model: 'bench-l10-d16-r0', input: 'Say hello to the benchmark.' },
    response,
    error: null,
    previousResponseId: null,
    conversationId: null,
    background: false,
    createdAt: now,
    updatedAt: now,
    completedAt: now,
    requestId: timeOrderedId('req'),
  } as unknown as ResponseRecord
  settledJson(response)
  const inputs = [input] as ItemBody[]
  if (!streamed) return (store) => store.createResponse(rec, inputs, undefined, outputs)
  // A streamed turn: its first Response (in_progress, nothing out yet) and its log as the engine records it.
  const { status: _s, completed_at: _c, output: _o, output_text: _t, usage: _u, error: _e, incomplete_details: _i, ...base } = response
  const initial = {
    ...base,
    status: 'in_progress',
    completed_at: null,
    output: [],
    output_text: '',
    usage: null,
    error: null,
    incomplete_details: null,
  }
  const where = { item_id: output.id, output_index: 0, content_index: 0 }
  const part = { type: 'output_text', text: '', annotations: [], logprobs: [] }
  const last = 3 + deltas
  // biome-ignore format: one event a line
  const log = [
    { type: 'response.created', sequence_number: 0, response: initial },
    { type: 'response.in_progress', sequence_number: 1, response: initial },
    { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { id: output.id, type: 'message', status: 'in_progress', role: 'assistant', content: [] } },
    { type: 'response.content_part.added', sequence_number: 3, ...where, part },
    { type: 'response.output_text.delta', sequence_number: last, ...where, delta: ' word', logprobs: [], [RUN_KEY]: new DeltaList(Array(deltas).fill('" word"').join(','), deltas) },
    { type: 'response.output_text.done', sequence_number: last + 1, ...where, text, logprobs: [] },
    { type: 'response.content_part.done', sequence_number: last + 2, ...where, part: { ...part, text } },
    { type: 'response.output_item.done', sequence_number: last + 3, output_index: 0, item: output },
    { type: 'response.completed', sequence_number: last + 4, response },
  ] as unknown as EventBody[]
  const end = { status: rec.status, response: rec.response, error: null, completedAt: rec.completedAt }
  const started = { ...rec, status: 'in_progress', response: initial, completedAt: null } as unknown as ResponseRecord
  if (shape === 'stream-at-end') return (store) => store.createResponse(rec, inputs, undefined, outputs, log)
  return async (store) => {
    await store.createResponse(started, inputs, { owner: 'bench', expiresAt: now + 60_000 }, [], log.slice(0, 1))
    await store.finishResponse('default', rec.id, end, outputs, { events: log.slice(1) })
  }
}

/** mxFrame of the wal-index header (the -shm file, offset 16): the WAL's last committed frame. */
function walFrames(path: string): number {
  try {
    const fd = openSync(`${path}-shm`, 'r')
    const b = new Uint8Array(20)
    readSync(fd, b, 0, 20, 0)
    closeSync(fd)
    return new DataView(b.buffer).getUint32(16, true)
  } catch {
    return 0
  }
}

async function measure(group: number): Promise<{ us: number; frames: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-turn-write-'))
  const path = join(dir, 'store.db')
  const store = await openSqliteStore(path)
  try {
    const commits = Math.ceil(turns / group)
    // a warm-up of a fifth, then the measured commits
    let frames = 0
    let counted = 0
    let cpu = 0
    for (let c = 0; c < commits + Math.ceil(commits / 5); c++) {
      const batch = Array.from({ length: group }, turn)
      const f0 = walFrames(path)
      const t0 = threadSched(process.pid).runNs
      await Promise.all(batch.map((write) => write(store)))
      const t1 = threadSched(process.pid).runNs
      const f1 = walFrames(path)
      if (c < Math.ceil(commits / 5)) continue
      cpu += t1 - t0
      // a restarted WAL starts again from frame 0: that commit is not counted
      if (f1 > f0) {
        frames += f1 - f0
        counted++
      }
    }
    return { us: cpu / 1000 / (commits * group), frames: counted ? frames / counted : Number.NaN }
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** what the frames are counted over: a streamed turn's two writes are two commits */
const per = shape === 'stream' ? 'a group (two commits)' : 'a commit'
const results = new Map<number, { us: number[]; frames: number[] }>()
for (let r = 0; r < rounds; r++) {
  for (const g of r % 2 ? [...groups].reverse() : groups) {
    const m = await measure(g)
    const e = results.get(g) ?? { us: [], frames: [] }
    e.us.push(m.us)
    e.frames.push(m.frames)
    results.set(g, e)
    process.stdout.write(
      `round ${r + 1} ${shape} group ${g}: ${m.us.toFixed(1)} µs of the serving thread a turn, ${m.frames.toFixed(1)} WAL frames ${per}\n`,
    )
  }
}
process.stdout.write(`\nsummary (${shape}, median over rounds)\n`)
for (const g of groups) {
  const e = results.get(g)!
  const frames = median(e.frames)
  process.stdout.write(
    `group ${g}\t${median(e.us).toFixed(1)} µs a turn\t${frames.toFixed(1)} frames ${per} (${(frames / g).toFixed(2)} a turn)\t[${e.us.map((x) => x.toFixed(1)).join(', ')}]\n`,
  )
}
