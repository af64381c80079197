// The chunked transfer coding (RFC 9112 §7.1), decoded in place: the data of every chunk in a piece of received bytes
// is moved to the front of that piece, so one socket read becomes one piece of body however many chunks it carried
// (an upstream writes a chunk per SSE event: a read of a fast stream holds hundreds). Pure; state between reads only.
// Size lines are read a byte at a time, never as strings: a 1,000-event stream has 1,000 of them.
import { protocolError } from './protocol-error'

/** The longest chunk-size line (with extensions) or trailer line we read. */
const MAX_LINE = 4096
/** Hex digits of a chunk size at most (12: 256 TiB, far past any limit of ours, and exact as a double). */
const MAX_SIZE_DIGITS = 12

const State = {
  /** the hex digits of a chunk-size line */
  Size: 0,
  /** the rest of a chunk-size line (extensions, CR) up to its LF */
  SizeRest: 1,
  /** inside a chunk's data */
  Data: 2,
  /** the CRLF after a chunk's data */
  DataEnd: 3,
  /** the trailer section after the last chunk, up to its blank line */
  Trailer: 4,
  Done: 5,
  Failed: 6,
} as const
type State = (typeof State)[keyof typeof State]

export class ChunkedDecoder {
  private state: State = State.Size
  /** the chunk size read so far, then the data bytes left in the chunk */
  private left = 0
  private digits = 0
  /** bytes of the current size or trailer line so far (CR not counted) */
  private lineLength = 0
  /** Why the body is not a chunked body after all (decoding stops there); the data before it was good. */
  failure: Error | null = null

  /** Whether the last chunk and the trailer have been read: the body is complete. */
  get done(): boolean {
    return this.state === State.Done
  }

  /**
   * Decodes `b[start, end)`: the body bytes it held are moved to `b[start, start + n)`; returns n and where the
   * encoded body ended if it ended in this piece (the bytes after it are not the body's), else `end`. Malformed
   * framing sets `failure` and leaves the data before it decoded.
   */
  decode(b: Uint8Array, start: number, end: number): { n: number; used: number } {
    let w = start
    let p = start
    while (p < end) {
      const state = this.state
      if (state === State.Data) {
        const n = Math.min(this.left, end - p)
        if (w !== p) b.copyWithin(w, p, p + n)
        w += n
        p += n
        this.left -= n
        if (this.left === 0) this.state = State.DataEnd
        continue
      }
      if (state === State.Done || state === State.Failed) break
      const c = b[p++] as number
      if (state === State.Size) {
        const d = hexValue(c)
        if (d >= 0) {
          if (++this.digits > MAX_SIZE_DIGITS) return this.fail(w - start, end, 'a chunk size is too large')
          this.left = this.left * 16 + d
        } else if (this.digits === 0) return this.fail(w - start, end, 'a chunk-size line does not begin with a size')
        else if (c === 10) this.endSizeLine()
        else if (c === 59 || c === 32 || c === 9 || c === 13)
          this.state = State.SizeRest // ';', whitespace, CR
        else return this.fail(w - start, end, 'a chunk-size line is malformed')
      } else if (state === State.SizeRest) {
        if (c === 10) this.endSizeLine()
        else if (++this.lineLength > MAX_LINE) return this.fail(w - start, end, 'a chunk-size line is too long')
      } else if (state === State.DataEnd) {
        // CRLF, or a bare LF; the CR may end one read and the LF begin the next
        if (c === 10) this.state = State.Size
        else if (c !== 13) return this.fail(w - start, end, 'a chunk is longer than its size')
      } else if (c === 10) {
        // the trailer section: its fields are dropped; a blank line ends the body
        if (this.lineLength === 0) {
          this.state = State.Done
          return { n: w - start, used: p }
        }
        this.lineLength = 0
      } else if (c !== 13 && ++this.lineLength > MAX_LINE) return this.fail(w - start, end, 'a trailer line is too long')
    }
    return { n: w - start, used: p }
  }

  private endSizeLine() {
    this.digits = 0
    this.lineLength = 0
    this.state = this.left === 0 ? State.Trailer : State.Data
  }

  private fail(n: number, end: number, message: string): { n: number; used: number } {
    this.state = State.Failed
    this.failure = protocolError('InvalidHTTPResponse', `the upstream's chunked body is malformed: ${message}`)
    return { n, used: end }
  }
}

/** The value of an ASCII hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const lower = c | 32
  return lower >= 97 && lower <= 102 ? lower - 87 : -1
}
