// What the binary says about auth when it starts (one log line): on with its tenants (never a key), off on loopback
// (the default), or a loud warning when it is off on another address — it still starts. And `serve --help` lists
// the auth and limit settings.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../src/auth'
import { run } from '../support/binary'
import { MAIN } from '../support/cli'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'

let up: FakeUpstream
let home: string

beforeAll(() => {
  up = startFakeUpstream()
  home = mkdtempSync(join(tmpdir(), 'agentgate-startup-'))
})
afterAll(async () => {
  await up.stop()
  rmSync(home, { recursive: true, force: true })
})

/** Starts the gateway from source, waits for its listening line, stops it; returns stdout, the log lines and the URL. */
async function startAndStop(args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, MAIN, 'serve', '--port', '0', '--upstream', up.url, ...args], {
    env: { PATH: process.env.PATH!, HOME: home, AGENTGATE_HOME: join(home, '.agentgate'), ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = proc.stdout.getReader()
  let stdout = ''
  const until = Date.now() + 15_000
  while (!stdout.includes('\n') && Date.now() < until) {
    const { value, done } = await reader.read()
    if (done) break
    stdout += new TextDecoder().decode(value)
  }
  const url = stdout.match(/agentgate listening on (\S+)/)?.[1] ?? null
  // the start-up log lines are written right after the listening line
  await Bun.sleep(200)
  proc.kill('SIGTERM')
  await proc.exited
  reader.releaseLock()
  const stderr = await new Response(proc.stderr).text()
  const logs = stderr
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
  return { stdout, url, stderr, logs }
}

describe('start-up lines about auth', () => {
  test('no keys, default host: auth off on loopback, one info line', async () => {
    const r = await startAndStop([])
    expect(r.url).toStartWith('http://127.0.0.1:')
    const lines = r.logs.filter((l) => /auth/.test(l.msg))
    expect(lines).toHaveLength(1)
    expect(lines[0].msg).toStartWith('auth off')
    expect(lines[0].msg).toContain('loopback')
    expect(lines[0]).toMatchObject({ level: 'info', host: '127.0.0.1' })
  })

  test('no keys on a non-loopback address: a warning, and the gateway still serves', async () => {
    const r = await startAndStop(['--host', '0.0.0.0'])
    expect(r.url).not.toBeNull()
    const lines = r.logs.filter((l) => /auth/.test(l.msg))
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({ level: 'warn', host: '0.0.0.0' })
    expect(lines[0].msg).toContain('WARNING: auth off on a non-loopback address')
    expect(lines[0].msg).toContain('--api-key')
  })

  test('with keys (a flag and a hashed keys file): auth on with the tenants, and no key anywhere in the output', async () => {
    const file = join(home, 'keys.txt')
    writeFileSync(file, `# ops keys\nops:sha256:${sha256('sk-ops-hashed-key-1').toString('hex')}\n`)
    const r = await startAndStop(['--api-key', 'team-a:sk-startup-key-a1', '--api-keys-file', file, '--host', '0.0.0.0'])
    const lines = r.logs.filter((l) => /auth/.test(l.msg))
    expect(lines).toHaveLength(1)
    expect(lines[0].msg).toStartWith('auth on')
    expect(lines[0]).toMatchObject({ level: 'info', keys: 2, tenants: ['team-a', 'ops'] })
    for (const secret of ['sk-startup-key-a1', 'sk-ops-hashed-key-1', sha256('sk-ops-hashed-key-1').toString('hex')])
      expect(r.stdout + r.stderr).not.toContain(secret)
  })

  test('a bad key stops start-up with one line naming where it is, not the key', async () => {
    const { code, stderr } = await run([process.execPath, MAIN, 'serve', '--port', '0', '--api-key', 'bad tenant:sk-never-shown-1'], {
      env: { PATH: process.env.PATH!, HOME: home, AGENTGATE_HOME: join(home, '.agentgate') },
    })
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('--api-key')
    expect(stderr).not.toContain('sk-never-shown-1')
  })
})

test('serve --help lists the auth and limit settings', async () => {
  const help = (await run([process.execPath, MAIN, 'serve', '--help'])).stdout
  for (const flag of [
    '--api-key',
    '--api-keys-file',
    '--max-body-bytes',
    '--max-ws-frame-bytes',
    '--max-stored-response-bytes',
    '--max-sse-line-bytes',
    '--max-stream-bytes',
    '--max-history-items',
    '--max-ws-queue',
  ])
    expect(help).toContain(flag)
})
