// Which starts re-execute with Bun's fetch cap raised, and the cap Bun runs with for a value of the variable
// (the processes themselves: test/binary/fetch-cap.test.ts).
import { describe, expect, test } from 'bun:test'
import { BUN_FETCH_CAP, fetchCapOf, runsServe, SERVE_FETCH_CAP, serveEnvironmentMissing, startedWith } from '../src/fetch-cap'

describe('runsServe: only a start that serves re-executes', () => {
  test.each([
    [[], true],
    [['serve'], true],
    [['--port', '0'], true],
    [['serve', '--port', '0', '--upstream', 'http://127.0.0.1:8000/v1'], true],
    // a bad setting is reported by the re-executed process, the same way
    [['--port', 'abc'], true],
    // what follows a bare -- is not an option
    [['serve', '--', '--help'], true],
  ])('%j serves', (argv, serves) => expect(runsServe(argv)).toBe(serves))

  test.each([
    [['--help']],
    [['-h']],
    [['help']],
    [['--version']],
    [['-v']],
    [['version']],
    [['serve', '--help']],
    [['serve', '--port', '0', '-h']],
    [['--port', '0', '--help']],
    [['doctor']],
    [['prune', '--retention-days', '30']],
    [['codex']],
    [['claude']],
    [['nonsense']],
  ])('%j does not', (argv) => expect(runsServe(argv)).toBe(false))
})

describe('fetchCapOf: the cap Bun runs with (Bun 1.4.5, each value checked by counting requests held at a server)', () => {
  test('unset: Bun default of 256; serve asks for 4096', () => {
    expect(fetchCapOf({})).toEqual({ cap: 256 })
    expect([BUN_FETCH_CAP, SERVE_FETCH_CAP]).toEqual([256, 4096])
  })

  test.each([
    ['300', 300],
    ['4096', 4096],
    ['65535', 65535],
    ['1', 1],
    ['+300', 300],
    ['3_00', 300],
    ['0300', 300],
  ])('%j is taken as %d', (raw, cap) => expect(fetchCapOf({ BUN_CONFIG_MAX_HTTP_REQUESTS: raw })).toEqual({ cap }))

  test.each(['0', '65536', '70000', 'abc', '', ' 300', '300 ', '0x12c', '-1', '3.5'])('%j is ignored: 256', (raw) =>
    expect(fetchCapOf({ BUN_CONFIG_MAX_HTTP_REQUESTS: raw })).toEqual({ cap: 256, ignored: raw }),
  )
})

describe("serveEnvironmentMissing: what serve's re-execution adds (each only when unset)", () => {
  test('nothing set: the fetch cap and the allocator purge delay', () =>
    expect(serveEnvironmentMissing({})).toEqual({ BUN_CONFIG_MAX_HTTP_REQUESTS: '4096', MIMALLOC_PURGE_DELAY: '5000' }))
  test("an operator's value is never replaced, whatever it is", () => {
    expect(serveEnvironmentMissing({ BUN_CONFIG_MAX_HTTP_REQUESTS: '260' })).toEqual({ MIMALLOC_PURGE_DELAY: '5000' })
    expect(serveEnvironmentMissing({ MIMALLOC_PURGE_DELAY: '' })).toEqual({ BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' })
  })
  test('both set (the re-executed process): nothing, so it does not re-execute again', () =>
    expect(serveEnvironmentMissing({ BUN_CONFIG_MAX_HTTP_REQUESTS: 'abc', MIMALLOC_PURGE_DELAY: '100' })).toEqual({}))
})

describe('startedWith: the arguments and environment a start re-executes with, without reading /proc', () => {
  /** process.argv[0] in the compiled executable (a name Bun reports, not a program anything starts) */
  const runtime = 'bun'
  const compiled = [runtime, '/$bunfs/root/agentgate', 'serve', '--port', '0', '--upstream', 'http://127.0.0.1:8000/v1']

  test('the compiled executable: argv0 as given, then the arguments; the environment as it is', () =>
    expect(startedWith(compiled, './dist/agentgate', { HOME: '/h', PATH: '/usr/bin', EMPTY: '', EQ: 'a=b' }, undefined)).toEqual({
      args: ['./dist/agentgate', 'serve', '--port', '0', '--upstream', 'http://127.0.0.1:8000/v1'],
      env: { HOME: '/h', PATH: '/usr/bin', EMPTY: '', EQ: 'a=b' },
    }))

  test('NODE_ENV as the process started with it: production-env.ts has set it since, so unset stays unset, and a value of its own is kept', () => {
    expect(startedWith(compiled, 'agentgate', { HOME: '/h', NODE_ENV: 'production' }, undefined)?.env).toEqual({ HOME: '/h' })
    expect(startedWith(compiled, 'agentgate', { NODE_ENV: 'staging' }, 'staging')?.env).toEqual({ NODE_ENV: 'staging' })
  })

  test('null (read from /proc) without an argv0 (started with no arguments at all: /proc then says no re-execution)', () =>
    expect(startedWith(compiled, '', { HOME: '/h' }, undefined)).toBeNull())

  test('null (read from /proc) from source: the runtime options before the script are not in process.argv', () =>
    expect(startedWith(['/usr/bin/bun', '/src/main.ts', 'serve'], 'bun', { HOME: '/h' }, undefined)).toBeNull())

  test.each<{ what: string; argv: string[]; argv0: string; env: Record<string, string> }>([
    {
      what: 'an argument',
      argv: [runtime, '/$bunfs/root/agentgate', 'serve', '--config', '/home/jürgen/a.toml'],
      argv0: 'agentgate',
      env: {},
    },
    { what: 'argv0', argv: compiled, argv0: 'ägentgate', env: {} },
    { what: 'a value', argv: compiled, argv0: 'agentgate', env: { GREETING: 'grüße' } },
    { what: 'a name', argv: compiled, argv0: 'agentgate', env: { GRÜSSE: '1' } },
    { what: 'a byte Bun decoded as U+FFFD', argv: compiled, argv0: 'agentgate', env: { X: '\uFFFD' } },
  ])('null (read from /proc) for $what beyond ASCII: Bun has decoded those bytes', ({ argv, argv0, env }) =>
    expect(startedWith(argv, argv0, { HOME: '/h', ...env }, undefined)).toBeNull(),
  )
})
