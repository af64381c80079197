// Start-up failures of the real process name what failed in one line: the host:port that cannot be bound (a
// second gateway on a taken port exits 2 instead of sharing it), the database path and why, the --codex path.
import { afterAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { run, startBinary } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'

const home = mkdtempSync(join(tmpdir(), 'agentgate-startup-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

const env = (extra: Record<string, string> = {}) =>
  cleanEnv({ AGENTGATE_HOME: home, AGENTGATE_UPSTREAM: 'http://127.0.0.1:9/v1', ...extra })

const agentgate = (args: string[], extra: Record<string, string> = {}) =>
  run([process.execPath, MAIN, ...args], { env: env(extra), timeoutMs: 20_000 })

/** Exit `code`, exactly one `agentgate: …` line on stderr containing every needle, no stack trace, no "listening". */
function expectOneLine(r: { code: number | null; stdout: string; stderr: string }, code: number, ...needles: string[]) {
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code })
  expect(r.stdout).not.toContain('listening')
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'))
  expect(lines).toHaveLength(1)
  expect(lines[0]).toStartWith('agentgate: ')
  for (const n of needles) expect(lines[0]).toContain(n)
  expect(r.stderr).not.toMatch(/\n\s+at |\.ts:\d+/)
}

describe('binding', () => {
  test('a second gateway on the port of a running one exits 2 with "host:port is already in use"', async () => {
    const first = await startBinary(process.execPath, [MAIN, 'serve', '--port', '0', '--db', join(home, 'a.db')], {
      cwd: home,
      env: env({ AGENTGATE_LOG_LEVEL: 'silent' }),
    })
    try {
      const port = new URL(first.url).port
      const second = await agentgate(['serve', '--port', port, '--db', join(home, 'b.db')])
      expectOneLine(second, 2, `127.0.0.1:${port} is already in use`)
      // the first one still owns the port alone
      expect((await fetch(first.url + '/health')).status).toBe(200)
    } finally {
      expect(await first.stop()).toBe(0)
    }
  })

  test('an address that is not on this machine names host:port and says so', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a local interface.
    expectOneLine(await agentgate(['serve', '--host', '192.0.2.1', '--port', '9123']), 2, '192.0.2.1:9123', 'not available')
  })
})

/**
 * Permission failures need an unprivileged process: as root the tests run the gateway as `nobody` (setpriv), with a
 * home it may write; otherwise (or without setpriv, or in a checkout `nobody` cannot read, such as a clone inside a
 * mktemp -d folder) they are skipped.
 */
const canDropPrivileges = process.getuid?.() === 0 && Bun.which('setpriv') !== null && othersCanRead(MAIN)

/** `path` is readable by any user: the file has o+r and every folder above it o+x. */
function othersCanRead(path: string): boolean {
  if (!(statSync(path).mode & 0o004)) return false
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (!(statSync(dir).mode & 0o001)) return false
    if (dir === dirname(dir)) return true
  }
}
const unprivilegedPortStart = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim())
  } catch {
    return 1024
  }
})()
function asNobody(args: string[]) {
  const own = mkdtempSync(join(tmpdir(), 'agentgate-nobody-'))
  chmodSync(own, 0o777)
  return run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, ...args], {
    cwd: own,
    env: env({ HOME: own, AGENTGATE_HOME: own }),
    timeoutMs: 20_000,
  }).finally(() => rmSync(own, { recursive: true, force: true }))
}

describe('permissions', () => {
  test.skipIf(!canDropPrivileges || unprivilegedPortStart <= 80)(
    'a privileged port without the privilege: host:port and "permission denied"',
    async () => {
      expectOneLine(await asNobody(['serve', '--port', '80']), 2, 'cannot listen on 127.0.0.1:80: permission denied')
    },
  )

  test.skipIf(!canDropPrivileges)('a database in a directory the process may not write: the path and what to check', async () => {
    const dir = join(home, 'root-only')
    mkdirSync(dir, { recursive: true })
    chmodSync(dir, 0o755)
    chmodSync(home, 0o755)
    const db = join(dir, 'agentgate.db')
    expectOneLine(
      await asNobody(['serve', '--port', '0', '--db', db]),
      1,
      `cannot open the SQLite database ${db}`,
      `check that ${dir} exists and is writable`,
    )
  })
})

describe('database', () => {
  test('--db naming a directory: the path and "it is a directory"', async () => {
    const dir = join(home, 'a-directory.db')
    mkdirSync(dir, { recursive: true })
    expectOneLine(await agentgate(['serve', '--port', '0', '--db', dir]), 1, `cannot open the SQLite database ${dir}`, 'directory')
  })

  test('--db naming a text file: the path and "not a SQLite database"', async () => {
    const file = join(home, 'notes.txt')
    writeFileSync(file, 'these are notes, not a database\n'.repeat(200))
    expectOneLine(
      await agentgate(['serve', '--port', '0', '--db', file]),
      1,
      `cannot open the SQLite database ${file}`,
      'not a SQLite database',
    )
  })

  test('--db under a path whose directory cannot be created: the path and the directory', async () => {
    const file = join(home, 'plain-file')
    writeFileSync(file, 'x')
    const db = join(file, 'sub', 'agentgate.db')
    expectOneLine(await agentgate(['serve', '--port', '0', '--db', db]), 1, `cannot open the SQLite database ${db}`, join(file, 'sub'))
  })
})

describe('codex', () => {
  test('--codex naming a path that does not exist: that path, before anything starts', async () => {
    const r = await agentgate(['codex', '--codex', join(home, 'no', 'such', 'codex')])
    expectOneLine(r, 127, join(home, 'no', 'such', 'codex'), 'does not exist')
  })

  test('AGENTGATE_CODEX naming a directory is said to be one', async () => {
    expectOneLine(await agentgate(['codex'], { AGENTGATE_CODEX: home }), 127, home, 'directory')
  })
})
