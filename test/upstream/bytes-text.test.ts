// Text of a range of bytes without a view of it (src/upstream/bytes-text.ts): the same text TextDecoder gives for the
// same bytes — what the SSE reader and the delta matcher took before — for any bytes, valid UTF-8 or not.
import { describe, expect, test } from 'bun:test'
import { byteText, utf8Text } from '../../src/upstream/bytes-text'

/** A small seeded generator (mulberry32): the same bytes on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })
const latin1 = new TextDecoder('latin1')

describe('text of a range of bytes', () => {
  test('UTF-8: what TextDecoder (BOM kept) gives for the range, for random bytes, broken sequences and a BOM', () => {
    const next = random(13)
    const samples: Uint8Array[] = [
      new TextEncoder().encode('plain ascii, é, 中文, 😀'),
      new Uint8Array([0xef, 0xbb, 0xbf, 0x41, 0xef, 0xbb, 0xbf]),
      new Uint8Array([0x61, 0xc3, 0x62, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0x80, 0x80, 0xc0, 0xaf, 0xe2, 0x82]),
    ]
    for (let i = 0; i < 300; i++) {
      // bytes from the whole range, and from the ranges UTF-8 sequences are made of
      const pool = i % 2 ? 256 : 64
      samples.push(
        Uint8Array.from({ length: 1 + Math.floor(next() * 40) }, () =>
          pool === 256 ? Math.floor(next() * 256) : 0x80 + Math.floor(next() * 0x78),
        ),
      )
    }
    for (const b of samples)
      for (let start = 0; start <= b.length; start += 1 + Math.floor(next() * 5))
        for (let end = start; end <= b.length; end += 1 + Math.floor(next() * 7))
          expect(utf8Text(b, start, end)).toBe(utf8.decode(b.slice(start, end)))
  })

  test('one character per byte: each byte its own character, the same for every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const text = byteText(all, 0, 256)
    expect(text).toHaveLength(256)
    for (let i = 0; i < 256; i++) expect(text.charCodeAt(i)).toBe(i)
    expect(byteText(all, 65, 68)).toBe('ABC')
    expect(byteText(all, 7, 7)).toBe('')
    // ASCII reads as TextDecoder's latin1 reads it (the matcher's view and its templates are both made here)
    expect(byteText(all, 0, 128)).toBe(latin1.decode(all.slice(0, 128)))
  })
})
