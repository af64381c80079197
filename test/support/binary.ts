// Builds the compiled executable (once; reused while it is newer than its sources) and runs it as a
// child process with bounded waits: run-to-exit for one-shot commands, start-and-read-the-URL for serve.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const ROOT = join(import.meta.dir, '../..')
export const BINARY = join(ROOT, 'dist/agentgate')

/** Newest modification time (ms) of the files the binary is built from. */
function newestSourceMtime(): number {
  let newest = 0
  const visit = (p: string) => {
    const st = statSync(p)
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name))
    else newest = Math.max(newest, st.mtimeMs)
  }
  for (const p of ['src', 'drizzle', 'patches', 'package.json', 'bun.lock', 'build.ts']) if (existsSync(join(ROOT, p))) visit(join(ROOT, p))
  return newest
}

/** dist/agentgate, rebuilt with build.ts unless it is newer than every source file. */
export async function ensureBinary(timeoutMs = 240_000): Promise<{ path: string; built: boolean; log: string }> {
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs > newestSourceMtime()) return { path: BINARY, built: false, log: '' }
  const r = await run([process.execPath, 'run', join(ROOT, 'build.ts')], { cwd: ROOT, timeoutMs })
  if (r.code !== 0) throw new Error(`bun run build.ts failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`)
  return { path: BINARY, built: true, log: r.stdout }
}

/** Copies the binary alone into a fresh empty directory (nothing next to it: no node_modules, no .map). */
export function copyBinaryAlone(binary = BINARY): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-bin-'))
  const path = join(dir, 'agentgate')
  copyFileSync(binary, path)
  return { dir, path }
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
  timedOut: boolean
}

/** Runs a command to completion; killed (SIGKILL) after timeoutMs. */
export async function run(
  cmd: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env as Record<string, string>, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  let timedOut = false
  const timer = setTimeout(() => {
    timedOut = true
    proc.kill('SIGKILL')
  }, opts.timeoutMs ?? 20_000)
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return { code: timedOut ? null : code, stdout, stderr, timedOut }
}

export interface RunningBinary {
  url: string
  pid: number
  /** ms from spawn to the "listening" line */
  startMs: number
  stdout(): string
  stderr(): string
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit code */
  stop(graceMs?: number): Promise<number | null>
  /** resolves with the exit code when the process exits (for tests that signal it themselves, via pid) */
  exited: Promise<number | null>
}

/** Starts `binary serve ...args` and waits (bounded) for "agentgate listening on URL" on stdout. */
export async function startBinary(
  binary: string,
  args: string[],
  opts: { cwd: string; env: Record<string, string | undefined>; timeoutMs?: number },
): Promise<RunningBinary> {
  const started = performance.now()
  const proc = Bun.spawn([binary, ...args], {
    cwd: opts.cwd,
    env: opts.env as Record<string, string>,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let out = ''
  let err = ''
  const drain = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }))
  }
  let onOut: () => void = () => {}
  void drain(proc.stdout, (s) => {
    out += s
    onOut()
  }).catch(() => {})
  void drain(proc.stderr, (s) => (err += s)).catch(() => {})

  const stop = async (graceMs = 5_000) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
    const code = await proc.exited
    clearTimeout(timer)
    return code
  }

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no "agentgate listening on" line within ${opts.timeoutMs ?? 15_000} ms`)),
      opts.timeoutMs ?? 15_000,
    )
    const done = (e: Error | null, u?: string) => {
      clearTimeout(timer)
      onOut = () => {}
      if (e) reject(e)
      else resolve(u!)
    }
    onOut = () => {
      const m = out.match(/^agentgate listening on (http:\/\/\S+)$/m)
      if (m) done(null, m[1])
    }
    proc.exited.then((code) => done(new Error(`exited with ${code} before listening`)))
  }).catch(async (e) => {
    await stop(1_000)
    throw new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`)
  })

  return { url, pid: proc.pid, startMs: performance.now() - started, stdout: () => out, stderr: () => err, stop, exited: proc.exited }
}
