// `agentgate codex`: one command from nothing to a Codex session on the gateway (real Codex CLI).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { codexConfigToml } from '../../src/codex/launcher'
import { Database } from 'bun:sqlite'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { startGateway } from '../support/gateway'
import { run } from '../support/binary'
import { MAIN } from '../support/cli'

const BIN_DIR = resolve(import.meta.dir, '../../node_modules/.bin')
const MARKER = 'launched-through-agentgate'

function shellThenAnswer(req: RecordedRequest): TurnScript {
  const output = (req.body.input as any[]).findLast((i) => i.type === 'function_call_output')
  if (output) return { text: `Done: ${String(output.output).includes(MARKER) ? MARKER : 'no marker'}` }
  return {
    functionCalls: [
      {
        name: 'exec_command',
        arguments: JSON.stringify({ cmd: `echo ${MARKER} > launched.txt && cat launched.txt`, yield_time_ms: 2000 }),
      },
    ],
  }
}

let up: FakeUpstream
let root: string

beforeAll(() => {
  up = startFakeUpstream({
    models: [
      { id: 'first-model', max_model_len: 16384 },
      { id: 'second-model', max_model_len: 8192 },
    ],
    defaultReply: shellThenAnswer,
  })
  root = mkdtempSync(join(tmpdir(), 'agentgate-launcher-'))
})
afterAll(async () => {
  await up.stop()
  rmSync(root, { recursive: true, force: true })
})

/** Runs `agentgate codex …` from source in a clean environment, cwd outside the repo. */
function launch(args: string[], opts: { path?: string; home: string; cwd: string }) {
  return run([process.execPath, MAIN, 'codex', ...args], {
    cwd: opts.cwd,
    env: {
      PATH: opts.path ?? `${BIN_DIR}:${process.env.PATH}`,
      HOME: opts.home,
      AGENTGATE_HOME: join(opts.home, '.agentgate'),
      NO_COLOR: '1',
      LANG: 'C.UTF-8',
      TMPDIR: join(opts.home, 'tmp'),
    },
    timeoutMs: 60_000,
  })
}

/** Pids of processes whose command line (NUL-separated arguments) satisfies `test`. */
function processesMatching(test: (cmdline: string) => boolean): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      if (test(readFileSync(`/proc/${name}/cmdline`, 'latin1'))) out.push(Number(name))
    } catch {}
  }
  return out
}

/**
 * Runs `agentgate codex …` on a pseudo-terminal, waits (bounded) until `until()` holds and the screen has had a
 * moment to draw, then quits Codex with Ctrl-C twice, as a person would.
 */
async function tui(args: string[], opts: { home: string; cwd: string; until: () => boolean }) {
  const command = [process.execPath, MAIN, 'codex', ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ')
  const proc = Bun.spawn(['script', '-qfec', command, '/dev/null'], {
    cwd: opts.cwd,
    env: {
      PATH: `${BIN_DIR}:${process.env.PATH}`,
      HOME: opts.home,
      AGENTGATE_HOME: join(opts.home, '.agentgate'),
      TERM: 'xterm-256color',
      LANG: 'C.UTF-8',
      TMPDIR: join(opts.home, 'tmp'),
    },
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const killer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
  let output = ''
  const reading = (async () => {
    for await (const chunk of proc.stdout) output += new TextDecoder().decode(chunk)
  })()
  // the screen is drawn with escape sequences between words: compare the text without them
  const screen = () =>
    output.replace(/\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]/g, '').replace(/\s+/g, ' ')
  let seen = false
  for (let i = 0; i < 400 && !seen; i++) {
    seen = opts.until()
    await Bun.sleep(100)
  }
  await Bun.sleep(1500)
  // Ctrl-C quits Codex's TUI (an idle one at once; one that wants it twice says so on screen). A second Ctrl-C goes
  // only when that hint shows, or Codex is still up after 15 s: sent blindly, on a busy machine it could reach the
  // terminal after Codex had restored it while tearing down, and kill Codex with SIGINT (exit 130).
  const ctrlC = () => {
    proc.stdin.write('\x03')
    proc.stdin.flush()
  }
  ctrlC()
  for (let i = 0; i < 150 && proc.exitCode === null && !screen().includes('again to quit'); i++) await Bun.sleep(100)
  if (proc.exitCode === null) ctrlC()
  const code = await proc.exited
  clearTimeout(killer)
  await reading
  return { code, seen, output: screen() }
}

function dirs(name: string) {
  const home = join(root, name, 'home')
  const cwd = join(root, name, 'work')
  for (const d of [home, cwd, join(home, 'tmp')]) mkdirSync(d, { recursive: true })
  return { home, cwd }
}

const execArgs = (prompt: string) => [
  '--',
  'exec',
  '--skip-git-repo-check',
  '--dangerously-bypass-approvals-and-sandbox',
  '--color',
  'never',
  prompt,
]

describe('agentgate codex', () => {
  test('starts a gateway, writes the private CODEX_HOME with the catalog, and runs a Codex session with tools over WebSocket', async () => {
    const { home, cwd } = dirs('fresh')
    const r = await launch(['--upstream', up.url, '--port', '0', ...execArgs('write the marker file')], { home, cwd })
    expect(r.code).toBe(0)
    expect(r.stderr).toContain('Codex with model first-model')
    expect(r.stderr).not.toMatch(/fallback metadata/i)
    expect(r.stdout + r.stderr).toContain(`Done: ${MARKER}`)
    expect(readFileSync(join(cwd, 'launched.txt'), 'utf8').trim()).toBe(MARKER)
    // Nothing from the gateway reaches Codex's terminal: it logs to $AGENTGATE_HOME/logs/, and the warning about
    // the web_search tool Codex declares on every turn is there once.
    const logPath = join(home, '.agentgate', 'logs', 'codex-launcher.log')
    expect(r.stdout + r.stderr).not.toContain('"level":')
    expect(r.stderr).toContain(`gateway log ${logPath}`)
    const log = readFileSync(logPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(log.some((l) => l.msg === 'started')).toBe(true)
    expect(log.filter((l) => l.msg === 'tools the gateway cannot run were left out of the upstream request').map((l) => l.tools)).toEqual([
      ['web_search'],
    ])

    const codexHome = join(home, '.agentgate', 'codex-home')
    const config = readFileSync(join(codexHome, 'config.toml'), 'utf8')
    expect(config).toContain('model = "first-model"')
    expect(config).toContain('supports_websockets = true')
    const catalogPath = join(codexHome, 'agentgate-models.json')
    expect(config).toContain(`model_catalog_json = ${JSON.stringify(catalogPath)}`)
    const catalog = JSON.parse(readFileSync(catalogPath, 'utf8'))
    expect(catalog.models.map((m: any) => [m.slug, m.context_window])).toEqual([
      ['first-model', 16384],
      ['second-model', 8192],
    ])

    // The session went over one WebSocket with forced storage: the turns are in the gateway's database.
    const db = new Database(join(home, '.agentgate', 'agentgate.db'), { readonly: true })
    try {
      const rows = db.query('select id, status, previous_response_id as prev from responses order by id').all() as {
        id: string
        status: string
        prev: string | null
      }[]
      // prewarm → tool-call turn → answer turn, each chained on the one before
      expect(rows.map((r) => r.status)).toEqual(['completed', 'completed', 'completed'])
      expect(rows.map((r) => r.prev)).toEqual([null, rows[0].id, rows[1].id])
    } finally {
      db.close()
    }
  }, 90_000)

  test('attaches to a gateway already serving on the configured port, and --model picks the model', async () => {
    const { home, cwd } = dirs('attach')
    const gw = await startGateway({ upstream: up.url })
    try {
      const before = (await gw.store.getResponse('default', 'x')) ?? null
      expect(before).toBeNull()
      const r = await launch(['--port', String(gw.app.server!.port), '--model', 'second-model', ...execArgs('write the marker file')], {
        home,
        cwd,
      })
      expect(r.code).toBe(0)
      expect(r.stderr).toContain(`Codex with model second-model via ${gw.url}`)
      const finished = gw.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'turn finished' && l.stored)
      // prewarm + tool-call turn + answer turn, all on the attached gateway
      expect(finished.length).toBe(3)
      const chain = await gw.store.loadChain('default', finished.at(-1).response_id)
      expect(chain!.responses).toHaveLength(3)
      expect(chain!.responses[1].model).toBe('second-model')
    } finally {
      await gw.stop()
    }
  }, 90_000)

  test("with an API key configured, Codex authenticates with it (env_key, not on disk) and the session is that tenant's", async () => {
    const { home, cwd } = dirs('keyed')
    const key = 'sk-launcher-team-x-4b1d'
    const r = await launch(['--upstream', up.url, '--port', '0', '--api-key', `team-x:${key}`, ...execArgs('write the marker file')], {
      home,
      cwd,
    })
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).toContain(`Done: ${MARKER}`)
    expect(r.stdout + r.stderr).not.toContain(key)
    const codexHome = join(home, '.agentgate', 'codex-home')
    const config = readFileSync(join(codexHome, 'config.toml'), 'utf8')
    expect(config).toContain('env_key = "AGENTGATE_CODEX_API_KEY"')
    expect(config).not.toContain(key)
    const db = new Database(join(home, '.agentgate', 'agentgate.db'), { readonly: true })
    try {
      const rows = db.query('select tenant, status from responses order by id').all() as { tenant: string; status: string }[]
      // prewarm → tool-call turn → answer turn, over the authenticated WebSocket
      expect(rows).toEqual([0, 1, 2].map(() => ({ tenant: 'team-x', status: 'completed' })))
    } finally {
      db.close()
    }
  }, 90_000)

  test('attaching to a gateway that needs a key, without one, says to pass --api-key', async () => {
    const { home, cwd } = dirs('attach-keyed')
    const gw = await startGateway({ upstream: up.url, env: { AGENTGATE_API_KEYS: 'ops:sk-attach-key-77' } })
    try {
      const r = await launch(['--port', String(gw.app.server!.port), ...execArgs('x')], { home, cwd })
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('needs an API key: pass the one it accepts with --api-key')
      // with it, the attached session is the key's tenant
      const ok = await launch(
        ['--port', String(gw.app.server!.port), '--api-key', 'ops:sk-attach-key-77', ...execArgs('write the marker file')],
        { home, cwd },
      )
      expect(ok.code).toBe(0)
      const finished = gw.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'turn finished' && l.stored)
      expect(finished.length).toBe(3)
      expect(await gw.store.getResponse('ops', finished.at(-1).response_id)).not.toBeNull()
    } finally {
      await gw.stop()
    }
  }, 90_000)

  test('after Codex exits, nothing it started keeps running: a tool process that detached itself is ended', async () => {
    const { home, cwd } = dirs('leftovers')
    const seconds = 86_000 + Math.floor(Math.random() * 400)
    up.queue(
      {
        functionCalls: [
          {
            name: 'exec_command',
            arguments: JSON.stringify({ cmd: `setsid sleep ${seconds} > /dev/null 2>&1 < /dev/null & echo detached`, yield_time_ms: 1000 }),
          },
        ],
      },
      { text: 'Left a sleeper.' },
    )
    const r = await launch(['--upstream', up.url, '--port', '0', ...execArgs('start a background job')], { home, cwd })
    const survivors = processesMatching((cmd) => cmd === `sleep\0${seconds}\0`)
    for (const pid of survivors) process.kill(pid, 'SIGKILL')
    expect(r.code).toBe(0)
    expect(r.stdout + r.stderr).toContain('Left a sleeper.')
    expect(survivors).toEqual([])
  }, 90_000)

  // The interactive TUI on a pseudo-terminal (util-linux `script`): quitting it leaves no app-server daemon behind,
  // and `agentgate codex -- resume --last` then continues the session.
  test.skipIf(!Bun.which('script'))(
    'quitting the TUI leaves no Codex process behind, and `-- resume --last` continues the session',
    async () => {
      const { home, cwd } = dirs('tui')
      const codexHome = join(home, '.agentgate', 'codex-home')
      /** Codex processes still running from this CODEX_HOME (ended here, so a failure leaves nothing behind either) */
      const leftBehind = () => {
        const pids = processesMatching((cmd) => cmd.includes(codexHome))
        for (const pid of pids) process.kill(pid, 'SIGKILL')
        return pids
      }
      // The TUI also asks for a session title on the side: every request gets an answer fitting what it asks.
      const said = (req: RecordedRequest, text: string) => JSON.stringify(req.body.input).includes(text)
      const upstream = startFakeUpstream({
        defaultReply: (req) => ({
          text: said(req, 'Generate a concise')
            ? 'Say hello'
            : said(req, 'and again')
              ? 'Back again in the resumed session.'
              : 'Hello from the first session.',
        }),
      })
      try {
        const asked = (text: string) => () =>
          upstream.requestsTo('/v1/responses').some((q) => said(q, text) && !said(q, 'Generate a concise'))
        const first = await tui(
          ['--upstream', upstream.url, '--port', '0', '--', '--dangerously-bypass-approvals-and-sandbox', 'say hello'],
          { home, cwd, until: asked('say hello') },
        )
        expect(first.seen).toBe(true)
        expect(first.code).toBe(0)
        await Bun.sleep(500)
        expect(leftBehind()).toEqual([])

        const second = await tui(
          ['--upstream', upstream.url, '--port', '0', '--', '--dangerously-bypass-approvals-and-sandbox', 'resume', '--last', 'and again'],
          { home, cwd, until: asked('and again') },
        )
        expect(second.output).not.toContain('active writer')
        expect(second.seen).toBe(true)
        expect(second.code).toBe(0)
        // the resumed turn carried the first session's exchange as its history
        const resumed = upstream.requestsTo('/v1/responses').find((q) => said(q, 'and again') && !said(q, 'Generate a concise'))!
        expect(said(resumed, 'Hello from the first session.')).toBe(true)
        expect(leftBehind()).toEqual([])
      } finally {
        await upstream.stop()
      }
    },
    120_000,
  )

  test('a SIGTERM sent to the launcher is passed on to Codex, and the launcher ends with Codex', async () => {
    const { home, cwd } = dirs('sigterm')
    const fake = join(home, 'fake-codex')
    writeFileSync(
      fake,
      `#!/bin/sh\ntrap 'echo got-term > "${cwd}/term.txt"; exit 3' TERM\necho up > "${cwd}/ready.txt"\nwhile :; do sleep 0.1; done\n`,
      { mode: 0o755 },
    )
    const proc = Bun.spawn([process.execPath, MAIN, 'codex', '--upstream', up.url, '--port', '0', '--codex', fake], {
      cwd,
      env: { PATH: process.env.PATH, HOME: home, AGENTGATE_HOME: join(home, '.agentgate') },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const killer = setTimeout(() => proc.kill('SIGKILL'), 50_000)
    // Bounded, and generous: under load the launcher takes a while to start its gateway before Codex.
    for (let i = 0; i < 600 && !existsSync(join(cwd, 'ready.txt')); i++) await Bun.sleep(50)
    expect(existsSync(join(cwd, 'ready.txt'))).toBe(true)
    proc.kill('SIGTERM')
    const code = await proc.exited
    clearTimeout(killer)
    expect(readFileSync(join(cwd, 'term.txt'), 'utf8').trim()).toBe('got-term')
    expect(code).toBe(3) // Codex's own exit status
  }, 60_000)

  // Quitting the TUI with Ctrl-C twice: the second one may arrive after Codex has exited, while the launcher still
  // ends what Codex left running. It must not kill the launcher half-way (leftovers alive, exit 130).
  test('a Ctrl-C while the launcher ends leftovers does not stop it: they are ended and Codex’s status is returned', async () => {
    const { home, cwd } = dirs('sigint-cleanup')
    const fake = join(home, 'fake-codex')
    // A helper that shrugs off SIGTERM (a slow-to-stop daemon) keeps the launcher in its clean-up for its grace time.
    writeFileSync(
      fake,
      [
        '#!/bin/sh',
        `setsid sh -c 'trap "echo got-term > ${cwd}/term.txt" TERM; echo $$ > ${cwd}/helper.pid; while :; do sleep 0.1; done' &`,
        `while [ ! -s "${cwd}/helper.pid" ]; do sleep 0.05; done`,
        'exit 0',
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    const proc = Bun.spawn([process.execPath, MAIN, 'codex', '--upstream', up.url, '--port', '0', '--codex', fake], {
      cwd,
      env: { PATH: process.env.PATH, HOME: home, AGENTGATE_HOME: join(home, '.agentgate') },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const killer = setTimeout(() => proc.kill('SIGKILL'), 50_000)
    let helper = 0
    try {
      // The helper got SIGTERM: Codex has exited and the launcher is ending what it left (bounded wait).
      for (let i = 0; i < 600 && !existsSync(join(cwd, 'term.txt')); i++) await Bun.sleep(50)
      helper = Number(readFileSync(join(cwd, 'helper.pid'), 'utf8').trim())
      expect(existsSync(join(cwd, 'term.txt'))).toBe(true)
      proc.kill('SIGINT')
      const code = await proc.exited
      expect({ code, signal: proc.signalCode }).toEqual({ code: 0, signal: null })
      // ended: gone, or a zombie nobody has reaped yet (a setsid child of an exited shell)
      const state = (() => {
        try {
          return readFileSync(`/proc/${helper}/stat`, 'latin1').replace(/^\d+ \(.*\) /, '')[0]
        } catch {
          return 'gone'
        }
      })()
      expect(['gone', 'Z']).toContain(state)
    } finally {
      clearTimeout(killer)
      if (helper) {
        try {
          process.kill(helper, 'SIGKILL')
        } catch {}
      }
    }
  }, 60_000)

  test('without codex on PATH it says how to install it', async () => {
    const { home, cwd } = dirs('missing')
    const r = await launch(['--upstream', up.url], { home, cwd, path: '/usr/bin:/bin' })
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('npm install -g @openai/codex')
  })

  test('an unknown model is a clear error naming the served ones', async () => {
    const { home, cwd } = dirs('badmodel')
    const r = await launch(['--upstream', up.url, '--port', '0', '--model', 'nope', ...execArgs('x')], { home, cwd })
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('model "nope" is not served by the upstream; it has: first-model, second-model')
  })

  test('the generated config.toml is the CODEX.md provider block', () => {
    const toml = Bun.TOML.parse(codexConfigToml('http://127.0.0.1:9000', 'm', '/x/models.json')) as any
    expect(toml).toMatchObject({
      model: 'm',
      model_provider: 'agentgate',
      model_catalog_json: '/x/models.json',
      model_providers: {
        agentgate: {
          name: 'agentgate',
          base_url: 'http://127.0.0.1:9000/v1',
          wire_api: 'responses',
          requires_openai_auth: false,
          supports_websockets: true,
        },
      },
      features: { image_generation: false },
    })
  })
})
