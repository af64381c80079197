// Config resolution: flags > AGENTGATE_* environment > config.toml > defaults, for every kind of setting,
// and one clear single-line ConfigError for every bad input.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CONFIG_FLAGS, ConfigError, loadConfig, parseArgs, SETTINGS, settingsHelp, type Config } from '../src/config'

const HOME = '/tmp/agentgate-config-test-home'
const FILE = join(HOME, 'config.toml')

/** Resolves a config from argv-style flags, an env and the text of $AGENTGATE_HOME/config.toml (in memory). */
function resolve(
  argv: string[] = [],
  env: Record<string, string> = {},
  toml: string | null = null,
  files: Record<string, string> = {},
): Config {
  const { flags } = parseArgs(argv, CONFIG_FLAGS)
  return loadConfig({ flags, env: { AGENTGATE_HOME: HOME, ...env }, readFile: (p) => (p === FILE ? toml : (files[p] ?? null)) })
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    const err = e as ConfigError
    expect(err.message).not.toContain('\n')
    return err
  }
  throw new Error('expected a ConfigError')
}

describe('defaults', () => {
  test('follow SPEC.md when nothing is set', () => {
    const c = resolve()
    expect(c).toMatchObject({
      home: HOME,
      configFile: null,
      host: '127.0.0.1',
      port: 9000,
      upstream: 'http://localhost:8000/v1',
      upstreamKey: null,
      upstreamApi: 'responses',
      db: join(HOME, 'agentgate.db'),
      databaseUrl: null,
      apiKeys: [],
      logLevel: 'info',
      maxBodyBytes: 10 * 1024 * 1024,
      maxWsFrameBytes: 10 * 1024 * 1024,
      maxStoredResponseBytes: 8 * 1024 * 1024,
      maxSseLineBytes: 16 * 1024 * 1024,
      wsForceStore: true,
      models: {},
    })
  })

  test('home defaults to ~/.agentgate (from $HOME)', () => {
    const c = loadConfig({ flags: {}, env: { HOME: '/home/someone' }, readFile: () => null })
    expect(c.home).toBe('/home/someone/.agentgate')
    expect(c.db).toBe('/home/someone/.agentgate/agentgate.db')
  })

  test('every setting has a distinct flag, env and file key of the same pattern', () => {
    for (const s of SETTINGS) {
      expect(s.flag).toMatch(/^--[a-z0-9-]+$/)
      expect(s.env).toMatch(/^AGENTGATE_[A-Z0-9_]+$/)
      expect(s.file).toMatch(/^[a-z0-9_]+$/)
    }
    for (const k of ['flag', 'env', 'file'] as const) expect(new Set(SETTINGS.map((s) => s[k])).size).toBe(SETTINGS.length)
  })
})

describe('precedence: flags > env > file > default', () => {
  // One row per kind of setting: [flag, env, file key, file literal, flag value, env value, expected flag/env/file results]
  const rows: {
    kind: string
    key: keyof Config
    flag: string
    env: string
    file: string
    values: [flag: string, env: string, fileToml: string]
    expected: [flag: unknown, env: unknown, file: unknown]
  }[] = [
    {
      kind: 'string',
      key: 'host',
      flag: '--host',
      env: 'AGENTGATE_HOST',
      file: 'host',
      values: ['0.0.0.0', '10.0.0.1', '"::1"'],
      expected: ['0.0.0.0', '10.0.0.1', '::1'],
    },
    { kind: 'int', key: 'port', flag: '--port', env: 'AGENTGATE_PORT', file: 'port', values: ['1', '2', '3'], expected: [1, 2, 3] },
    {
      kind: 'url',
      key: 'upstream',
      flag: '--upstream',
      env: 'AGENTGATE_UPSTREAM',
      file: 'upstream',
      values: ['http://a:1/v1', 'https://b/v1/', '"http://c:3/x/v1"'],
      expected: ['http://a:1/v1', 'https://b/v1', 'http://c:3/x/v1'],
    },
    {
      kind: 'enum',
      key: 'upstreamApi',
      flag: '--upstream-api',
      env: 'AGENTGATE_UPSTREAM_API',
      file: 'upstream_api',
      values: ['chat', 'responses', '"chat"'],
      expected: ['chat', 'responses', 'chat'],
    },
    {
      kind: 'enum',
      key: 'logLevel',
      flag: '--log-level',
      env: 'AGENTGATE_LOG_LEVEL',
      file: 'log_level',
      values: ['debug', 'warn', '"error"'],
      expected: ['debug', 'warn', 'error'],
    },
    {
      kind: 'bool',
      key: 'wsForceStore',
      flag: '--ws-force-store',
      env: 'AGENTGATE_WS_FORCE_STORE',
      file: 'ws_force_store',
      values: ['false', 'yes', 'false'],
      expected: [false, true, false],
    },
    {
      kind: 'list',
      key: 'apiKeys',
      flag: '--api-key',
      env: 'AGENTGATE_API_KEYS',
      file: 'api_keys',
      values: ['k-flag', 'k-env1, k-env2', '["k-file1", "k-file2"]'],
      expected: [['k-flag'], ['k-env1', 'k-env2'], ['k-file1', 'k-file2']],
    },
    {
      kind: 'string (nullable)',
      key: 'upstreamKey',
      flag: '--upstream-key',
      env: 'AGENTGATE_UPSTREAM_KEY',
      file: 'upstream_key',
      values: ['sk-flag', 'sk-env', '"sk-file"'],
      expected: ['sk-flag', 'sk-env', 'sk-file'],
    },
    {
      kind: 'string (path)',
      key: 'db',
      flag: '--db',
      env: 'AGENTGATE_DB',
      file: 'db',
      values: ['/f.db', '/e.db', '"/c.db"'],
      expected: ['/f.db', '/e.db', '/c.db'],
    },
    {
      kind: 'string (url)',
      key: 'databaseUrl',
      flag: '--database-url',
      env: 'AGENTGATE_DATABASE_URL',
      file: 'database_url',
      values: ['postgres://f/db', 'postgres://e/db', '"postgres://c/db"'],
      expected: ['postgres://f/db', 'postgres://e/db', 'postgres://c/db'],
    },
    {
      kind: 'int (limit)',
      key: 'maxBodyBytes',
      flag: '--max-body-bytes',
      env: 'AGENTGATE_MAX_BODY_BYTES',
      file: 'max_body_bytes',
      values: ['2048', '4096', '8192'],
      expected: [2048, 4096, 8192],
    },
    {
      kind: 'int (timeout)',
      key: 'idleTimeoutMs',
      flag: '--idle-timeout-ms',
      env: 'AGENTGATE_IDLE_TIMEOUT_MS',
      file: 'idle_timeout_ms',
      values: ['10', '20', '30'],
      expected: [10, 20, 30],
    },
  ]

  for (const r of rows) {
    describe(`${r.kind}: ${r.flag}`, () => {
      const [flagValue, envValue, fileValue] = r.values
      const [fromFlag, fromEnv, fromFile] = r.expected
      const toml = `${r.file} = ${fileValue}\n`
      const env = { [r.env]: envValue }
      const get = (c: Config): unknown => c[r.key]
      test('flag beats env and file', () => expect(get(resolve([r.flag, flagValue], env, toml))).toEqual(fromFlag))
      test('flag=value form', () => expect(get(resolve([`${r.flag}=${flagValue}`], env, toml))).toEqual(fromFlag))
      test('env beats file', () => expect(get(resolve([], env, toml))).toEqual(fromEnv))
      test('file beats default', () => expect(get(resolve([], {}, toml))).toEqual(fromFile))
      test('an empty env variable counts as unset, so the file still applies', () =>
        expect(get(resolve([], { [r.env]: '' }, toml))).toEqual(fromFile))
    })
  }

  test('--api-key is repeatable and collects every value', () => {
    expect(resolve(['--api-key', 'a', '--api-key=b', '--api-key', 'c'], { AGENTGATE_API_KEYS: 'x' }).apiKeys).toEqual(['a', 'b', 'c'])
  })

  test('AGENTGATE_API_KEYS is comma-separated; blanks and stray commas are ignored', () => {
    expect(resolve([], { AGENTGATE_API_KEYS: ' a ,b,, c ,' }).apiKeys).toEqual(['a', 'b', 'c'])
  })

  test('bool accepts the usual spellings', () => {
    for (const [v, want] of [
      ['1', true],
      ['true', true],
      ['ON', true],
      ['yes', true],
      ['0', false],
      ['false', false],
      ['off', false],
      ['No', false],
    ] as const)
      expect(resolve([], { AGENTGATE_WS_FORCE_STORE: v }).wsForceStore).toBe(want)
  })

  test('port 0 (pick a free port) is allowed from every source', () => {
    expect(resolve(['--port', '0']).port).toBe(0)
    expect(resolve([], { AGENTGATE_PORT: '0' }).port).toBe(0)
    expect(resolve([], {}, 'port = 0').port).toBe(0)
  })

  test('the default db follows AGENTGATE_HOME', () => {
    expect(resolve([], { AGENTGATE_HOME: '/srv/ag' }).db).toBe('/srv/ag/agentgate.db')
  })

  test('a file value of the right type may also be a string', () => {
    expect(resolve([], {}, 'port = "1234"').port).toBe(1234)
  })
})

describe('config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-config-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('$AGENTGATE_HOME/config.toml is read from disk', () => {
    const home = join(dir, 'home')
    mkdirSync(home)
    writeFileSync(join(home, 'config.toml'), 'port = 4321\nupstream = "http://gpu:8000/v1"\n')
    const c = loadConfig({ flags: {}, env: { AGENTGATE_HOME: home } })
    expect(c).toMatchObject({ port: 4321, upstream: 'http://gpu:8000/v1', configFile: join(home, 'config.toml') })
  })

  test('--config FILE replaces $AGENTGATE_HOME/config.toml', () => {
    const home = join(dir, 'home2')
    mkdirSync(home)
    writeFileSync(join(home, 'config.toml'), 'port = 1111\nhost = "home"\n')
    const other = join(dir, 'other.toml')
    writeFileSync(other, 'port = 2222\n')
    const { flags } = parseArgs(['--config', other], CONFIG_FLAGS)
    const c = loadConfig({ flags, env: { AGENTGATE_HOME: home } })
    expect(c.port).toBe(2222)
    expect(c.host).toBe('127.0.0.1')
    expect(c.configFile).toBe(other)
  })

  test('a missing $AGENTGATE_HOME/config.toml is fine', () => {
    const c = loadConfig({ flags: {}, env: { AGENTGATE_HOME: join(dir, 'nothing-here') } })
    expect(c.configFile).toBeNull()
  })

  test('a missing --config file is an error naming the file', () => {
    const missing = join(dir, 'missing.toml')
    const e = configError(() => loadConfig({ flags: { '--config': missing }, env: { AGENTGATE_HOME: dir } }))
    expect(e.message).toContain(missing)
  })

  test('a TOML syntax error names the file', () => {
    const bad = join(dir, 'bad.toml')
    writeFileSync(bad, 'port = \n[models\n')
    const e = configError(() => loadConfig({ flags: { '--config': bad }, env: { AGENTGATE_HOME: dir } }))
    expect(e.message).toContain(bad)
    expect(e.message).toMatch(/TOML/)
  })

  test('an unknown key is an error naming the key', () => {
    const e = configError(() => resolve([], {}, 'port = 1\nupstream_url = "http://x"\n'))
    expect(e.message).toContain('upstream_url')
    expect(e.message).toContain(FILE)
  })

  test('[models."id"] sections are parsed as per-model overrides', () => {
    const c = resolve(
      [],
      {},
      [
        '[models."Qwen/Qwen3-8B"]',
        'display_name = "Qwen 3 8B"',
        'context_window = 32768',
        'description = "local"',
        '',
        '[models.gpt-oss]',
        'base_instructions_file = "prompts/gpt-oss.md"',
        'supports_parallel_tool_calls = true',
      ].join('\n'),
      { [join(HOME, 'prompts/gpt-oss.md')]: 'You are a coding agent.' },
    )
    expect(c.models).toEqual({
      'Qwen/Qwen3-8B': { display_name: 'Qwen 3 8B', context_window: 32768, description: 'local' },
      // a relative path is taken relative to the config file
      'gpt-oss': { base_instructions_file: join(HOME, 'prompts/gpt-oss.md'), supports_parallel_tool_calls: true },
    })
  })

  test('bad model overrides name the model and the field', () => {
    expect(configError(() => resolve([], {}, '[models."m1"]\ncontext_window = -5\n')).message).toContain('models."m1".context_window')
    expect(configError(() => resolve([], {}, '[models."m1"]\ndisplay_name = 3\n')).message).toContain('models."m1".display_name')
    expect(configError(() => resolve([], {}, 'models = 3\n')).message).toContain('models')
    expect(configError(() => resolve([], {}, 'models = { m1 = 3 }\n')).message).toContain('models."m1"')
    expect(configError(() => resolve([], {}, '[models."m1"]\nno_such_key = 1\n')).message).toContain('models."m1".no_such_key')
    expect(configError(() => resolve([], {}, '[models."m1"]\nbase_instructions_file = "/nope.md"\n')).message).toContain('/nope.md')
  })
})

describe('bad values: one ConfigError line naming where the value came from', () => {
  // [description, argv, env, toml, text the message must contain]
  const rows: [string, string[], Record<string, string>, string | null, string[]][] = [
    ['non-numeric --port', ['--port', 'abc'], {}, null, ['--port', '"abc"']],
    ['negative --port', ['--port=-1'], {}, null, ['--port', 'at least 0']],
    ['--port over 65535', ['--port', '70000'], {}, null, ['--port', 'at most 65535']],
    ['fractional --port', ['--port', '80.5'], {}, null, ['--port']],
    ['non-numeric AGENTGATE_PORT', [], { AGENTGATE_PORT: 'eighty' }, null, ['AGENTGATE_PORT']],
    ['fractional port in file', [], {}, 'port = 1.5', ['port in ' + FILE]],
    ['port of the wrong type in file', [], {}, 'port = true', ['port in ' + FILE]],
    ['--upstream that is not a URL', ['--upstream', 'localhost:8000'], {}, null, ['--upstream']],
    ['--upstream with a non-http scheme', ['--upstream', 'ftp://x/v1'], {}, null, ['--upstream', 'http']],
    ['AGENTGATE_UPSTREAM that is not a URL', [], { AGENTGATE_UPSTREAM: 'nope' }, null, ['AGENTGATE_UPSTREAM']],
    ['upstream in file that is not a string', [], {}, 'upstream = 5', ['upstream in ' + FILE]],
    ['unknown --upstream-api', ['--upstream-api', 'grpc'], {}, null, ['--upstream-api', 'responses|chat']],
    ['unknown AGENTGATE_LOG_LEVEL', [], { AGENTGATE_LOG_LEVEL: 'loud' }, null, ['AGENTGATE_LOG_LEVEL', 'debug|info|warn|error|silent']],
    ['bad bool', [], { AGENTGATE_WS_FORCE_STORE: 'maybe' }, null, ['AGENTGATE_WS_FORCE_STORE', 'true or false']],
    ['bool of the wrong type in file', [], {}, 'ws_force_store = 1', ['ws_force_store in ' + FILE]],
    ['empty --api-key', ['--api-key', 'a', '--api-key='], {}, null, ['--api-key']],
    ['api_keys with a non-string', [], {}, 'api_keys = ["a", 1]', ['api_keys in ' + FILE]],
    ['empty --host', ['--host='], {}, null, ['--host']],
    ['empty host in file', [], {}, 'host = ""', ['host in ' + FILE]],
    ['--max-body-bytes below its minimum', ['--max-body-bytes', '10'], {}, null, ['--max-body-bytes', 'at least 1024']],
    ['--ws-idle-timeout-s over its maximum', ['--ws-idle-timeout-s', '10000'], {}, null, ['--ws-idle-timeout-s', 'at most 960']],
    ['zero timeout', [], { AGENTGATE_CONNECT_TIMEOUT_MS: '0' }, null, ['AGENTGATE_CONNECT_TIMEOUT_MS']],
  ]
  for (const [name, argv, env, toml, needles] of rows) {
    test(name, () => {
      const e = configError(() => resolve(argv, env, toml))
      for (const n of needles) expect(e.message).toContain(n)
    })
  }

  test('a bad env value is reported even when the file has a good one, and not when a flag overrides it', () => {
    expect(configError(() => resolve([], { AGENTGATE_PORT: 'x' }, 'port = 1')).message).toContain('AGENTGATE_PORT')
    expect(resolve(['--port', '5'], { AGENTGATE_PORT: 'x' }).port).toBe(5)
  })
})

describe('parseArgs', () => {
  test('unknown options are errors naming the option', () => {
    expect(configError(() => parseArgs(['--prot', '1'], CONFIG_FLAGS)).message).toContain('--prot')
    expect(configError(() => parseArgs(['-x'], CONFIG_FLAGS)).message).toContain('-x')
  })

  test('a flag without its value is an error', () => {
    expect(configError(() => parseArgs(['--port'], CONFIG_FLAGS)).message).toContain('--port')
    expect(configError(() => parseArgs(['--port', '--host', 'h'], CONFIG_FLAGS)).message).toContain('--port')
  })

  test('positionals, -h and the part after -- are kept apart', () => {
    expect(parseArgs(['serve', '--port', '1', '-h', '--', '--x', 'y'], CONFIG_FLAGS)).toEqual({
      flags: { '--port': '1' },
      positionals: ['serve', '--help'],
      rest: ['--x', 'y'],
    })
  })

  test('boolean flags take no value', () => {
    expect(parseArgs(['--help', 'serve'], CONFIG_FLAGS, new Set(['--help']))).toEqual({
      flags: { '--help': true },
      positionals: ['serve'],
      rest: [],
    })
  })
})

test('settingsHelp lists every flag with its env variable', () => {
  const help = settingsHelp()
  for (const s of SETTINGS) {
    expect(help).toContain(s.flag)
    expect(help).toContain(s.env)
  }
})
