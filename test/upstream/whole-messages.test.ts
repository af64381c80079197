// A text delta's SSE message taken whole against the last one's bytes (src/upstream/delta-run.ts
// DeltaMatcher.matchMessage, offered by the reader at each line where no message has begun: sse.ts Splice.takeAt)
// must read as the line-by-line framing and JSON.parse read it — whatever the messages' shapes (event line or not, line
// ends, id and comment lines, escapes, non-ASCII, two items) and however the stream is cut into chunks.
import { expect, test } from 'bun:test'
import { createUpstreamAdapter } from '../../src/upstream'
import { createUpstreamClient } from '../../src/upstream/client'
import { spelledOut } from '../../src/upstream/delta-run'
import { translatedBatches } from '../../src/upstream/sse'

/** A small deterministic PRNG (mulberry32): the same streams on every run. */
function random(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const TEXTS = [' word', 'Hello', ' "q"', ' back\\slash', ' é', ' 😀', ' 中文', ' new\nline', '', ' tab\t', ' ctl\u0001']
const ITEMS = ['msg_up_a', 'msg_up_b']

/**
 * An upstream stream of two message items whose deltas come in messages of random shapes, its chunks, and the same
 * stream one message a chunk (as a token-by-token upstream sends it: each delta compared with the last one byte by byte).
 */
function randomStream(seed: number): { text: string; chunks: Uint8Array[]; messages: Uint8Array[] } {
  const r = random(seed)
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!
  const ev = (type: string, data: object, end = '\n') => `event: ${type}${end}data: ${JSON.stringify({ type, ...data })}${end}${end}`
  let text = ''
  const messages: Uint8Array[] = []
  /** appends what was added to the text since the last call as one chunk of `messages` */
  let cut = 0
  const endMessage = () => {
    messages.push(new TextEncoder().encode(text.slice(cut)))
    cut = text.length
  }
  let seq = 0
  for (const [i, id] of ITEMS.entries()) {
    text += ev('response.output_item.added', {
      output_index: i,
      item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
      sequence_number: seq++,
    })
    text += ev('response.content_part.added', {
      item_id: id,
      output_index: i,
      content_index: 0,
      part: { type: 'output_text', text: '' },
      sequence_number: seq++,
    })
  }
  for (let n = 0; n < 120; n++) {
    const i = r() < 0.8 ? 0 : 1
    // the number last, or (every other stream) before the item's id: the item then lies between the two variable parts
    const fields = `"item_id":"${ITEMS[i]}","output_index":${i},"content_index":0,"delta":${JSON.stringify(pick(TEXTS))},"logprobs":[]`
    const data =
      seed % 2
        ? `{"type":"response.output_text.delta",${fields},"sequence_number":${seq++}}`
        : `{"type":"response.output_text.delta","sequence_number":${seq++},${fields}}`
    const end = r() < 0.85 ? '\n' : pick(['\r\n', '\r'])
    const extra = r() < 0.05 ? pick(['id: 7', ': keep-alive', 'retry: 10']) + end : ''
    const eventLine = r() < 0.9 ? `event: response.output_text.delta${end}` : ''
    text += r() < 0.5 ? `${extra}${eventLine}data: ${data}${end}${end}` : `${eventLine}${extra}data: ${data}${end}${end}`
    if (r() < 0.03) text += ': ping\n\n'
    endMessage()
  }
  text += ev('response.completed', {
    response: { id: 'resp_up', object: 'response', status: 'completed', output: [] },
    sequence_number: seq++,
  })
  endMessage()
  const bytes = new TextEncoder().encode(text)
  const chunks: Uint8Array[] = []
  for (let at = 0; at < bytes.length; ) {
    const size = r() < 0.3 ? 1 + Math.floor(r() * 8) : 1 + Math.floor(r() * 400)
    chunks.push(bytes.slice(at, at + size))
    at += size
  }
  return { text, chunks, messages }
}

const bodyOf = (chunks: Uint8Array[]) =>
  new ReadableStream<Uint8Array>({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(c)
      ctl.close()
    },
  })

/** What a reader sees of each event: its type and, for a text delta, its item, indexes and text. */
const shape = (e: { type: string; [k: string]: unknown }) =>
  e.type === 'response.output_text.delta' ? [e.type, e.item_id, e.output_index, e.content_index, e.delta] : [e.type]

/** The events the responses adapter makes of these chunks, runs of deltas spelled out. */
async function adapterEvents(chunks: Uint8Array[]) {
  const client = createUpstreamClient({
    baseUrl: 'http://upstream.invalid/v1',
    apiKey: null,
    connectTimeoutMs: 10_000,
    firstByteTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    fetch: (async () => new Response(bodyOf(chunks), { headers: { 'content-type': 'text/event-stream' } })) as unknown as typeof fetch,
  })
  const adapter = createUpstreamAdapter('responses', client, { maxSseLineBytes: 1 << 20, maxStreamBytes: 1 << 30 })
  const out: unknown[][] = []
  for await (const batch of adapter.stream({ model: 'm', input: 'x' } as never, { signal: new AbortController().signal }))
    for (const e of spelledOut(batch)) out.push(shape(e as never))
  return out
}

/** The same stream read line by line, every message parsed as JSON (no splice). */
async function parsedEvents(chunks: Uint8Array[]) {
  const out: unknown[][] = []
  const batches = translatedBatches<{ type: string }>(bodyOf(chunks), { maxLineBytes: 1 << 20 }, (msg, b) => b.push(JSON.parse(msg.data)))
  for await (const batch of batches) for (const e of batch) out.push(shape(e as never))
  return out
}

test('delta messages of random shapes, cut into random chunks, read as every message parsed line by line (30 streams)', async () => {
  for (let seed = 1; seed <= 30; seed++) {
    const { text, chunks, messages } = randomStream(seed)
    const whole = [new TextEncoder().encode(text)]
    const reference = await parsedEvents(whole)
    expect(reference.filter((e) => e[0] === 'response.output_text.delta')).toHaveLength(120)
    expect([seed, await adapterEvents(whole)]).toEqual([seed, reference])
    expect([seed, await adapterEvents(chunks)]).toEqual([seed, reference])
    expect([seed, await adapterEvents(messages)]).toEqual([seed, reference])
  }
})
