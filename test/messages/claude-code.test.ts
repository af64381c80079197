// The real Claude Code CLI (@anthropic-ai/claude-code, offline) against the gateway and the scripted upstream, over
// both upstream adapters: `claude -p` sends a prompt, the model calls Bash, Claude Code runs the command in a temp
// dir and sends the result back, and the model's final text is printed. Then the same through `agentgate claude`.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { UPSTREAM_APIS } from '../support/upstream-view'
import { run as runCommand } from '../support/binary'
import { MAIN } from '../support/cli'

const CLAUDE = claudeBinary()

/**
 * The native Claude Code binary. The wrapper package's bin is a small placeholder until its postinstall copies the
 * binary over it, and Bun does not always run that script (it did not in a fresh clone with a warm cache), so the
 * binary is taken from the platform package npm installed beside it, as the postinstall itself does.
 */
function claudeBinary(): string {
  const root = resolve(import.meta.dir, '../../node_modules/@anthropic-ai')
  const bin = join(root, 'claude-code', 'bin', 'claude.exe')
  if (existsSync(bin) && statSync(bin).size > 1 << 20) return bin
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
  // The package manager installs only the platform package that fits (os, cpu, libc): take whichever is there.
  const found = ['', '-musl']
    .map((libc) => join(root, `claude-code-${process.platform}-${arch}${libc}`, 'claude'))
    .find((p) => existsSync(p))
  return found ?? bin
}
const FINAL = 'The file f.txt now says hi.'

/** The scripted model: Bash until a tool result comes back, then the final answer. */
function bashThenAnswer(req: RecordedRequest): TurnScript {
  const text = JSON.stringify(req.body)
  const answered = text.includes('function_call_output') || text.includes('"role":"tool"')
  if (answered) return { text: FINAL }
  return {
    functionCalls: [
      { name: 'Bash', arguments: JSON.stringify({ command: 'echo hi > f.txt', description: 'write f' }), call_id: 'toolu_bash1' },
    ],
  }
}

/** Claude Code's environment: a private HOME, nothing of the user's Anthropic settings. */
function claudeEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    IS_SANDBOX: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    ...extra,
  }
  return env
}

/** Runs a command to its end (killed after 90 s: Claude Code starts slowly under load). */
const run = (cmd: string[], cwd: string, env: Record<string, string>) => runCommand(cmd, { cwd, env, timeoutMs: 90_000 })

const PROMPT = 'Write hi into f.txt with Bash, then tell me what the file says.'

for (const api of UPSTREAM_APIS) {
  describe(`Claude Code over upstream API ${api}`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    let dir: string
    beforeAll(async () => {
      up = startFakeUpstream({ models: [{ id: 'local-coder', max_model_len: 65536 }], defaultReply: bashThenAnswer })
      gw = await startGateway({ upstream: up.url, env: { AGENTGATE_UPSTREAM_API: api }, logLevel: 'warn' })
    })
    afterAll(async () => {
      await gw.stop()
      await up.stop()
    })

    test("claude -p runs the model's Bash call in its directory and prints the final answer", async () => {
      dir = mkdtempSync(join(tmpdir(), 'agentgate-claude-'))
      try {
        const r = await run(
          [CLAUDE, '-p', PROMPT, '--model', 'claude-sonnet-4-6', '--dangerously-skip-permissions'],
          dir,
          claudeEnv(dir, { ANTHROPIC_BASE_URL: gw.url, ANTHROPIC_API_KEY: 'unused' }),
        )
        expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) })
        expect(r.stdout.trim()).toBe(FINAL)
        expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe('hi\n')
        // Claude Code's id was served by the upstream's model.
        const gen = up.requests.filter((q) => q.method === 'POST' && q.path !== '/tokenize')
        expect(gen.length).toBeGreaterThanOrEqual(2)
        expect(gen.every((q) => q.body.model === 'local-coder')).toBe(true)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)

    test('agentgate claude starts a gateway, sets the environment, and Claude Code runs the Bash call; the gateway logs to a file', async () => {
      dir = mkdtempSync(join(tmpdir(), 'agentgate-claude-launch-'))
      try {
        const home = join(dir, 'agentgate-home')
        const r = await run(
          [
            process.execPath,
            MAIN,
            'claude',
            '--port',
            '0',
            '--upstream',
            up.url,
            '--upstream-api',
            api,
            '--claude',
            CLAUDE,
            '--',
            '-p',
            PROMPT,
            '--dangerously-skip-permissions',
          ],
          dir,
          claudeEnv(dir, { AGENTGATE_HOME: home }),
        )
        expect({ code: r.code, stderr: r.stderr }).toEqual({
          code: 0,
          stderr: expect.stringContaining('Claude Code with model local-coder'),
        })
        expect(r.stdout.trim()).toBe(FINAL)
        expect(readFileSync(join(dir, 'f.txt'), 'utf8')).toBe('hi\n')
        // Nothing of the gateway on the terminal (the launcher's one line aside): its log lines went to the file.
        expect(r.stderr.split('\n').filter((l) => l.startsWith('agentgate') || l.includes('"msg"'))).toHaveLength(1)
        expect(r.stderr).not.toContain('AUTO_COMPACT_WINDOW')
        expect(readFileSync(join(home, 'logs', 'claude-launcher.log'), 'utf8')).toContain('"msg":"started"')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }, 120_000)
  })
}

test('agentgate claude says how to install Claude Code when it is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-claude-missing-'))
  try {
    const r = await run([process.execPath, MAIN, 'claude', '--upstream', 'http://127.0.0.1:9/v1'], dir, {
      PATH: '/nonexistent',
      HOME: dir,
      AGENTGATE_HOME: dir,
    })
    expect(r.code).toBe(127)
    expect(r.stderr).toContain('npm install -g @anthropic-ai/claude-code')
    expect(existsSync(join(dir, 'logs'))).toBe(false)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test("agentgate claude hands Claude Code the gateway, its key, the model in every slot and the model's window", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agentgate-claude-env-'))
  const up = startFakeUpstream({
    models: [
      { id: 'small-coder', max_model_len: 65536 },
      { id: 'big-coder', max_model_len: 262144 },
    ],
  })
  try {
    const standIn = join(dir, 'claude')
    await Bun.write(standIn, '#!/bin/sh\nenv > "$DUMP"\necho "args: $*"\n')
    await Bun.$`chmod +x ${standIn}`
    const dump = join(dir, 'env.txt')
    const envOf = async (extra: string[]) => {
      const r = await run(
        [process.execPath, MAIN, 'claude', '--port', '0', '--upstream', up.url, '--api-key', 'team:sk-team', '--claude', standIn, ...extra],
        dir,
        { PATH: process.env.PATH ?? '', HOME: dir, AGENTGATE_HOME: join(dir, 'home'), DUMP: dump, ANTHROPIC_API_KEY: 'sk-ant-real' },
      )
      expect(r.code).toBe(0)
      return {
        out: r.stdout,
        env: Object.fromEntries(
          readFileSync(dump, 'utf8')
            .trim()
            .split('\n')
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        ),
      }
    }
    const small = await envOf(['--', '-p', 'hi'])
    expect(small.out.trim()).toBe('args: -p hi')
    expect(small.env.ANTHROPIC_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(small.env.ANTHROPIC_AUTH_TOKEN).toBe('sk-team')
    expect(small.env.ANTHROPIC_API_KEY).toBeUndefined()
    for (const k of [
      'ANTHROPIC_MODEL',
      'ANTHROPIC_SMALL_FAST_MODEL',
      'ANTHROPIC_DEFAULT_HAIKU_MODEL',
      'ANTHROPIC_DEFAULT_SONNET_MODEL',
      'ANTHROPIC_DEFAULT_OPUS_MODEL',
    ])
      expect([k, small.env[k]]).toEqual([k, 'small-coder'])
    expect(small.env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC).toBe('1')
    // Under 100k, Claude Code's floor: the threshold says 90% of the real window.
    expect([
      small.env.CLAUDE_CODE_AUTO_COMPACT_WINDOW,
      small.env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE,
      small.env.CLAUDE_CODE_MAX_OUTPUT_TOKENS,
    ]).toEqual(['100000', '58', '16384'])
    const big = await envOf(['--model', 'big-coder'])
    expect([
      big.env.ANTHROPIC_MODEL,
      big.env.CLAUDE_CODE_AUTO_COMPACT_WINDOW,
      big.env.CLAUDE_AUTOCOMPACT_PCT_OVERRIDE,
      big.env.CLAUDE_CODE_MAX_OUTPUT_TOKENS,
    ] as unknown[]).toEqual(['big-coder', '262144', undefined, '32000'])
  } finally {
    await up.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
