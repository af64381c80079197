// A true|false setting may be given alone on the command line (`--metrics-public`), or with its value.
import { expect, test } from 'bun:test'
import { CONFIG_FLAGS, loadConfig, parseArgs } from '../../src/config'

const config = (...argv: string[]) =>
  loadConfig({ flags: parseArgs(argv, CONFIG_FLAGS).flags, env: { AGENTGATE_HOME: '/nonexistent-agentgate-home' }, readFile: () => null })

test('a true|false flag given alone is on; with a value it is that value; the next flag is not taken as its value', () => {
  expect(config().metricsPublic).toBe(false)
  expect(config('--metrics-public').metricsPublic).toBe(true)
  expect(config('--metrics-public', '--port', '0')).toMatchObject({ metricsPublic: true, port: 0 })
  expect(config('--metrics-public', 'false').metricsPublic).toBe(false)
  expect(config('--metrics-public=no').metricsPublic).toBe(false)
  expect(config('--ws-force-store', 'false').wsForceStore).toBe(false)
  expect(config('--ws-force-store').wsForceStore).toBe(true)
})

test('the new settings have their defaults: logs auto, 25 s of shutdown grace, /metrics behind the key', () => {
  expect(config()).toMatchObject({ logFormat: 'auto', shutdownGraceMs: 25_000, metricsPublic: false })
  expect(config('--log-format', 'text', '--shutdown-grace-ms', '0')).toMatchObject({ logFormat: 'text', shutdownGraceMs: 0 })
  expect(() => config('--log-format', 'xml')).toThrow('auto|json|text')
})
