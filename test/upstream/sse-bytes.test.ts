// The upstream SSE reader frames lines on the bytes and decodes a message's lines only when it is not taken as bytes
// (src/upstream/sse.ts): what the decoding of the whole stream gave is kept (a BOM dropped at the stream's start only,
// invalid UTF-8 read as U+FFFD, characters split across chunks whole), and the line limit counts bytes, as its flag
// (--max-sse-line-bytes) says.
import { describe, expect, test } from 'bun:test'
import { ApiError } from '../../src/errors'
import { type SseMessage, translatedBatches } from '../../src/upstream/sse'

function streamOf(chunks: (string | number[])[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  return new ReadableStream({
    start(ctl) {
      for (const c of chunks) ctl.enqueue(typeof c === 'string' ? enc.encode(c) : new Uint8Array(c))
      ctl.close()
    },
  })
}

async function messages(chunks: (string | number[])[], maxLineBytes = 1024) {
  const out: SseMessage[] = []
  for await (const batch of translatedBatches<SseMessage>(streamOf(chunks), { maxLineBytes }, (msg, b) => b.push(msg))) out.push(...batch)
  return out
}

const bytes = (s: string) => [...new TextEncoder().encode(s)]

describe('the SSE reader on bytes', () => {
  test('a BOM at the start of the stream is dropped (even split over chunks); one inside a line is kept', async () => {
    const bom = [0xef, 0xbb, 0xbf]
    expect(await messages([[...bom, ...bytes('data: a\n\n')]])).toEqual([{ event: null, data: 'a' }])
    expect(await messages([[0xef], [0xbb, 0xbf, ...bytes('data: a\n\n')]])).toEqual([{ event: null, data: 'a' }])
    expect(await messages([[...bytes('data: '), ...bom, ...bytes('a\n\n')]])).toEqual([{ event: null, data: '\ufeffa' }])
  })

  test('invalid UTF-8 reads as U+FFFD; a character split across chunks reads whole', async () => {
    expect(await messages([[...bytes('event: e'), 0xff, ...bytes('\ndata: x'), 0xe4, 0xb8, ...bytes('\n\n')]])).toEqual([
      { event: 'e\ufffd', data: 'x\ufffd' },
    ])
    const emoji = bytes('data: 😀é\n\n')
    for (let cut = 1; cut < emoji.length; cut++)
      expect(await messages([emoji.slice(0, cut), emoji.slice(cut)])).toEqual([{ event: null, data: '😀é' }])
  })

  test('the line limit counts bytes: 600 two-byte characters are over a limit of 1,000', async () => {
    const line = `data: ${'é'.repeat(600)}\n\n`
    const e = await messages([line], 1000).catch((e) => e)
    expect(e).toBeInstanceOf(ApiError)
    expect((e as ApiError).errorCode).toBe('upstream_line_too_long')
    expect(await messages([line], 1300)).toEqual([{ event: null, data: 'é'.repeat(600) }])
  })
})
