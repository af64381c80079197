// Logs for people and for machines, from the real process: readable lines on a terminal, JSON lines otherwise
// (or as --log-format says); the start-up summary (version, upstream with its models or "not answering", database,
// auth, docs URL) that never delays "listening"; and no credential of a configured URL in any of it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { formatTextLine, resolveLogFormat } from '../../src/log'
import { VERSION } from '../../src/version'
import { run, startBinary, type RunningBinary } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'

let up: FakeUpstream
let home: string

beforeAll(() => {
  up = startFakeUpstream({ models: [{ id: 'test-model' }, { id: 'other/model-2' }] })
  home = mkdtempSync(join(tmpdir(), 'agentgate-logs-'))
})
afterAll(async () => {
  await up.stop()
  rmSync(home, { recursive: true, force: true })
})

const env = (extra: Record<string, string> = {}) => cleanEnv({ AGENTGATE_HOME: home, ...extra })

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l))

/** Waits (bounded) until the process's stderr has a line containing `needle`. */
async function stderrLine(gw: RunningBinary, needle: string, ms = 10_000): Promise<string> {
  const deadline = Date.now() + ms
  for (;;) {
    const line = gw
      .stderr()
      .split('\n')
      .find((l) => l.includes(needle))
    if (line) return line
    if (Date.now() > deadline) throw new Error(`no log line with ${JSON.stringify(needle)}; stderr:\n${gw.stderr()}`)
    await Bun.sleep(20)
  }
}

describe('log format', () => {
  test('auto is text on a terminal and JSON otherwise; json and text are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('text')
    expect(resolveLogFormat('auto', false)).toBe('json')
    expect(resolveLogFormat('json', true)).toBe('json')
    expect(resolveLogFormat('text', false)).toBe('text')
  })

  test('a text line is time, level, message, then key=value fields, on one line', () => {
    const line = formatTextLine(new Date(2026, 0, 2, 3, 4, 5, 67), 'warn', 'upstream not answering', {
      upstream: 'http://h:1/v1',
      reason: 'no answer within 3000 ms',
      models: ['a', 'b'],
      n: 3,
      err: 'Error: x\n    at y',
    })
    expect(line).toBe(
      '03:04:05.067 WARN  upstream not answering upstream=http://h:1/v1 reason="no answer within 3000 ms" models=a,b n=3 err="Error: x\\n    at y"',
    )
  })

  test('with stderr not a terminal every log line is a JSON object; the stdout line is unchanged', async () => {
    const gw = await startBinary(process.execPath, [MAIN, 'serve', '--port', '0', '--db', join(home, 'json.db'), '--upstream', up.url], {
      cwd: home,
      env: env(),
    })
    try {
      await stderrLine(gw, 'upstream answering')
      expect(gw.stdout()).toBe(`agentgate listening on ${gw.url}\n`)
      for (const l of jsonLines(gw.stderr()))
        expect(l).toMatchObject({ time: expect.any(String), level: expect.any(String), msg: expect.any(String) })
    } finally {
      expect(await gw.stop()).toBe(0)
    }
  })

  test('--log-format text on a pipe gives readable lines', async () => {
    const gw = await startBinary(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--db', join(home, 'text.db'), '--upstream', up.url, '--log-format', 'text'],
      { cwd: home, env: env() },
    )
    try {
      const started = await stderrLine(gw, 'started')
      expect(started).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}started version=\S+ url=http:\/\/127\.0\.0\.1:\d+ /)
      expect(await stderrLine(gw, 'upstream answering')).toContain('models=test-model,other/model-2')
      expect(gw.stderr()).not.toContain('{"time"')
    } finally {
      await gw.stop()
    }
  })

  test.skipIf(!Bun.which('script'))('on a real terminal (a pseudo-terminal from script(1)) the lines are readable text', async () => {
    // The gateway gets SIGTERM after 4 s (timeout), drains nothing and exits 0; script(1) then exits with it.
    const cmd = [
      'timeout',
      '-s',
      'TERM',
      '4',
      process.execPath,
      MAIN,
      'serve',
      '--port',
      '0',
      '--db',
      join(home, 'tty.db'),
      '--upstream',
      up.url,
    ]
      .map((a) => `'${a}'`)
      .join(' ')
    const r = await run(['script', '-qefc', cmd, '/dev/null'], { cwd: home, env: env(), timeoutMs: 20_000 })
    const out = r.stdout.replace(/\r/g, '')
    expect(out).toMatch(/^agentgate listening on http:\/\/127\.0\.0\.1:\d+$/m)
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}started version=/m)
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}upstream answering .*models=test-model,other\/model-2/m)
    expect(out).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}shut down /m)
    expect(out).not.toContain('{"time"')
  })
})

describe('a reader that drains stderr late', () => {
  // stderr is a FIFO the test opens for reading but does not read until the gateway was told to stop: more debug lines
  // than a pipe holds (64 KiB) pile up meanwhile. Every line written before the process exits must arrive, the
  // shutdown lines last; the gateway waits for the reader rather than dropping what it could not write yet.
  test('loses no log line: one per rejected request, then the shutdown lines, and exit 0', async () => {
    const fifo = join(home, 'stderr.fifo')
    expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0)
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const writeEnd = openSync(fifo, constants.O_WRONLY)
    const proc = Bun.spawn(
      [process.execPath, MAIN, 'serve', '--port', '0', '--db', join(home, 'late.db'), '--upstream', up.url, '--log-level', 'debug'],
      { cwd: home, env: env({ AGENTGATE_LOG_FORMAT: 'json' }), stdin: 'ignore', stdout: 'pipe', stderr: writeEnd },
    )
    closeSync(writeEnd)
    const killer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    try {
      const reader = proc.stdout.getReader()
      let out = ''
      while (!/listening on \S+\n/.test(out)) {
        const r = await reader.read()
        if (r.done) throw new Error(`exited before listening: ${out}`)
        out += new TextDecoder().decode(r.value)
      }
      const url = out.match(/listening on (\S+)\n/)![1]
      // 600 unknown routes: a 404 each, and a debug line each of about 200 bytes: about 120 KiB in all.
      const statuses = Array.from({ length: 600 }, (_, i) =>
        fetch(`${url}/no-such-route/${i}`).then(
          (r) => r.status,
          () => null,
        ),
      )
      // Until they are answered, or for a second if the gateway waits for the reader (a full pipe).
      await Promise.race([Promise.all(statuses), Bun.sleep(1_000)])
      proc.kill('SIGTERM')
      await Bun.sleep(200)
      let text = ''
      const buf = Buffer.alloc(65536)
      for (;;) {
        let n: number
        try {
          n = readSync(readEnd, buf)
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e
          await Bun.sleep(10)
          continue
        }
        if (n === 0) break // every writer is gone: the gateway exited
        text += buf.toString('utf8', 0, n)
      }
      expect(await proc.exited).toBe(0)
      const answered = (await Promise.all(statuses)).filter((s) => s === 404).length
      // A line cut off at exit stays visible as such in a failure's diff.
      const lines = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          try {
            return JSON.parse(l)
          } catch {
            return { cutOff: l.slice(0, 60) }
          }
        })
      expect(answered).toBeGreaterThan(0)
      expect(lines.filter((l) => l.msg === 'request rejected' && l.status === 404).length).toBe(answered)
      expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 'shut down', signal: 'SIGTERM' })
    } finally {
      clearTimeout(killer)
      proc.kill('SIGKILL')
      closeSync(readEnd)
    }
  }, 40_000)
})

describe('start-up summary', () => {
  test('version, URL, upstream with its models, database path, auth and the docs URL', async () => {
    const db = join(home, 'summary.db')
    const gw = await startBinary(process.execPath, [MAIN, 'serve', '--port', '0', '--db', db, '--upstream', up.url], {
      cwd: home,
      env: env(),
    })
    try {
      const started = JSON.parse(await stderrLine(gw, '"msg":"started"'))
      expect(started).toMatchObject({
        level: 'info',
        version: VERSION,
        url: gw.url,
        upstream: up.url,
        database: db,
        auth: 'off',
        docs: `${gw.url}/docs`,
      })
      const answering = JSON.parse(await stderrLine(gw, 'upstream answering'))
      expect(answering).toMatchObject({ upstream: up.url, models: ['test-model', 'other/model-2'] })
    } finally {
      await gw.stop()
    }
  })

  test('auth on is said so', async () => {
    const gw = await startBinary(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--db', join(home, 'auth.db'), '--upstream', up.url, '--api-key', 'sk-summary-key'],
      { cwd: home, env: env() },
    )
    try {
      expect(JSON.parse(await stderrLine(gw, '"msg":"started"'))).toMatchObject({ auth: 'on' })
      expect(gw.stderr()).not.toContain('sk-summary-key')
    } finally {
      await gw.stop()
    }
  })

  test('an upstream that does not answer is logged as such, after "listening" — never before it', async () => {
    const slow = startFakeUpstream()
    slow.modelsFault = { fault: 'slow', delayMs: 20_000 }
    const gw = await startBinary(process.execPath, [MAIN, 'serve', '--port', '0', '--db', join(home, 'slow.db'), '--upstream', slow.url], {
      cwd: home,
      env: env(),
    })
    try {
      // "listening" came while the probe still waits for the upstream (it gives up after 3 s).
      expect(gw.stderr()).not.toContain('upstream not answering')
      const line = JSON.parse(await stderrLine(gw, 'upstream not answering'))
      expect(line).toMatchObject({ level: 'warn', upstream: slow.url, reason: 'no answer within 3000 ms' })
    } finally {
      await gw.stop()
      await slow.stop()
    }
  })

  test('a closed port is "not answering" with the reason', async () => {
    const gw = await startBinary(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--db', join(home, 'dead.db'), '--upstream', 'http://127.0.0.1:9/v1'],
      { cwd: home, env: env() },
    )
    try {
      const line = JSON.parse(await stderrLine(gw, 'upstream not answering'))
      expect(line.upstream).toBe('http://127.0.0.1:9/v1')
      expect(line.reason).toContain('ECONNREFUSED')
    } finally {
      await gw.stop()
    }
  })
})

describe('credentials in the upstream URL', () => {
  const secretUpstream = () => {
    const u = new URL(up.url)
    return `http://agent:pa55-w0rd-x@${u.host}/v1?api_key=sk-in-query-123&region=eu`
  }

  test('are in no log line: start-up, probe, shutdown', async () => {
    const gw = await startBinary(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--db', join(home, 'secret.db'), '--upstream', secretUpstream(), '--log-level', 'debug'],
      { cwd: home, env: env() },
    )
    let stderr = ''
    try {
      await stderrLine(gw, 'upstream ')
      expect((await fetch(`${gw.url}/ready`)).status).toBeOneOf([200, 503])
    } finally {
      await gw.stop()
      stderr = gw.stderr()
    }
    const all = gw.stdout() + stderr
    expect(all).not.toContain('pa55-w0rd-x')
    expect(all).not.toContain('sk-in-query-123')
    const started = jsonLines(stderr).find((l) => l.msg === 'started')
    expect(started.upstream).toBe(`http://***@${new URL(up.url).host}/v1?api_key=***&region=eu`)
  })

  test('are not in /ready reasons when the upstream is down', async () => {
    const gw = await startBinary(
      process.execPath,
      [
        MAIN,
        'serve',
        '--port',
        '0',
        '--db',
        join(home, 'secret-ready.db'),
        '--upstream',
        'http://agent:pa55-w0rd-x@127.0.0.1:9/v1?token=tok-zzz',
      ],
      { cwd: home, env: env() },
    )
    try {
      const r = await fetch(`${gw.url}/ready`)
      expect(r.status).toBe(503)
      const text = await r.text()
      expect(text).not.toContain('pa55-w0rd-x')
      expect(text).not.toContain('tok-zzz')
      await stderrLine(gw, 'upstream not answering')
    } finally {
      await gw.stop()
    }
    expect(gw.stderr()).not.toContain('pa55-w0rd-x')
    expect(gw.stderr()).not.toContain('tok-zzz')
  })

  test("are not in the codex launcher's error about an upstream that does not answer", async () => {
    const r = await run(
      [
        process.execPath,
        MAIN,
        'codex',
        '--codex',
        '/bin/true',
        '--port',
        '0',
        '--upstream',
        'http://agent:pa55-w0rd-x@127.0.0.1:9/v1?key=k-zzz',
      ],
      { env: env(), timeoutMs: 20_000 },
    )
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('is the upstream at http://***@127.0.0.1:9/v1?key=*** running?')
    expect(r.stdout + r.stderr).not.toContain('pa55-w0rd-x')
    expect(r.stdout + r.stderr).not.toContain('k-zzz')
  })

  test('are not echoed by the error about a bad --upstream', async () => {
    const r = await run([process.execPath, MAIN, 'serve', '--upstream', 'ftp://agent:pa55-w0rd-x@h/v1'], { env: env(), timeoutMs: 15_000 })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--upstream')
    expect(r.stderr).not.toContain('pa55-w0rd-x')
  })
})
