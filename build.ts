#!/usr/bin/env bun
// Builds agentgate into one self-contained executable with `bun build --compile` (via Bun.build):
// the Bun runtime, the app, the Swagger UI assets and the SQL migrations, nothing read from disk.
//
//   bun run build.ts                                  → dist/agentgate for this machine
//   bun run build.ts --target linux-arm64,darwin-arm64 → also dist/agentgate-<target> for each
//   bun run build.ts --all                            → every supported target

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'

const ROOT = import.meta.dir
const ENTRY = join(ROOT, 'src/main.ts')
const DEFAULT_OUTDIR = join(ROOT, 'dist')

/** Targets for `--all`; names are Bun's compile targets without the `bun-` prefix. */
const ALL_TARGETS = [
  'linux-x64',
  'linux-arm64',
  'linux-x64-musl',
  'linux-arm64-musl',
  'linux-x64-baseline',
  'darwin-x64',
  'darwin-arm64',
  'windows-x64',
] as const

const HELP = `Usage: bun run build.ts [options]

Builds dist/agentgate, a self-contained executable for this machine (${hostTarget()}),
with --minify --bytecode --splitting --sourcemap, NODE_ENV=production, no .env/bunfig.toml autoloading,
and the bytecode laid out by a recorded start (it is compiled, started once, and compiled again).

Options:
  --target T1,T2   also cross-compile for these targets into dist/agentgate-<target>
                   (${ALL_TARGETS.join(', ')})
  --all            cross-compile for every target above
  --outdir DIR     output directory (default: dist)
  --no-native      skip dist/agentgate (only the --target builds)
  --help           this help

Cross-compiling downloads the Bun runtime for the target from the npm registry on first use.
`

function hostTarget(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform
  return `${os}-${process.arch}`
}

interface Options {
  targets: string[]
  outdir: string
  native: boolean
}

function parseOptions(argv: string[]): Options | null {
  const opts: Options = { targets: [], outdir: DEFAULT_OUTDIR, native: true }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (!v) fail(`${name} needs a value`)
      return v
    }
    switch (name) {
      case '--help':
      case '-h':
        return null
      case '--target':
      case '--targets':
        opts.targets.push(
          ...value()
            .split(',')
            .map((t) => t.trim().replace(/^bun-/, ''))
            .filter(Boolean),
        )
        break
      case '--all':
        opts.targets.push(...ALL_TARGETS)
        break
      case '--outdir':
        opts.outdir = resolve(value())
        break
      case '--no-native':
        opts.native = false
        break
      default:
        fail(`unknown option ${a} (see --help)`)
    }
  }
  for (const t of opts.targets) {
    if (!/^(linux|darwin|windows)-(x64|arm64)(-(baseline|modern))?(-(musl|glibc))?$/.test(t))
      fail(`unknown target "${t}" (known: ${ALL_TARGETS.join(', ')})`)
  }
  opts.targets = [...new Set(opts.targets)]
  return opts
}

function fail(message: string): never {
  process.stderr.write(`build: ${message}\n`)
  process.exit(2)
}

/**
 * How the app is bundled into the executable (compile() adds minification, bytecode, the source map and the
 * executable's settings). ESM with code splitting: what only some runs use (the OpenAPI document, the MCP SDK and
 * zod, jose, the PostgreSQL store, doctor, the launchers) goes into chunks of its own, loaded by its dynamic import().
 * A single-file (CommonJS) bundle had the executable load the bytecode of all of it at every start: about 6 ms of CPU
 * before the first line of the CLI ran. test/binary/startup-chunks.test.ts checks what serve's start-up loads.
 */
export const BUNDLE = {
  entrypoints: [ENTRY],
  target: 'bun',
  format: 'esm',
  splitting: true,
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
} satisfies Bun.BuildConfig

/**
 * The JIT policy the executable starts with (see compile.jitPolicy below and cli.ts): tier-up thresholds ×1000, so no
 * start-up code reaches the JIT before serve listens. At ×20 some still did: both JIT worker threads were started and
 * compiling before the "listening" line; at ×1000 they start after it. Compiled serve, 20 alternating starts on the
 * busy afternoon VM: spawn → "listening" 122.9 → 116.9 ms (median), CPU 142 → 133 ms, 3820 → 3756 page faults.
 */
const STARTUP_JIT_POLICY = 1000

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

/** One `bun build --compile` run. `target` null = this machine. `order`: a recordStartOrder() file, or null. */
async function compile(target: string | null, outfile: string, order: string | null): Promise<void> {
  const label = target ?? `${hostTarget()} (native)`
  const started = performance.now()
  process.stdout.write(`build: compiling ${relative(ROOT, ENTRY)} for ${label} → ${relative(process.cwd(), outfile) || outfile}\n`)
  const result = await Bun.build({
    ...BUNDLE,
    minify: true,
    bytecode: true,
    sourcemap: 'linked',
    compile: {
      ...(target ? { target: `bun-${target}` as Bun.Build.CompileTarget } : {}),
      outfile,
      // A gateway must not pick up a stray .env or bunfig.toml from wherever it is started.
      autoloadDotenv: false,
      autoloadBunfig: false,
      // The JIT holds back (tier-up thresholds ×1000) until cli.ts sets the normal policy (serve: once it listens).
      // Start-up code runs once; compiling it kept two JIT threads busy for 10–15 ms of CPU during every start, on
      // the cores the start itself needs, and left the optimizing compilers' code resident.
      jitPolicy: STARTUP_JIT_POLICY,
      // The bytecode a start runs laid out together at the front: a start reads fewer pages of the executable.
      bytecodeOrder: order,
    },
  })
  if (!result.success) {
    for (const log of result.logs) process.stderr.write(`${log}\n`)
    throw new Error(`build for ${label} failed`)
  }
  for (const log of result.logs) if (log.level === 'warning') process.stderr.write(`build: warning: ${log.message}\n`)
  const file = outfile + (target?.startsWith('windows') && !outfile.endsWith('.exe') ? '.exe' : '')
  const size = statSync(file).size
  process.stdout.write(
    `build: wrote ${relative(process.cwd(), file) || file} (${mb(size)}, ${size} bytes) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  )
}

/** Runs the fresh binary once: a build that cannot start must not look like a success. */
async function verify(file: string): Promise<void> {
  chmodSync(file, 0o755)
  const started = performance.now()
  const proc = Bun.spawn([file, '--version'], { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, NODE_ENV: '' } })
  const timer = setTimeout(() => proc.kill(), 20_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  if (code !== 0 || !/^agentgate \S+/.test(out)) throw new Error(`${file} --version failed (exit ${code}): ${(out + err).trim()}`)
  process.stdout.write(
    `build: verified: ${relative(process.cwd(), file)} --version → ${out.trim()} (${Math.round(performance.now() - started)} ms)\n`,
  )
}

/**
 * Starts the fresh executable as `serve` with BUN_BYTECODE_ORDER_OUT (a temporary home, a free loopback port, an
 * upstream nothing listens on), sends it one request of each common kind and stops it. The file it writes names the
 * functions a start and a first request run; compiled again with it (bytecodeOrder), the executable has that bytecode
 * together at the front and a start touches fewer of its pages (about 2.5 MiB less resident memory when idle).
 */
async function recordStartOrder(file: string, home: string): Promise<string> {
  const order = join(home, 'bytecode-order.txt')
  const proc = Bun.spawn(
    [file, 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', 'http://127.0.0.1:9/v1', '--log-level', 'error'],
    {
      cwd: home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home, BUN_BYTECODE_ORDER_OUT: order },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
  try {
    const reader = proc.stdout.getReader()
    let out = ''
    while (!/listening on \S+\n/.test(out)) {
      const r = await reader.read()
      if (r.done) throw new Error(`${file} serve exited before listening: ${(await new Response(proc.stderr).text()).trim()}`)
      out += new TextDecoder().decode(r.value)
    }
    const url = out.match(/listening on (\S+)\n/)![1]
    const turn = (stream: boolean) => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', input: 'hi', stream }),
    })
    for (const [path, init] of [['/health'], ['/v1/models'], ['/v1/responses', turn(false)], ['/v1/responses', turn(true)]] as const)
      await fetch(url + path, init).then((r) => r.arrayBuffer())
  } finally {
    proc.kill('SIGTERM')
    await proc.exited
    clearTimeout(timer)
  }
  if (!existsSync(order)) throw new Error(`${file} serve wrote no bytecode order (BUN_BYTECODE_ORDER_OUT)`)
  process.stdout.write(`build: recorded which bytecode a start runs (${statSync(order).size} bytes)\n`)
  return order
}

/**
 * The source maps of the code-split chunks an earlier build left in `outdir`. Their names carry a content hash, so each
 * build that changed the code wrote new ones beside the old (about 7 MB a build; a day's work left 190 MB). The build
 * about to run writes every map its executables need again.
 */
export function staleChunkMaps(names: string[]): string[] {
  return names.filter((n) => /^chunk-[0-9a-z]+\.js\.map$/.test(n))
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2))
  if (!opts) {
    process.stdout.write(HELP)
    return 0
  }
  mkdirSync(opts.outdir, { recursive: true })
  for (const name of staleChunkMaps(readdirSync(opts.outdir))) rmSync(join(opts.outdir, name), { force: true })
  const home = mkdtempSync(join(tmpdir(), 'agentgate-build-'))
  try {
    // Twice for this machine: the first executable's start is recorded (recordStartOrder), the second is laid out by
    // it. Cross-compiled targets use that record too (the same code); without a native build they go without.
    let order: string | null = null
    if (opts.native) {
      const out = join(opts.outdir, 'agentgate')
      await compile(null, out, null)
      await verify(out)
      order = await recordStartOrder(out, home)
      await compile(null, out, order)
      await verify(out)
    }
    for (const target of opts.targets) {
      const out = join(opts.outdir, `agentgate-${target}`)
      await compile(target, out, order)
      // A binary for this very machine can be run; others can't be here.
      if (target === hostTarget() && process.platform !== 'win32') await verify(out)
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
  return 0
}

// Imported by a test for BUNDLE: builds only when run.
if (import.meta.main)
  main().then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`build: ${e?.message ?? e}\n`)
      process.exit(1)
    },
  )
