// The upstream SSE reader (translatedBatches, which each adapter's stream is): framing across arbitrary chunk
// boundaries, line endings, the line limit, the end at [DONE], the stream opened by its call, the idle timeout.
import { describe, expect, test } from 'bun:test'
import { ApiError } from '../../src/errors'
import { openUpstreamStreams } from '../../src/upstream/open-streams'
import { type SseLimits, type SseMessage, translatedBatches } from '../../src/upstream/sse'

function streamOf(chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(enc.encode(c))
      ctl.close()
    },
  })
}

/** The messages of a body, as a translation that keeps each message as it is sees them, and whether [DONE] came. */
async function messagesOf(body: ReadableStream<Uint8Array>, limits: SseLimits) {
  const out: SseMessage[] = []
  const batches = translatedBatches<SseMessage>(body, limits, (msg, batch) => batch.push(msg))
  for (;;) {
    const r = await batches.next()
    if (r.done) return { out, done: r.value }
    out.push(...r.value)
  }
}

async function parse(chunks: string[], max = 1024) {
  return (await messagesOf(streamOf(chunks), { maxLineBytes: max })).out
}

const TEXT = 'event: a\ndata: {"x":1}\n\n: keep-alive\n\nevent: b\r\ndata: line1\r\ndata: line2\r\n\r\ndata: [DONE]\n\n'
const EXPECTED = [
  { event: 'a', data: '{"x":1}' },
  { event: 'b', data: 'line1\nline2' },
]

describe('the SSE reader', () => {
  test('whole text in one chunk', async () => {
    expect(await parse([TEXT])).toEqual(EXPECTED)
  })

  test.each([1, 2, 3, 5, 7, 13])('split into chunks of %i characters (\\r\\n split across chunks too)', async (size) => {
    const chunks: string[] = []
    for (let i = 0; i < TEXT.length; i += size) chunks.push(TEXT.slice(i, i + size))
    expect(await parse(chunks)).toEqual(EXPECTED)
  })

  test('LF, CR and CRLF line endings mixed in one chunk', async () => {
    const text = 'data: 1\n\ndata: 2\r\rdata: 3\r\n\r\ndata: 4\n\n'
    expect(await parse([text])).toEqual(['1', '2', '3', '4'].map((data) => ({ event: null, data })))
  })

  test.each([2, 3, 4, 5, 7, 12, 17, 19, 28])(
    'CR line ends read the same in chunks of %i characters (a line finished by a chunk that starts with its \\r)',
    async (size) => {
      const text = 'event: a\rdata: 1\r\revent: b\rdata: 2\r\revent: c\ndata: 3\n\n'
      const chunks: string[] = []
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size))
      expect(await parse(chunks)).toEqual([
        { event: 'a', data: '1' },
        { event: 'b', data: '2' },
        { event: 'c', data: '3' },
      ])
    },
  )

  test('a field name is matched whole: "data" alone is an empty data line, one space after the colon is dropped, other fields are ignored', async () => {
    const text = 'data\ndata:x\ndata:  two spaces\nid: 7\nretry: 10\ndatax: no\neventful: no\nevent\n\nevent:e\ndata\n\n'
    expect(await parse([text])).toEqual([
      { event: '', data: '\nx\n two spaces' },
      { event: 'e', data: '' },
    ])
  })

  test('[DONE] ends the stream: what follows it is not read, and the reader says it came', async () => {
    const { out, done } = await messagesOf(streamOf(['data: 1\n\ndata: [DONE]\n\ndata: 2\n\n']), { maxLineBytes: 1024 })
    expect({ out, done }).toEqual({ out: [{ event: null, data: '1' }], done: true })
    expect((await messagesOf(streamOf(['data: 1\n\n']), { maxLineBytes: 1024 })).done).toBe(false)
  })

  test('a last event without the closing blank line still counts', async () => {
    expect(await parse(['data: tail'])).toEqual([{ event: null, data: 'tail' }])
  })

  test.each([
    ['a complete long line inside one chunk', [`data: ${'x'.repeat(2000)}\n\ndata: ok\n\n`]],
    ['a long line still unfinished at the end of a chunk', [`data: ${'x'.repeat(2000)}`]],
    ['a long line spread over many chunks', Array.from({ length: 40 }, () => 'y'.repeat(100))],
  ])('%s → 502 upstream_line_too_long', async (_name, chunks) => {
    let err: unknown
    try {
      await parse(chunks, 1024)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).errorCode).toBe('upstream_line_too_long')
  })

  test('many short events in one large chunk all come out', async () => {
    const n = 50_000
    const big = Array.from({ length: n }, (_, i) => `data: {"i":${i}}\n\n`).join('')
    const out = await parse([big], 1024)
    expect(out).toHaveLength(n)
    expect(out[n - 1].data).toBe(`{"i":${n - 1}}`)
  })
})

/** Every batch a translatedBatches generator yields, and what it returned. */
async function batchesOf<E>(gen: AsyncGenerator<E[], boolean>) {
  const batches: E[][] = []
  for (;;) {
    const r = await gen.next()
    if (r.done) return { batches, done: r.value }
    batches.push(r.value)
  }
}

// An adapter's stream is this generator, opened by the adapter's call: nothing runs before the first read of it.
describe('the stream opened by its call (what each adapter returns)', () => {
  const limits = { maxLineBytes: 1024 }
  const keep = (msg: SseMessage, batch: string[]) => batch.push(msg.data)

  test('the call runs only once the stream is read, and its body is read as before; what the translation held comes last, told that [DONE] came', async () => {
    let calls = 0
    const ends: boolean[] = []
    const gen = translatedBatches<string>(
      async () => {
        calls++
        return streamOf(['data: 1\n\n', 'data: 2\n\ndata: [DONE]\n\ndata: 3\n\n'])
      },
      limits,
      keep,
      {
        end: (sawDone) => {
          ends.push(sawDone)
          return ['held']
        },
      },
    )
    expect(calls).toBe(0)
    expect(await batchesOf(gen)).toEqual({ batches: [['1'], ['2'], ['held']], done: true })
    expect({ calls, ends }).toEqual({ calls: 1, ends: [true] })
  })

  test('a stream that ends without [DONE] tells the end so; an end with nothing held adds no batch', async () => {
    const ends: boolean[] = []
    const gen = translatedBatches<string>(async () => streamOf(['data: 1\n\n']), limits, keep, {
      end: (sawDone) => {
        ends.push(sawDone)
        return []
      },
    })
    expect(await batchesOf(gen)).toEqual({ batches: [['1']], done: false })
    expect(ends).toEqual([false])
  })

  test('a whole answer (the call gives its events) is one batch: no body read, nothing added at the end', async () => {
    let ended = false
    const gen = translatedBatches<string>(async () => ['a', 'b'], limits, keep, {
      end: () => {
        ended = true
        return ['never']
      },
    })
    expect(await batchesOf(gen)).toEqual({ batches: [['a', 'b']], done: false })
    expect(ended).toBe(false)
  })

  test('a call that fails fails the first read, and a message the translation refuses skips the end', async () => {
    const refused = translatedBatches<string>(async () => Promise.reject(new ApiError(502, 'no', 'upstream_error')), limits, keep)
    await expect(refused.next()).rejects.toBeInstanceOf(ApiError)
    let ended = false
    const bad = translatedBatches<string>(
      async () => streamOf(['data: ok\n\ndata: bad\n\n']),
      limits,
      (msg, batch) => {
        if (msg.data === 'bad') throw new ApiError(502, 'bad event', 'upstream_error')
        batch.push(msg.data)
      },
      {
        end: () => {
          ended = true
          return ['never']
        },
      },
    )
    expect(await bad.next()).toEqual({ done: false, value: ['ok'] })
    await expect(bad.next()).rejects.toBeInstanceOf(ApiError)
    expect(ended).toBe(false)
  })
})

// The engine's work on each batch runs inside this loop (upstream/adapter.ts BatchStep), not in a generator around it.
describe("the caller's step on each batch (what the engine maps, records and writes)", () => {
  const limits = { maxLineBytes: 1024 }
  const keep = (msg: SseMessage, batch: string[]) => batch.push(msg.data)
  /** A body that gives its chunks one read at a time (nothing read ahead), counting the reads and a cancel. */
  function pulled(chunks: string[]) {
    const enc = new TextEncoder()
    const seen = { reads: 0, cancelled: false }
    const body = new ReadableStream<Uint8Array>(
      {
        pull(ctl) {
          if (seen.reads < chunks.length) ctl.enqueue(enc.encode(chunks[seen.reads++]!))
          else ctl.close()
        },
        cancel() {
          seen.cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    return { body, seen }
  }

  test('what the step makes of each batch is yielded (nothing for an empty one), and its write is awaited before the next read', async () => {
    const { body, seen } = pulled(['data: 1\n\ndata: 2\n\n', 'data: skip\n\n', 'data: 3\n\n'])
    let release: () => void = () => {}
    const writes: number[] = []
    const gen = translatedBatches<string, number>(body, limits, keep, {
      step: {
        map: (batch) => batch.filter((d) => d !== 'skip').map(Number),
        // the first batch's write is held until released; the others have nothing to wait for
        after: () => {
          writes.push(seen.reads)
          return writes.length === 1 ? new Promise<void>((r) => (release = r)) : undefined
        },
        done: () => false,
      },
    })
    expect(await gen.next()).toEqual({ done: false, value: [1, 2] })
    const next = gen.next()
    await Bun.sleep(5)
    // the write of the first batch is pending: the body was read once
    expect(seen.reads).toBe(1)
    release()
    // the batch the step left empty is not yielded; its write still came
    expect(await next).toEqual({ done: false, value: [3] })
    expect(writes).toEqual([1, 2])
    expect(await gen.next()).toEqual({ done: true, value: false })
    expect(writes).toEqual([1, 2, 3])
  })

  test("given a step, each chunk's batch holds that chunk's messages only, in one array the loop keeps for the stream", async () => {
    const { body } = pulled(['data: 1\n\ndata: 2\n\n', 'data: 3\n\n', 'data: 4\n\ndata: 5\n\n'])
    const arrays = new Set<string[]>()
    const seen: string[][] = []
    const gen = translatedBatches<string, string>(body, limits, keep, {
      step: {
        map: (batch) => {
          arrays.add(batch)
          seen.push([...batch])
          // what is yielded is the step's own array, never the loop's
          return [batch.join('+')]
        },
        after: () => undefined,
        done: () => false,
      },
    })
    expect(await batchesOf(gen)).toEqual({ batches: [['1+2'], ['3'], ['4+5']], done: false })
    expect(seen).toEqual([['1', '2'], ['3'], ['4', '5']])
    expect(arrays.size).toBe(1)
  })

  test('once the step says done, the stream ends there: nothing more is read, the end adds nothing, the body is cancelled', async () => {
    const { body, seen } = pulled(['data: 1\n\n', 'data: last\n\ndata: after\n\n', 'data: 3\n\n', 'data: [DONE]\n\n'])
    let ended = false
    let last = false
    const gen = translatedBatches<string>(body, limits, keep, {
      end: () => {
        ended = true
        return ['held']
      },
      step: {
        map: (batch) => {
          last ||= batch.includes('last')
          return batch
        },
        after: () => undefined,
        done: () => last,
      },
    })
    expect(await batchesOf(gen)).toEqual({ batches: [['1'], ['last', 'after']], done: false })
    expect({ reads: seen.reads, cancelled: seen.cancelled, ended }).toEqual({ reads: 2, cancelled: true, ended: false })
  })

  test("a whole answer and the translation's end go through the step too", async () => {
    const step = { map: (batch: string[]) => batch.map((d) => d.toUpperCase()), after: () => undefined, done: () => false }
    expect(await batchesOf(translatedBatches<string>(async () => ['a', 'b'], limits, keep, { step }))).toEqual({
      batches: [['A', 'B']],
      done: false,
    })
    const gen = translatedBatches<string>(async () => streamOf(['data: x\n\ndata: [DONE]\n\n']), limits, keep, {
      end: () => ['held'],
      step,
    })
    expect(await batchesOf(gen)).toEqual({ batches: [['X'], ['HELD']], done: true })
  })
})

describe('the idle timeout (longest silence between chunks)', () => {
  /** A message every `everyMs` for `n` messages, then `silentMs` of silence before the end. */
  function paced(n: number, everyMs: number, silentMs: number): ReadableStream<Uint8Array> {
    const enc = new TextEncoder()
    return new ReadableStream({
      async start(ctl) {
        try {
          for (let i = 0; i < n; i++) {
            ctl.enqueue(enc.encode(`data: ${i}\n\n`))
            await Bun.sleep(everyMs)
          }
          await Bun.sleep(silentMs)
          ctl.close()
        } catch {
          // cancelled by the parser: nothing more to send
        }
      },
    })
  }

  async function read(body: ReadableStream<Uint8Array>, idleMs: number) {
    const got: string[] = []
    let err: unknown = null
    try {
      const batches = translatedBatches<string>(body, { maxLineBytes: 1024, idleMs }, (msg, batch) => batch.push(msg.data))
      for await (const batch of batches) got.push(...batch)
    } catch (e) {
      err = e
    }
    return { got, err }
  }

  test('a stream that keeps sending for several times the timeout is never cut off', async () => {
    const { got, err } = await read(paced(40, 20, 0), 300)
    expect(err).toBeNull()
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => String(i)))
  })

  test('once it goes silent for longer than the timeout (after sending for longer than that): 504, what came before kept', async () => {
    const { got, err } = await read(paced(20, 20, 2_000), 300)
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => String(i)))
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(504)
  })
})

describe("the reader counts its stream among the process's open upstream streams (open-streams.ts)", () => {
  test.each(['to its end', 'left after the first batch', 'failed by its source'] as const)(
    'from its first read until it is closed: read %s',
    async (how) => {
      const before = openUpstreamStreams.count
      let fail!: (e: Error) => void
      const body = new ReadableStream<Uint8Array>({
        start(ctl) {
          ctl.enqueue(new TextEncoder().encode('data: 1\n\n'))
          if (how === 'to its end') ctl.close()
          fail = (e) => ctl.error(e)
        },
      })
      const batches = translatedBatches<SseMessage>(body, { maxLineBytes: 1024 }, (msg, batch) => batch.push(msg))
      expect(openUpstreamStreams.count).toBe(before)
      expect((await batches.next()).value).toEqual([{ event: null, data: '1' }])
      expect(openUpstreamStreams.count).toBe(before + 1)
      if (how === 'to its end') expect((await batches.next()).done).toBe(true)
      else if (how === 'left after the first batch') await batches.return(false)
      else {
        fail(new Error('reset'))
        expect(await batches.next().catch(() => 'failed')).toBe('failed')
      }
      expect(openUpstreamStreams.count).toBe(before)
    },
  )
})
