// Bun's cap on fetch requests in flight (BUN_CONFIG_MAX_HTTP_REQUESTS, default 256): `serve` raises it for its upstream
// calls by re-executing itself once, first thing, with the variable set — unless the operator set it. The same
// re-execution sets the allocator's purge delay (allocator-env.ts), which is read only at start too.
//
// Bun reads the variable once while the runtime boots, before any of our code runs, and offers no way to change it
// afterwards (neither process.env nor libc setenv before the first fetch moves it), so only the environment a process
// starts with counts. Past the cap, turns wait for a free slot before their model call starts: a gateway in front of
// vLLM, which serves hundreds of sequences at once, must not queue the 257th concurrent turn behind a runtime default.
// execve keeps the PID, stdin/stdout/stderr, the working directory and the signal dispositions a supervisor set, so
// nothing is left behind as a parent; the cost is one more runtime boot, paid before anything is loaded: a few ms on a
// fast machine, 46 ms of spawn → "listening" and ~950 page faults on a VM where a fault costs ~14 µs (with the /proc
// reads startedWith now skips; a bare Bun boot is ~700 faults). An operator who sets both variables skips it.
import { PURGE_DELAY_VARIABLE, SERVE_PURGE_DELAY_MS } from './allocator-env'
import type { Logger } from './log'
import { NODE_ENV_AT_START } from './production-env'

export const FETCH_CAP_VARIABLE = 'BUN_CONFIG_MAX_HTTP_REQUESTS'

/**
 * Upstream requests in flight that `serve` allows unless the operator sets the variable. Above what one gateway process
 * can relay at LLM token rates (the benchmark's 500 streams at 50 tokens/s take about a core and a half), so the
 * upstream (vLLM queues and schedules requests itself) is what bounds concurrency, not this; still a bound, so a runaway
 * client meets Bun's queue rather than running the process out of sockets.
 */
export const SERVE_FETCH_CAP = 4096

/** Bun's own default, and what it keeps for a value it does not take. */
export const BUN_FETCH_CAP = 256

/**
 * The cap Bun runs with, given the environment the process started with: a whole number 1–65535 (Bun parses it as a
 * 16-bit integer: an optional `+`, digits, `_` between digits), else Bun's default.
 */
export function fetchCapOf(env: Record<string, string | undefined>): { cap: number; ignored?: string } {
  const raw = env[FETCH_CAP_VARIABLE]
  if (raw === undefined) return { cap: BUN_FETCH_CAP }
  const n = /^\+?\d(?:_?\d)*$/.test(raw) ? Number(raw.replace(/[+_]/g, '')) : NaN
  return n >= 1 && n <= 65535 ? { cap: n } : { cap: BUN_FETCH_CAP, ignored: raw }
}

/**
 * Whether these arguments (process.argv without the runtime and script) run `serve`: no command or `serve`, and no
 * --help or -h. Mirrors cli.ts's dispatch; the other commands (doctor, prune, the launchers' one-user gateway) and
 * --version/--help stay as they start.
 */
export function runsServe(argv: readonly string[]): boolean {
  const first = argv[0]
  if (first !== undefined && first !== 'serve' && !first.startsWith('-')) return false
  if (first === '-v' || first === '--version') return false
  const end = argv.indexOf('--')
  return !(end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')
}

/** What serve's runtime reads only at start, and the value serve starts it with when the operator has not set it. */
const SERVE_ENVIRONMENT: Record<string, string> = {
  [FETCH_CAP_VARIABLE]: String(SERVE_FETCH_CAP),
  [PURGE_DELAY_VARIABLE]: String(SERVE_PURGE_DELAY_MS),
}

/** The variables of SERVE_ENVIRONMENT that `env` lacks, with serve's values; empty: nothing to add (no re-execution). */
export function serveEnvironmentMissing(env: Record<string, string | undefined>): Record<string, string> {
  const missing: Record<string, string> = {}
  for (const [name, value] of Object.entries(SERVE_ENVIRONMENT)) if (env[name] === undefined) missing[name] = value
  return missing
}

/** Bytes 0–127 only: what Bun's process.argv and process.env hold as the very bytes the process was started with. */
const ASCII = /^[\x00-\x7f]*$/

/**
 * The arguments and environment the process started with, read from `argv` (process.argv), `argv0` (process.argv0) and
 * `env` (process.env), where those are them byte for byte: the compiled executable (Bun's argv is the runtime, the
 * bundle's path under /$bunfs/, then the arguments; argv0 is the first argument as given) with every argument, name and
 * value ASCII (other bytes Bun has decoded, and they could come back re-encoded). NODE_ENV as it was before
 * production-env.ts set it (`nodeEnv`; undefined: unset). Null otherwise: then they are read from /proc, as before.
 * What this process does before execve adds to every serve start: Bun.file's two reads of /proc took 4–9 ms and ~115
 * page faults (one costs ~14 µs on the benchmark's VM), and the compiled serve's spawn → "listening" went from 140 to
 * 123 ms (median of 20 alternating starts, 235 faults fewer) without them. A name given twice in the environment is
 * passed on as Bun reads it (the last); the /proc path keeps the first.
 */
export function startedWith(
  argv: readonly string[],
  argv0: string,
  env: Record<string, string | undefined>,
  nodeEnv: string | undefined,
): { args: string[]; env: Record<string, string> } | null {
  if (!argv[1]?.startsWith('/$bunfs/') || !argv0) return null
  const args = [argv0, ...argv.slice(2)]
  if (!args.every((a) => ASCII.test(a))) return null
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !ASCII.test(name) || !ASCII.test(value)) return null
    out[name] = value
  }
  if (nodeEnv === undefined) delete out.NODE_ENV
  else out.NODE_ENV = nodeEnv
  return { args, env: out }
}

/**
 * A NUL-separated /proc list (cmdline, environ) as strings; null when unreadable or not valid UTF-8 (it could not be
 * passed on as it is). Bun.file, not node:fs: loading node:fs costs a start about 2 ms, and this process loads nothing
 * else before it is replaced.
 */
async function procList(path: string): Promise<string[] | null> {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(await Bun.file(path).bytes())
    return text.split('\0').slice(0, text.endsWith('\0') ? -1 : undefined)
  } catch {
    return null
  }
}

/** The arguments and environment the process started with, from /proc (any bytes that are valid UTF-8); null if unreadable. */
async function startedFromProc(): Promise<{ args: string[]; env: Record<string, string> } | null> {
  const [args, environ] = await Promise.all([procList('/proc/self/cmdline'), procList('/proc/self/environ')])
  if (!args?.length || !environ) return null
  const env: Record<string, string> = {}
  for (const entry of environ) {
    const eq = entry.indexOf('=')
    if (eq > 0) env[entry.slice(0, eq)] ??= entry.slice(eq + 1)
  }
  return { args, env }
}

/**
 * The file this process runs, by its own path (process.execPath, which Bun reads from /proc/self/exe): the kernel names
 * the process after the file name it is started from (what ps, top and pkill show), and /proc/self/exe itself would
 * rename it "exe" (a start through a symlink takes the name of the file it points to). That link is still the way to
 * this very executable when its file was removed since the start.
 */
function executablePath(): string {
  const path = process.execPath
  return path && !path.endsWith(' (deleted)') ? path : '/proc/self/exe'
}

/**
 * For `serve` on Linux with a variable of SERVE_ENVIRONMENT unset: replaces this process (same PID) with the same
 * executable, arguments and starting environment plus the unset ones (BUN_CONFIG_MAX_HTTP_REQUESTS=SERVE_FETCH_CAP,
 * MIMALLOC_PURGE_DELAY=SERVE_PURGE_DELAY_MS); a variable already set keeps its value. Returns only when it does not
 * re-execute: not serve, not Linux, every variable already set (the operator's values, or this is the re-executed
 * process: no loop), under Bun's CPU profiler, /proc unreadable or not valid UTF-8, or execve failed — then the
 * process goes on with Bun's defaults, and the "started" line says which fetch cap it runs with.
 */
export async function reexecWithServeEnvironment(argv: readonly string[]): Promise<void> {
  if (process.platform !== 'linux' || !runsServe(argv) || !process.execve) return
  const missing = serveEnvironmentMissing(process.env)
  if (Object.keys(missing).length === 0) return
  // Bun's CPU profiler (--cpu-prof, also via BUN_OPTIONS) interrupts the main thread with SIGPWR to take its samples;
  // one still pending at execve meets the default action in the new image and kills it (3 starts in 40 here).
  if (process.execArgv.some((a) => a.startsWith('--cpu-prof'))) return
  // The arguments and environment the process was started with, not process.env as it is now (production-env.ts has
  // set NODE_ENV in it, and it would be inherited by the processes the gateway starts).
  const started = startedWith(process.argv, process.argv0, process.env, NODE_ENV_AT_START) ?? (await startedFromProc())
  if (!started) return
  const { args, env } = started
  Object.assign(env, missing)
  try {
    process.execve(executablePath(), args, env)
  } catch {
    // Not replaced (e.g. no permission to execute the file): serve goes on under Bun's default cap.
  }
}

/**
 * Serve's warning when it runs with a cap other than the one asked for: the operator's value is one Bun ignores, or on
 * Linux the re-execution did not happen (the variable is still unset here: a CPU profiler, /proc unreadable, execve
 * refused). Elsewhere the "started" line's max_upstream_requests says 256 and README's Limits says how to raise it.
 */
export function warnAboutFetchCap(logger: Pick<Logger, 'warn'>, env: Record<string, string | undefined>, platform: string): void {
  const { cap, ignored } = fetchCapOf(env)
  if (ignored !== undefined)
    logger.warn(`${FETCH_CAP_VARIABLE} is not a whole number from 1 to 65535: Bun keeps its default`, {
      value: ignored,
      max_upstream_requests: cap,
    })
  else if (platform === 'linux' && env[FETCH_CAP_VARIABLE] === undefined)
    logger.warn(`not restarted with ${FETCH_CAP_VARIABLE} set: turns past Bun's default wait for a free upstream slot`, {
      max_upstream_requests: cap,
    })
}
