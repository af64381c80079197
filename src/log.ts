// Structured, quiet-by-default logging: one JSON object per line on stderr.
// Secrets never go through here: callers log ids and sizes, not headers or bodies.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

export interface Logger {
  level: LogLevel
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }))
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

/** A logger that adds `fields` to every line (e.g. a turn's response_id and request_id); a line's own fields win. */
export function withFields(logger: Logger, fields: Record<string, unknown>): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent'>) => (m: string, f?: Record<string, unknown>) => {
    if (rank[lvl] >= rank[logger.level]) logger[lvl](m, f ? { ...fields, ...f } : fields)
  }
  return { level: logger.level, debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
