// Which starts re-execute with Bun's fetch cap raised, and the cap Bun runs with for a value of the variable
// (the processes themselves: test/binary/fetch-cap.test.ts).
import { describe, expect, test } from 'bun:test'
import { BUN_FETCH_CAP, fetchCapOf, runsServe, SERVE_FETCH_CAP, serveEnvironmentMissing } from '../src/fetch-cap'

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
