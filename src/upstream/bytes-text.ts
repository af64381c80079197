// Text of a part of a byte buffer without making a view of that part. A network read's chunk is a typed array with no
// ArrayBuffer object of its own yet; the first `subarray` of it makes one (and moves its bytes out of the GC heap),
// ~0.5 µs per chunk — more than decoding a token's few bytes. Bun's Buffer methods read any Uint8Array by range
// without that (this gateway runs on Bun only); the text is TextDecoder's: invalid bytes become U+FFFD the same way,
// and a BOM is kept as a character (TextDecoder with ignoreBOM).

const bufferText = Buffer.prototype.toString as (this: Uint8Array, encoding: BufferEncoding, start: number, end: number) => string

/** bytes[start, end) decoded as UTF-8. */
export function utf8Text(bytes: Uint8Array, start: number, end: number): string {
  return start === end ? '' : bufferText.call(bytes, 'utf8', start, end)
}

/** bytes[start, end) as a string of one character per byte (latin1). */
export function byteText(bytes: Uint8Array, start: number, end: number): string {
  return start === end ? '' : bufferText.call(bytes, 'latin1', start, end)
}
