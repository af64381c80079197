// Decodes the one string argument of a freeform tool (`{"input": "…"}`) while its JSON streams in,
// so the client gets deltas of the decoded text (real newlines, quotes) as they arrive, not JSON.
// Escapes split across chunks wait for their second half; a surrogate pair is never split.

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }

export class StreamedStringArgument {
  private raw = ''
  /** where decoding continues in `raw` */
  private pos = 0
  private state: 'seek' | 'string' | 'closed' | 'unstreamable' = 'seek'
  /** a decoded high surrogate waiting for its low half */
  private held = ''
  /** decoded text handed out so far */
  emitted = ''

  /** Feeds the next chunk of the JSON arguments; returns the newly decoded text (maybe ''). */
  push(chunk: string): string {
    this.raw += chunk
    if (this.state === 'seek') this.seek()
    if (this.state !== 'string') return ''
    const text = this.decode()
    this.emitted += text
    return text
  }

  /**
   * The final input from the complete arguments, and the part of it not yet handed out. Complete
   * arguments that are not a JSON object with a string value are taken as the raw input itself (a model
   * that skipped the JSON wrapping).
   */
  finish(fullArguments: string | null): { input: string; rest: string } {
    const args = fullArguments ?? this.raw
    let input: string | null = null
    try {
      const v = JSON.parse(args)
      if (typeof v === 'string') input = v
      else if (v && typeof v === 'object' && !Array.isArray(v)) {
        if (typeof v.input === 'string') input = v.input
        else input = (Object.values(v).find((x) => typeof x === 'string') as string | undefined) ?? null
      }
    } catch {}
    if (input === null) input = this.state === 'closed' ? this.emitted : args
    const rest = input.startsWith(this.emitted) ? input.slice(this.emitted.length) : ''
    this.emitted = input
    return { input, rest }
  }

  /** Finds the opening quote of the first property's string value: `{ "key" : "`. */
  private seek() {
    const s = this.raw
    let i = skipWs(s, 0)
    if (i >= s.length) return
    if (s[i] !== '{') return this.giveUp()
    i = skipWs(s, i + 1)
    if (i >= s.length) return
    if (s[i] !== '"') return this.giveUp()
    // the key
    i++
    for (;;) {
      if (i >= s.length) return
      if (s[i] === '\\') i += 2
      else if (s[i] === '"') break
      else i++
    }
    i = skipWs(s, i + 1)
    if (i >= s.length) return
    if (s[i] !== ':') return this.giveUp()
    i = skipWs(s, i + 1)
    if (i >= s.length) return
    if (s[i] !== '"') return this.giveUp()
    this.pos = i + 1
    this.state = 'string'
  }

  private giveUp() {
    this.state = 'unstreamable'
  }

  private decode(): string {
    const s = this.raw
    let out = ''
    let i = this.pos
    const put = (unit: string) => {
      const code = unit.charCodeAt(0)
      if (this.held) {
        out += this.held
        this.held = ''
      }
      if (unit.length === 1 && code >= 0xd800 && code <= 0xdbff) this.held = unit
      else out += unit
    }
    while (i < s.length) {
      const ch = s[i]!
      if (ch === '"') {
        this.state = 'closed'
        i++
        break
      }
      if (ch !== '\\') {
        put(ch)
        i++
        continue
      }
      if (i + 1 >= s.length) break
      const e = s[i + 1]!
      if (e === 'u') {
        if (i + 6 > s.length) break
        const hex = s.slice(i + 2, i + 6)
        put(/^[0-9a-fA-F]{4}$/.test(hex) ? String.fromCharCode(parseInt(hex, 16)) : hex)
        i += 6
        continue
      }
      put(ESCAPES[e] ?? e)
      i += 2
    }
    this.pos = i
    if (this.state === 'closed' && this.held) {
      out += this.held
      this.held = ''
    }
    return out
  }
}

function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++
  return i
}
