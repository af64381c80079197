// The socket session's side of a turn's batches (src/ws/session.ts): the model's batches come through the sink
// (engine/turn-types.ts BatchSink), from inside the upstream adapter's loop, not through the session's own loop. A frame
// the socket drops must still stop the turn there, as leaving the loop did; a backed-up socket must hold the turn until
// it drains. In process, with a socket and a turn of our own (the turn a stand-in for the engine's: it writes its model
// batches to the sink while its signal lets it, and waits on what the sink gives back, as the adapter's loop does).
import { expect, test } from 'bun:test'
import { silentLogger } from '../../src/log'
import { ResponsesSocketSession } from '../../src/ws/session'

const delta = (n: number) => ({
  type: 'response.output_text.delta',
  sequence_number: n + 2,
  item_id: 'msg_1',
  output_index: 0,
  content_index: 0,
  delta: `w${n}`,
  logprobs: [],
})

type Sink = { write(b: unknown[]): Promise<unknown> | undefined }

/** A stand-in for the engine's turn: `batches` yields its events and writes its model batches to the sink. */
const stubTurn = (batches: (sink: Sink) => AsyncGenerator<unknown[]>) => ({
  id: 'resp_1',
  stored: false,
  response: { status: 'completed' },
  transcript: () => [],
  batches,
})

/** A turn of `deltas` model batches: created and in_progress yielded, the deltas written to the sink, then completed. */
function fakeEngine(deltas: number) {
  const seen = { signal: null as AbortSignal | null, written: 0, ended: false }
  const turn = stubTurn(async function* (sink) {
    try {
      yield [{ type: 'response.created', sequence_number: 0 }]
      yield [{ type: 'response.in_progress', sequence_number: 1 }]
      for (let n = 0; n < deltas && !seen.signal!.aborted; n++) {
        seen.written++
        const pushedBack = sink.write([delta(n)])
        if (pushedBack) await pushedBack
      }
      yield [{ type: seen.signal!.aborted ? 'response.incomplete' : 'response.completed', sequence_number: deltas + 2 }]
    } finally {
      seen.ended = true
    }
  })
  const engine = {
    start: async (_req: unknown, opts: { signal: AbortSignal }) => {
      seen.signal = opts.signal
      return turn
    },
  }
  return { engine, seen }
}

/**
 * A socket's send: `answer` of the n-th frame it is given says what it does (1: sent, -1: queued, backed up — both kept in
 * `frames` — or 0: dropped).
 */
const socket =
  (frames: string[], answer: (n: number) => number = () => 1) =>
  (text: string) => {
    const r = answer(frames.length + 1)
    if (r !== 0) frames.push(text)
    return r === 1 ? text.length : r
  }

function session(engine: unknown, send: (text: string) => number, cork = <T>(fn: () => T): T => fn()) {
  const s = new ResponsesSocketSession(
    { send, cork, close() {} },
    { engine: engine as never, logger: silentLogger, tenant: 'default', maxQueue: 4, forceStore: false, requestId: 'req_1' },
  )
  s.onMessage({ type: 'response.create', model: 'm', input: 'hi' })
  return s
}

const settle = () => new Promise((r) => setTimeout(r, 20))

test('every model batch written to the sink goes out as a frame, in order with the yielded events', async () => {
  const { engine, seen } = fakeEngine(5)
  const frames: string[] = []
  session(engine, socket(frames))
  await settle()
  expect(frames.map((f) => JSON.parse(f).type)).toEqual([
    'response.created',
    'response.in_progress',
    ...Array(5).fill('response.output_text.delta'),
    'response.completed',
  ])
  expect(frames.slice(2, 7).map((f) => JSON.parse(f).delta)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4'])
  expect(seen).toMatchObject({ written: 5, ended: true })
  expect(seen.signal!.aborted).toBe(false)
})

test('a model frame the socket drops stops the turn there', async () => {
  const { engine, seen } = fakeEngine(50)
  const frames: string[] = []
  // the socket takes created, in_progress and two deltas, then drops what it is given
  session(
    engine,
    socket(frames, (n) => (n <= 4 ? 1 : 0)),
  )
  await settle()
  expect(seen.signal!.aborted).toBe(true)
  expect(seen.written).toBe(3)
  expect(seen.ended).toBe(true)
  expect(frames).toHaveLength(4)
})

test('a backed-up socket holds the turn until it drains; the frames after it follow in order', async () => {
  const { engine, seen } = fakeEngine(6)
  const frames: string[] = []
  // backed up at the third delta's frame (queued: it is sent)
  const s = session(
    engine,
    socket(frames, (n) => (n === 5 ? -1 : 1)),
  )
  await settle()
  expect(frames).toHaveLength(5)
  expect(seen).toMatchObject({ written: 3, ended: false })
  s.onDrain()
  await settle()
  expect(frames.map((f) => JSON.parse(f).delta ?? JSON.parse(f).type)).toEqual([
    'response.created',
    'response.in_progress',
    'w0',
    'w1',
    'w2',
    'w3',
    'w4',
    'w5',
    'response.completed',
  ])
  expect(seen).toMatchObject({ written: 6, ended: true })
})

test("an error frame sent while a turn waits for the socket to drain does not take the turn's place: one drain resumes both", async () => {
  const { engine, seen } = fakeEngine(6)
  const frames: string[] = []
  // backed up at the third delta's frame, and again at the error frame that follows it (both queued: both are sent)
  const s = session(
    engine,
    socket(frames, (n) => (n === 5 || n === 6 ? -1 : 1)),
  )
  await settle()
  expect(seen).toMatchObject({ written: 3, ended: false })
  s.onMessage('not json')
  await settle()
  expect(JSON.parse(frames[5]!)).toMatchObject({ type: 'error', code: 'invalid_json' })
  // the socket drains once: every frame waiting on it goes on
  s.onDrain()
  await settle()
  expect(seen).toMatchObject({ written: 6, ended: true })
  expect(frames.map((f) => JSON.parse(f).delta ?? JSON.parse(f).type).slice(6)).toEqual(['w3', 'w4', 'w5', 'response.completed'])
})

test('the frames of a batch of several events go out in one write (the socket corked around them); a lone one as it is', async () => {
  const turn = stubTurn(async function* (sink) {
    yield [
      { type: 'response.created', sequence_number: 0 },
      { type: 'response.in_progress', sequence_number: 1 },
    ]
    await sink.write([delta(0), delta(1), delta(2)])
    await sink.write([delta(3)])
    yield [{ type: 'response.completed', sequence_number: 6 }]
  })
  const frames: string[] = []
  // what each cork sent, frame by frame
  const corked: string[][] = []
  let inCork: string[] | null = null
  const name = (text: string) => JSON.parse(text).delta ?? JSON.parse(text).type
  session(
    { start: async () => turn },
    (text) => {
      frames.push(text)
      inCork?.push(name(text))
      return text.length
    },
    <T>(fn: () => T): T => {
      inCork = []
      try {
        return fn()
      } finally {
        corked.push(inCork)
        inCork = null
      }
    },
  )
  await settle()
  expect(frames.map(name)).toEqual(['response.created', 'response.in_progress', 'w0', 'w1', 'w2', 'w3', 'response.completed'])
  expect(corked).toEqual([
    ['response.created', 'response.in_progress'],
    ['w0', 'w1', 'w2'],
  ])
})
