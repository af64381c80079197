// The chunked transfer coding (RFC 9112 §7.1), decoded in place: the data of every chunk in a piece of received bytes
// is moved to the front of that piece, so one socket read becomes one piece of body however many chunks it carried
// (an upstream writes a chunk per SSE event: a read of a fast stream holds dozens). Pure; state between reads only.
import { protocolError } from './protocol-error'

/** The longest chunk-size line (with extensions) or trailer line we wait for. */
const MAX_LINE = 4096

const State = {
  /** reading a chunk-size line */
  Size: 0,
  /** inside a chunk's data */
  Data: 1,
  /** the CRLF after a chunk's data */
  DataEnd: 2,
  /** the trailer section after the last chunk, up to its blank line */
  Trailer: 3,
  Done: 4,
  Failed: 5,
} as const
type State = (typeof State)[keyof typeof State]

export class ChunkedDecoder {
  private state: State = State.Size
  /** data bytes left in the current chunk */
  private left = 0
  /** the line read so far (size or trailer) when a read ended inside it */
  private line = ''
  /** Why the body is not a chunked body after all (decode stops there); the data before it was good. */
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
    this.written = start
    if (this.state === State.Failed) return { n: 0, used: end }
    try {
      return { n: this.decodeInto(b, start, end) - start, used: this.used }
    } catch (e) {
      this.failure = e as Error
      this.state = State.Failed
      return { n: this.written - start, used: end }
    }
  }

  /** how far the last decode wrote data to, and read */
  private written = 0
  private used = 0

  private decodeInto(b: Uint8Array, start: number, end: number): number {
    let w = start
    let p = start
    while (p < end && this.state !== State.Done) {
      switch (this.state) {
        case State.Data: {
          const n = Math.min(this.left, end - p)
          if (w !== p) b.copyWithin(w, p, p + n)
          w += n
          this.written = w
          p += n
          this.left -= n
          if (this.left === 0) this.state = State.DataEnd
          break
        }
        case State.DataEnd: {
          // CRLF, or a bare LF; the CR may end one read and the LF begin the next
          const c = b[p++]
          if (c === 10) this.state = State.Size
          else if (c !== 13) throw malformed('a chunk is longer than its size')
          break
        }
        case State.Size:
        case State.Trailer: {
          const lf = b.indexOf(10, p)
          const stop = lf < 0 || lf >= end ? end : lf
          if (this.line.length + stop - p > MAX_LINE) throw malformed('a chunk-size or trailer line is too long')
          this.line += latin1(b, p, stop)
          p = stop
          if (stop === end) break
          p++
          const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line
          this.line = ''
          if (this.state === State.Trailer) {
            if (line === '') this.state = State.Done
          } else this.startChunk(line)
          break
        }
      }
    }
    this.used = p
    return w
  }

  private startChunk(line: string) {
    const semi = line.indexOf(';')
    const hex = (semi < 0 ? line : line.slice(0, semi)).trim()
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw malformed('a chunk-size line is malformed')
    this.left = Number.parseInt(hex, 16)
    this.state = this.left === 0 ? State.Trailer : State.Data
  }
}

function latin1(b: Uint8Array, from: number, to: number): string {
  let s = ''
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i] as number)
  return s
}

const malformed = (message: string) => protocolError('InvalidHTTPResponse', `the upstream's chunked body is malformed: ${message}`)
