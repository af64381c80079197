// Bun's fetch runs at most 256 requests at once unless BUN_CONFIG_MAX_HTTP_REQUESTS is set when the process starts;
// `serve` re-executes itself once with it set (src/fetch-cap.ts). Shown on the real process — the compiled binary and
// `bun src/main.ts` — because `bun test` runs under the cap itself: an in-process gateway cannot show it. The clients
// use raw sockets (no fetch, so no cap in this process either); the fake upstream holds every request until let go.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { copyBinaryAlone, ensureBinary, run, startBinary, type RunningBinary } from '../support/binary'
import { MAIN } from '../support/cli'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { type RawResponse, rawRequest } from '../support/raw-http'
import { waitFor } from '../support/wait'

let bin: { dir: string; path: string }
const dirs: string[] = []

beforeAll(async () => {
  await ensureBinary()
  bin = copyBinaryAlone()
  dirs.push(bin.dir)
}, 300_000)

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** An environment of our own: nothing of the test runner's (no AGENTGATE_*, no BUN_*), plus `extra`. */
function cleanHome(extra: Record<string, string> = {}): { cwd: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'agentgate-fetch-cap-'))
  dirs.push(home)
  return { cwd: home, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home, ...extra } }
}

/** A held upstream: every model call waits until release() (the listing of models answers at once). */
function heldUpstream(): { upstream: FakeUpstream; release: () => void; arrived: () => number } {
  let release!: () => void
  const until = new Promise<void>((r) => (release = r))
  const upstream = startFakeUpstream({ defaultReply: { fault: 'hold', until } })
  return { upstream, release, arrived: () => upstream.requestsTo('/v1/responses').length }
}

/** One streamed turn over its own socket; resolves when the gateway has sent the whole SSE answer. */
function streamedTurn(gw: RunningBinary, i: number): Promise<RawResponse> {
  const body = JSON.stringify({ model: 'test-model', input: `turn ${i}`, stream: true })
  const head = `POST /v1/responses HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: ${Buffer.byteLength(body)}`
  return rawRequest(Number(new URL(gw.url).port), head, { body, timeoutMs: 90_000 })
}

/** The NUL-separated /proc list of a process (environ, cmdline). */
const procList = (pid: number, what: string) => readFileSync(`/proc/${pid}/${what}`, 'latin1').split('\0').filter(Boolean)

/** The JSON log line with this msg on the gateway's stderr. */
function logLine(gw: RunningBinary, msg: string): Record<string, unknown> | undefined {
  for (const line of gw.stderr().split('\n'))
    if (line.includes(`"msg":${JSON.stringify(msg)}`)) return JSON.parse(line) as Record<string, unknown>
  return undefined
}

/**
 * Starts serve and waits for its report on the upstream's models, which comes after the start has finished (signal
 * handlers in place, the "started" line written).
 */
async function startServe(command: string[], upstream: FakeUpstream, at: { cwd: string; env: Record<string, string> }) {
  const gw = await startBinary(command[0]!, [...command.slice(1), 'serve', '--port', '0', '--upstream', upstream.url], {
    ...at,
    timeoutMs: 30_000,
  })
  await waitFor('the upstream answering line', () => logLine(gw, 'upstream answering'), 10_000).catch(async (e) => {
    await gw.stop()
    throw new Error(`${e.message}; stderr: ${gw.stderr()}`)
  })
  return gw
}

const launchers = [
  { name: 'the compiled binary', command: () => [bin.path], comm: () => basename(bin.path) },
  { name: 'bun src/main.ts', command: () => [process.execPath, MAIN], comm: () => basename(process.execPath).slice(0, 15) },
]

describe.each(launchers)('serve started as $name', ({ command, comm }) => {
  test('300 concurrent streamed turns all reach the upstream at once; SIGTERM then lets them finish and exits 0', async () => {
    const TURNS = 300
    const { upstream, release, arrived } = heldUpstream()
    const { cwd, env } = cleanHome()
    const gw = await startServe(command(), upstream, { cwd, env })
    try {
      // The process that listens is the one started (execve keeps the PID), under its own name, with exactly the
      // environment it was given plus the variables (the fetch cap, the allocator's purge delay): nothing else leaks in
      // (NODE_ENV), and each was set once.
      const environ = procList(gw.pid, 'environ')
      expect(environ.toSorted()).toEqual(
        [...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'BUN_CONFIG_MAX_HTTP_REQUESTS=4096', 'MIMALLOC_PURGE_DELAY=5000'].toSorted(),
      )
      expect(procList(gw.pid, 'cmdline')).toEqual([...command(), 'serve', '--port', '0', '--upstream', upstream.url])
      expect(readFileSync(`/proc/${gw.pid}/comm`, 'utf8').trim()).toBe(comm())
      expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 4096 })

      const turns = Array.from({ length: TURNS }, (_, i) => streamedTurn(gw, i))
      await waitFor(`${TURNS} model calls held at the upstream at once`, () => arrived() >= TURNS, 60_000).catch((e) => {
        throw new Error(`${e.message}: ${arrived()} arrived`)
      })
      expect(arrived()).toBe(TURNS)

      // The signal reaches the re-executed process's own handler: a drain that lets the running turns finish.
      process.kill(gw.pid, 'SIGTERM')
      await waitFor('the drain to start', () => logLine(gw, 'shutting down: no new turns; running ones may finish'), 10_000)
      release()
      const answers = await Promise.all(turns)
      expect(answers.filter((a) => a.status === 200 && a.body.includes('"type":"response.completed"')).length).toBe(TURNS)
      expect(await gw.exited).toBe(0)
      expect(logLine(gw, 'shut down')).toMatchObject({ turns_finished: TURNS })
    } finally {
      release()
      await gw.stop(2_000)
      await upstream.stop()
    }
  }, 180_000)

  test("an operator's own BUN_CONFIG_MAX_HTTP_REQUESTS is kept: with 260, the 261st turn waits for a free slot", async () => {
    const { upstream, release, arrived } = heldUpstream()
    const { cwd, env } = cleanHome({ BUN_CONFIG_MAX_HTTP_REQUESTS: '260' })
    const gw = await startServe(command(), upstream, { cwd, env })
    try {
      // still re-executed for the variable the operator left unset, their own kept as it is
      const environ = procList(gw.pid, 'environ')
      expect(environ).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=260')
      expect(environ).toContain('MIMALLOC_PURGE_DELAY=5000')
      expect(environ.filter((e) => e.startsWith('BUN_CONFIG_MAX_HTTP_REQUESTS='))).toHaveLength(1)
      expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 260 })
      const turns = Array.from({ length: 270 }, (_, i) => streamedTurn(gw, i))
      await waitFor('260 model calls held at the upstream', () => arrived() >= 260, 60_000)
      // Past the operator's cap nothing more arrives while the slots are held (a wait that can only let a bug pass,
      // never fail a correct gateway), and once they are let go every turn runs.
      await Bun.sleep(1_000)
      expect(arrived()).toBe(260)
      release()
      const answers = await Promise.all(turns)
      expect(answers.filter((a) => a.status === 200 && a.body.includes('"type":"response.completed"')).length).toBe(270)
      expect(arrived()).toBe(270)
    } finally {
      release()
      expect(await gw.stop()).toBe(0)
      await upstream.stop()
    }
  }, 180_000)
})

test("under Bun's CPU profiler serve is not re-executed (a sample's SIGPWR pending at execve kills the new image): it runs with 256 and says so", async () => {
  const upstream = startFakeUpstream()
  const { cwd, env } = cleanHome()
  const gw = await startServe([process.execPath, '--cpu-prof', `--cpu-prof-dir=${cwd}`, MAIN], upstream, { cwd, env })
  try {
    const environ = procList(gw.pid, 'environ')
    expect(environ.some((e) => e.startsWith('BUN_CONFIG_MAX_HTTP_REQUESTS=') || e.startsWith('MIMALLOC_PURGE_DELAY='))).toBe(false)
    expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 256 })
    expect(
      logLine(gw, "not restarted with BUN_CONFIG_MAX_HTTP_REQUESTS set: turns past Bun's default wait for a free upstream slot"),
    ).toMatchObject({
      level: 'warn',
    })
  } finally {
    expect(await gw.stop()).toBe(0)
    await upstream.stop()
  }
}, 60_000)

describe('the compiled binary', () => {
  test.each<{ what: string; given: Record<string, string>; added: string[]; cap: number }>([
    {
      what: "an operator's own MIMALLOC_PURGE_DELAY is kept; the restart adds only the fetch cap",
      given: { MIMALLOC_PURGE_DELAY: '250' },
      added: ['BUN_CONFIG_MAX_HTTP_REQUESTS=4096'],
      cap: 4096,
    },
    {
      what: 'with both variables set nothing restarts: the environment is exactly the one given',
      given: { MIMALLOC_PURGE_DELAY: '100', BUN_CONFIG_MAX_HTTP_REQUESTS: '300' },
      added: [],
      cap: 300,
    },
  ])(
    '$what',
    async ({ given, added, cap }) => {
      const upstream = startFakeUpstream()
      const { cwd, env } = cleanHome(given)
      const gw = await startServe([bin.path], upstream, { cwd, env })
      try {
        const expected = [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...added]
        expect(procList(gw.pid, 'environ').toSorted()).toEqual(expected.toSorted())
        expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: cap })
      } finally {
        expect(await gw.stop()).toBe(0)
        await upstream.stop()
      }
    },
    60_000,
  )

  test.each<{ what: string; given: Record<string, string> }>([
    // read from process.env (ASCII): NODE_ENV as given, not the production-env.ts default that process.env holds by then
    { what: 'a NODE_ENV of its own is passed on as given', given: { NODE_ENV: 'staging', X_QUOTED: `a "b" c=d` } },
    // beyond ASCII the arguments and environment are read from /proc, bytes as they are
    { what: 'a value beyond ASCII (valid UTF-8) is passed on byte for byte', given: { NODE_ENV: 'staging', GREETING: 'grüße ✓' } },
  ])(
    '$what, with the fetch cap and the purge delay added',
    async ({ given }) => {
      const upstream = startFakeUpstream()
      const { cwd, env } = cleanHome(given)
      const gw = await startServe([bin.path], upstream, { cwd, env })
      try {
        const environ = readFileSync(`/proc/${gw.pid}/environ`, 'utf8').split('\0').filter(Boolean)
        const expected = [
          ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
          'BUN_CONFIG_MAX_HTTP_REQUESTS=4096',
          'MIMALLOC_PURGE_DELAY=5000',
        ]
        expect(environ.toSorted()).toEqual(expected.toSorted())
        expect(procList(gw.pid, 'cmdline')).toEqual([bin.path, 'serve', '--port', '0', '--upstream', upstream.url])
        expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 4096 })
      } finally {
        expect(await gw.stop()).toBe(0)
        await upstream.stop()
      }
    },
    60_000,
  )

  test('a value Bun does not take is left as it is, and serve says it runs with 256', async () => {
    const upstream = startFakeUpstream()
    const { cwd, env } = cleanHome({ BUN_CONFIG_MAX_HTTP_REQUESTS: '70000' })
    const gw = await startServe([bin.path], upstream, { cwd, env })
    try {
      expect(procList(gw.pid, 'environ')).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=70000')
      expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 256 })
      expect(logLine(gw, 'BUN_CONFIG_MAX_HTTP_REQUESTS is not a whole number from 1 to 65535: Bun keeps its default')).toMatchObject({
        level: 'warn',
        value: '70000',
        max_upstream_requests: 256,
      })
    } finally {
      expect(await gw.stop()).toBe(0)
      await upstream.stop()
    }
  }, 60_000)

  test('an environment that is not valid UTF-8 cannot be passed on as it is: serve goes on with 256 and warns', async () => {
    const upstream = startFakeUpstream()
    const { cwd, env } = cleanHome()
    // the shell puts a lone 0xFF byte into the environment, then becomes the gateway (same PID)
    const script = `X_NOT_UTF8="$(printf '\\377')" exec "$0" serve --port 0 --upstream "$1"`
    const gw = await startBinary('/bin/sh', ['-c', script, bin.path, upstream.url], { cwd, env, timeoutMs: 30_000 })
    try {
      await waitFor('the upstream answering line', () => logLine(gw, 'upstream answering'), 10_000)
      expect(procList(gw.pid, 'environ').some((e) => e.startsWith('BUN_CONFIG_MAX_HTTP_REQUESTS='))).toBe(false)
      expect(logLine(gw, 'started')).toMatchObject({ max_upstream_requests: 256 })
      expect(
        logLine(gw, "not restarted with BUN_CONFIG_MAX_HTTP_REQUESTS set: turns past Bun's default wait for a free upstream slot"),
      ).toMatchObject({ level: 'warn', max_upstream_requests: 256 })
    } finally {
      expect(await gw.stop()).toBe(0)
      await upstream.stop()
    }
  }, 60_000)

  test('a bad setting still exits 2 with one line, and serve --help exits 0 naming the variable', async () => {
    const { cwd, env } = cleanHome()
    const bad = await run([bin.path, 'serve', '--port', 'abc'], { cwd, env })
    expect({ code: bad.code, lines: bad.stderr.trim().split('\n').length }).toEqual({ code: 2, lines: 1 })
    expect(bad.stderr).toContain('--port')
    const help = await run([bin.path, 'serve', '--help'], { cwd, env })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=N')
  }, 60_000)
})
