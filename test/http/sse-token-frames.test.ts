// A token's SSE frame is built in a buffer kept for its size and shared by every stream (src/http/sse.ts tokenBuffer):
// that is only right while the direct stream's write copies (or sends) what it is given before it returns. These
// streams write many frames of one size in the same turn of the event loop, two streams at once, to a client that
// reads slowly (so the server holds what the socket does not take): every frame must arrive as it was written.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { BatchSink } from '../../src/engine/turn-types'
import { sseResponse } from '../../src/http/sse'
import type { ResponseEvent } from '../../src/schema/events'
import { DELTA_RUN, type DeltaRun } from '../../src/upstream/delta-run'

type Element = ResponseEvent | DeltaRun

const TOKENS = 4_000
const PER_TICK = 100
const enc = new TextEncoder()

/** The i-th token of a stream: the same length for every i (so every frame of one stream has one size). */
const token = (stream: string, i: number) => `${stream}${String(i).padStart(6, '0')}`

/** A one-token run as the adapter makes it: the token's JSON string body in an upstream chunk of its own. */
function run(item: string, seq: number, text: string): DeltaRun {
  const bytes = enc.encode(`data: {"delta":"${text}"}\n\n`)
  const start = bytes.indexOf(0x22, 'data: {"delta":'.length - 1) + 1
  return {
    type: DELTA_RUN,
    sequence_number: seq,
    item_id: item,
    output_index: 0,
    content_index: 0,
    bytes,
    spans: [start, start + text.length],
    texts: null,
  }
}

/** A stream of TOKENS one-token batches written through the sink, PER_TICK of them in each turn of the event loop. */
const tokens = (name: string) =>
  async function* (sink: BatchSink<Element>): AsyncGenerator<Element[]> {
    for (let i = 0; i < TOKENS; i++) {
      const written = sink.write([run(`msg_${name}`, i, token(name, i))])
      if (written) await written
      if (i % PER_TICK === PER_TICK - 1) await new Promise((r) => setImmediate(r))
    }
  }

let server: ReturnType<typeof Bun.serve>
beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (req) => sseResponse(tokens(new URL(req.url).pathname.slice(1))),
  })
})
afterAll(() => server.stop(true))

/** The stream's text, read slowly at first (the server holds what the socket does not take meanwhile). */
async function slowText(name: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${server.port}/${name}`)
  const reader = res.body!.getReader()
  const parts: Uint8Array[] = []
  for (let reads = 0; ; reads++) {
    const r = await reader.read()
    if (r.done) break
    parts.push(r.value)
    if (reads < 20) await Bun.sleep(5)
  }
  return Buffer.concat(parts).toString('utf8')
}

test('token frames of one size, many in one turn of the loop and two streams at once, arrive as written', async () => {
  const [a, b] = await Promise.all([slowText('a'), slowText('b')])
  for (const [name, text] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const frames = text.split('\n\n')
    expect(frames.pop()).toBe('')
    expect(frames.length).toBe(TOKENS)
    const expected = frames.map(
      (_, i) =>
        `event: response.output_text.delta\ndata: ${JSON.stringify({ type: 'response.output_text.delta', sequence_number: i, item_id: `msg_${name}`, output_index: 0, content_index: 0, delta: token(name, i), logprobs: [] })}`,
    )
    // compared whole (one expect): a frame overwritten by another stream's, or by a later one, fails here
    expect(frames).toEqual(expected)
  }
})
