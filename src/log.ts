// Structured, quiet-by-default logging on stderr: one JSON object per line for machines, or (on a terminal, or with
// --log-format text) one readable line — time, level, message, then the fields as key=value.
// Secrets never go through here: callers log ids and sizes, not headers or bodies.

import { fstatSync, statSync, writeSync } from 'node:fs'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

/** The --log-format setting: auto is text on a terminal, JSON otherwise. */
export type LogFormatSetting = 'auto' | 'json' | 'text'
export type LogFormat = 'json' | 'text'

/** The format lines are written in, given the setting and whether stderr is a terminal. */
export function resolveLogFormat(setting: LogFormatSetting, stderrIsTTY: boolean): LogFormat {
  return setting === 'auto' ? (stderrIsTTY ? 'text' : 'json') : setting
}

/**
 * Whether stderr is a terminal (what --log-format auto asks). node:tty's isatty answers, but loading that module costs
 * a start about 1.4 ms, so what plainly is not a terminal is told by a stat: anything but a character device (a pipe,
 * a file, a socket), or /dev/null.
 */
export function stderrIsTerminal(): boolean {
  try {
    const st = fstatSync(2)
    if (!st.isCharacterDevice()) return false
    if (st.rdev === statSync('/dev/null').rdev) return false
  } catch {
    // no stat for fd 2 or no /dev/null (Windows): isatty decides
  }
  return (require('node:tty') as typeof import('node:tty')).isatty(2)
}

/** One log line as text: `HH:MM:SS.mmm LEVEL message key=value …` (local time; values quoted when they need it). */
export function formatTextLine(time: Date, level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  const t = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${pad(time.getMilliseconds(), 3)}`
  let line = `${t} ${level.toUpperCase().padEnd(5)} ${msg}`
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue
      line += ` ${k}=${textValue(v)}`
    }
  }
  // One record, one line: a stack trace's newlines are kept visible but escaped.
  return line.replace(/\r?\n/g, '\\n')
}

function textValue(v: unknown): string {
  if (typeof v === 'string') return v !== '' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v)
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' && /^[^\s",=]+$/.test(x))) return v.join(',') || '[]'
  return JSON.stringify(v) ?? String(v)
}

export interface Logger {
  level: LogLevel
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

let stderrQueued = false

/**
 * Writes a line to stderr at once, with a write(2) of its own: on a pipe or file that blocks (what a process gets by
 * default) it is written before this returns, so a line logged just before the process exits is never lost, and a
 * reader that falls behind makes the gateway wait, as Node's stderr does on Linux. process.stderr.write instead
 * queues what a pipe cannot take yet and Bun drops that queue at exit (a slow reader lost the shutdown lines); it
 * also costs every start about 2.5 ms to set up. Only a non-blocking stderr that is full (EAGAIN) hands the rest to
 * process.stderr, and every later line too, so lines stay in order. A line that cannot be written at all (the reader
 * is gone) is dropped: logging never throws.
 */
function writeStderrLine(line: string): void {
  if (stderrQueued) {
    process.stderr.write(line + '\n')
    return
  }
  const bytes = Buffer.from(line + '\n')
  let written = 0
  try {
    while (written < bytes.length) written += writeSync(2, bytes, written)
  } catch (e) {
    if ((e as NodeJS.ErrnoException | null)?.code !== 'EAGAIN') return
    stderrQueued = true
    process.stderr.write(bytes.subarray(written))
  }
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = writeStderrLine,
  format: LogFormat = 'json',
): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return
    const time = new Date()
    write(
      format === 'text' ? formatTextLine(time, lvl, msg, fields) : JSON.stringify({ time: time.toISOString(), level: lvl, msg, ...fields }),
    )
  }
  return {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  }
}

export const silentLogger = createLogger('silent')

/**
 * A logger that adds `fields` to every line (e.g. a turn's response_id and request_id); a line's own fields win.
 * A class: every turn makes one, and its methods on the prototype cost the turn one object instead of a closure per level.
 */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  return new FieldsLogger(logger, fields)
}

class FieldsLogger implements Logger {
  readonly level: LogLevel
  constructor(
    private readonly logger: Logger,
    private readonly fields: Record<string, unknown>,
  ) {
    this.level = logger.level
  }
  debug(m: string, f?: Record<string, unknown>) {
    this.emit('debug', m, f)
  }
  info(m: string, f?: Record<string, unknown>) {
    this.emit('info', m, f)
  }
  warn(m: string, f?: Record<string, unknown>) {
    this.emit('warn', m, f)
  }
  error(m: string, f?: Record<string, unknown>) {
    this.emit('error', m, f)
  }
  private emit(lvl: Exclude<LogLevel, 'silent'>, m: string, f: Record<string, unknown> | undefined) {
    if (rank[lvl] >= rank[this.logger.level]) this.logger[lvl](m, f ? { ...this.fields, ...f } : this.fields)
  }
}
