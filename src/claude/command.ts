// `agentgate claude [--model M] [-- claude args]`: attaches to a gateway on the configured address or starts one in
// this process (logging to $AGENTGATE_HOME/logs/claude-launcher.log, never to Claude Code's terminal), then runs
// `claude` against it with the environment of claude/launcher.ts.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { launcherKey, probeGateway } from '../codex/launcher'
import { endTagged, LAUNCH_TAG_ENV, newLaunchTag } from '../codex/leftovers'
import { CONFIG_FLAGS, ConfigError, loadConfig, parseArgs } from '../config'
import { createGateway, type Gateway } from '../gateway'
import { CLAUDE_ENV_REMOVED, CLAUDE_MISSING, claudeEnvironment, findClaude, planClaude } from './launcher'

export const CLAUDE_HELP = `Usage: agentgate claude [options] [-- claude arguments]

Runs Claude Code (\`claude\`) with agentgate as its Anthropic API. Attaches to the gateway on --host/--port
when one answers there, or starts one in this process. Claude Code gets ANTHROPIC_BASE_URL, the gateway's
key (the first plain --api-key, as a bearer token), the upstream model for every model slot, the model's
context window (the upstream's max_model_len) and no non-essential traffic, then runs with the arguments
after \`--\`, e.g.
  agentgate claude
  agentgate claude --model Qwen/Qwen3-8B -- -p "fix the failing test"

A gateway started here logs to $AGENTGATE_HOME/logs/claude-launcher.log, never to Claude Code's terminal.

Options:
  --model ID                           the upstream model (default: --anthropic-model, else the upstream's first)
  --claude PATH                        the claude executable (default: \`claude\` on PATH; env AGENTGATE_CLAUDE)
  --config FILE and every serve option (see agentgate serve --help)
  --help                               this help
`

export async function runClaudeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, new Set([...CONFIG_FLAGS, '--model', '--claude']), new Set(['--help']))
  if (args.flags['--help'] || args.positionals.includes('--help')) {
    process.stdout.write(CLAUDE_HELP)
    return 0
  }
  if (args.positionals.length)
    throw new ConfigError(
      `unexpected argument "${args.positionals[0]}"; put Claude Code's arguments after \`--\` (see agentgate claude --help)`,
    )
  const claude = findClaude(args.flags['--claude'] as string | undefined, process.env)
  if (!claude) {
    process.stderr.write(`agentgate: ${CLAUDE_MISSING}\n`)
    return 127
  }
  const config = loadConfig({ flags: args.flags, env: process.env })
  const key = launcherKey(config)
  const configured = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
  let running: Gateway | null = null
  let url = configured
  let log: { path: string; write: (line: string) => void; close(): void } | null = null
  if (!(await probeGateway(configured))) {
    // The terminal belongs to Claude Code: the gateway started here logs to a file.
    log = openLog(config.home)
    const opts = { quiet: true, log: log.write }
    running = await createGateway(config, opts)
    url = await running.listen().catch(async (e) => {
      // The configured port is taken by something that is not agentgate: serve on any free port.
      if (!String(e?.code ?? e?.message).includes('EADDRINUSE')) throw e
      running = await createGateway({ ...config, port: 0 }, opts)
      return running.listen()
    })
  }
  const tag = newLaunchTag()
  try {
    const plan = await planClaude(config, url, (args.flags['--model'] as string | undefined) ?? null, key)
    process.stderr.write(`agentgate: Claude Code with model ${plan.model} via ${url}${log ? ` (gateway log ${log.path})` : ''}\n`)
    const env: Record<string, string | undefined> = { ...process.env, ...claudeEnvironment(url, plan, key), [LAUNCH_TAG_ENV]: tag }
    for (const k of CLAUDE_ENV_REMOVED) delete env[k]
    let proc: ReturnType<typeof Bun.spawn>
    try {
      proc = Bun.spawn([claude, ...args.rest], { stdio: ['inherit', 'inherit', 'inherit'], env })
    } catch (e) {
      process.stderr.write(`agentgate: could not run ${claude}: ${(e as Error).message}. ${CLAUDE_MISSING}\n`)
      return 127
    }
    // A SIGTERM or SIGHUP sent to the launcher alone is passed on; Ctrl-C reaches Claude Code directly.
    const onTerm = () => proc.kill('SIGTERM')
    const onHup = () => proc.kill('SIGHUP')
    const onInt = () => {}
    process.on('SIGTERM', onTerm).on('SIGHUP', onHup).on('SIGINT', onInt)
    try {
      return await proc.exited
    } finally {
      process.off('SIGTERM', onTerm).off('SIGHUP', onHup).off('SIGINT', onInt)
    }
  } finally {
    await endTagged(tag)
    await running?.stop()
    log?.close()
  }
}

function openLog(home: string): { path: string; write: (line: string) => void; close(): void } {
  const dir = join(home, 'logs')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, 'claude-launcher.log')
  const fd = openSync(path, 'a')
  return { path, write: (line) => void writeSync(fd, line + '\n'), close: () => closeSync(fd) }
}
