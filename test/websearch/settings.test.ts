// The web search settings: --web-search-provider/--web-search-url/--web-search-timeout-ms through flags, env and
// config.toml, the key from AGENTGATE_WEB_SEARCH_KEY only, the start-up errors of a half-configured provider (as a
// real `agentgate serve` reports them), --help, and webSearchProviderFromConfig.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFIG_FLAGS, type Config, ConfigError, loadConfig, parseArgs } from '../../src/config'
import { createLogger, silentLogger } from '../../src/log'
import { startupFields } from '../../src/startup-summary'
import { webSearchProviderFromConfig } from '../../src/websearch'
import { run as runCommand } from '../support/binary'
import { cleanEnv, MAIN } from '../support/cli'
import { startFakeSearxng } from '../support/fake-searxng'

const HOME = '/tmp/agentgate-websearch-settings-home'
const FILE = join(HOME, 'config.toml')

function resolve(argv: string[] = [], env: Record<string, string> = {}, toml: string | null = null): Config {
  const { flags } = parseArgs(argv, CONFIG_FLAGS)
  return loadConfig({ flags, env: { AGENTGATE_HOME: HOME, ...env }, readFile: (p) => (p === FILE ? toml : null) })
}

function configError(fn: () => unknown): string {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('expected a ConfigError')
}

describe('resolving the settings', () => {
  test('nothing set: no provider, the default timeout', () => {
    expect(resolve()).toMatchObject({ webSearchProvider: null, webSearchUrl: null, webSearchKey: null, webSearchTimeoutMs: 15_000 })
  })

  test('a URL alone means SearXNG', () => {
    expect(resolve(['--web-search-url', 'http://searx.local:8080/'])).toMatchObject({
      webSearchProvider: 'searxng',
      webSearchUrl: 'http://searx.local:8080',
    })
  })

  test('from the environment and from config.toml, flags first', () => {
    const env = { AGENTGATE_WEB_SEARCH_PROVIDER: 'tavily', AGENTGATE_WEB_SEARCH_KEY: 'tvly-1', AGENTGATE_WEB_SEARCH_TIMEOUT_MS: '2500' }
    expect(resolve([], env)).toMatchObject({ webSearchProvider: 'tavily', webSearchKey: 'tvly-1', webSearchTimeoutMs: 2500 })
    const toml = 'web_search_provider = "brave"\nweb_search_url = "http://brave.test/res/v1"\nweb_search_timeout_ms = 900\n'
    expect(resolve([], { AGENTGATE_WEB_SEARCH_KEY: 'b-1' }, toml)).toMatchObject({
      webSearchProvider: 'brave',
      webSearchUrl: 'http://brave.test/res/v1',
      webSearchTimeoutMs: 900,
    })
    expect(
      resolve(['--web-search-provider', 'searxng', '--web-search-url', 'http://s'], { AGENTGATE_WEB_SEARCH_KEY: 'b-1' }, toml),
    ).toMatchObject({ webSearchProvider: 'searxng', webSearchUrl: 'http://s' })
  })

  test('brave or tavily without a key is a start-up error naming the variable', () => {
    expect(configError(() => resolve(['--web-search-provider', 'brave']))).toBe(
      'the web search provider brave (--web-search-provider) needs its API key in the environment variable AGENTGATE_WEB_SEARCH_KEY',
    )
    expect(configError(() => resolve([], {}, 'web_search_provider = "tavily"'))).toBe(
      `the web search provider tavily (web_search_provider in ${FILE}) needs its API key in the environment variable AGENTGATE_WEB_SEARCH_KEY`,
    )
  })

  test('searxng without a URL is a start-up error', () => {
    expect(configError(() => resolve(['--web-search-provider', 'searxng']))).toBe(
      'the web search provider searxng (--web-search-provider) needs --web-search-url, the base URL of the SearXNG instance',
    )
  })

  test('a key without a provider is a start-up error (it would silently do nothing)', () => {
    expect(configError(() => resolve([], { AGENTGATE_WEB_SEARCH_KEY: 'k' }))).toContain(
      'AGENTGATE_WEB_SEARCH_KEY is set but no web search provider is',
    )
  })

  test('a key with a line break is refused without echoing it', () => {
    const msg = configError(() => resolve(['--web-search-provider', 'brave'], { AGENTGATE_WEB_SEARCH_KEY: 'abc\ndef-secret' }))
    expect(msg).toContain('AGENTGATE_WEB_SEARCH_KEY')
    expect(msg).not.toContain('def-secret')
  })

  test('an unknown provider, a bad URL and a zero timeout are refused', () => {
    expect(configError(() => resolve(['--web-search-provider', 'google']))).toContain('expected one of searxng|brave|tavily')
    expect(configError(() => resolve(['--web-search-url', 'searx.local']))).toContain('expected an http(s) URL')
    expect(configError(() => resolve(['--web-search-url', 'http://s', '--web-search-timeout-ms', '0']))).toContain('must be at least 1')
  })

  test('the key has no flag and no config file key', () => {
    expect(() => parseArgs(['--web-search-key', 'k'], CONFIG_FLAGS)).toThrow('unknown option --web-search-key')
    expect(configError(() => resolve([], {}, 'web_search_key = "k"'))).toContain('unknown setting "web_search_key"')
  })
})

describe('webSearchProviderFromConfig', () => {
  test('null when no provider is configured', () => {
    expect(webSearchProviderFromConfig(resolve(), silentLogger)).toBeNull()
  })

  test('a working provider when one is, logging where it searches but never the key', async () => {
    const fake = startFakeSearxng({ results: [{ url: 'https://a.example/', title: 'A' }] })
    try {
      const lines: string[] = []
      const config = resolve(['--web-search-url', fake.url], { AGENTGATE_WEB_SEARCH_KEY: 'proxy-secret' })
      const provider = webSearchProviderFromConfig(
        config,
        createLogger('debug', (l) => lines.push(l)),
      )
      expect(provider?.kind).toBe('searxng')
      expect(await provider!.search('q')).toEqual([{ url: 'https://a.example/', title: 'A', snippet: '' }])
      expect(lines.join('\n')).toContain(`searxng ${fake.url}/search`)
      expect(lines.join('\n')).not.toContain('proxy-secret')
    } finally {
      fake.close()
    }
  })

  test('the start-up line names the provider and its endpoint, without credentials or the key', () => {
    const config = resolve(['--web-search-provider', 'brave'], { AGENTGATE_WEB_SEARCH_KEY: 'brave-secret' })
    const fields = startupFields(config, '0.0.0', 'http://127.0.0.1:9000')
    expect(fields.web_search).toBe('brave https://api.search.brave.com/res/v1/web/search')
    expect(JSON.stringify(fields)).not.toContain('brave-secret')
    expect(startupFields(resolve(), '0.0.0', 'http://x').web_search).toBeUndefined()
  })
})

describe('the command line', () => {
  const home = mkdtempSync(join(tmpdir(), 'agentgate-websearch-cli-'))
  afterAll(() => rmSync(home, { recursive: true, force: true }))
  const run = (args: string[], env: Record<string, string> = {}) =>
    runCommand([process.execPath, 'run', MAIN, ...args], {
      env: cleanEnv({ AGENTGATE_HOME: home, NO_COLOR: '1', ...env }),
      timeoutMs: 15_000,
    })

  test('serve with brave but no key exits 2 with one line', async () => {
    const r = await run(['serve', '--port', '0', '--web-search-provider', 'brave'])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trim()).toBe(
      'agentgate: the web search provider brave (--web-search-provider) needs its API key in the environment variable AGENTGATE_WEB_SEARCH_KEY',
    )
  })

  test('serve --help lists the web search settings and the key variable', async () => {
    const r = await run(['serve', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/--web-search-provider searxng\|brave\|tavily\s/)
    expect(r.stdout).toMatch(/--web-search-url URL\s/)
    expect(r.stdout).toMatch(/--web-search-timeout-ms N\s.*default 15000/)
    expect(r.stdout).toMatch(/\(environment only\)\s+API key of the web search provider.*\[env AGENTGATE_WEB_SEARCH_KEY\]/)
  })
})
