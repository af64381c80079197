// The flow `agentgate codex` and `agentgate claude` share: parse the command's arguments, find the agent's CLI, load
// the settings, attach to the gateway on the configured address or start one in this process (logging to
// $AGENTGATE_HOME/logs/<command>-launcher.log, never to the agent's terminal), run the CLI against it with SIGTERM
// and SIGHUP passed on, then end what the session left running and stop the gateway. An Agent says what differs.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { launcherKey, probeGateway } from '../codex/launcher'
import { endTagged, LAUNCH_TAG_ENV, newLaunchTag } from '../codex/leftovers'
import { commandArgs } from '../command-args'
import { type Config, loadConfig } from '../config'
import { createGateway, type Gateway } from '../gateway'

/** What the agent needs to run against the gateway at a URL: its environment and the line that announces it. */
export interface AgentSession {
  /** the child's whole environment */
  env: Record<string, string | undefined>
  /** the start line on stderr; `logPath` is the gateway log when the gateway was started here */
  banner(logPath: string | null): string
}

/** One agent CLI as the launcher runs it. */
export interface Agent {
  /** the subcommand (codex, claude); it also names the log file */
  command: string
  /** the agent in messages (Codex, Claude Code) */
  name: string
  help: string
  /** the flag naming the executable (--codex, --claude) */
  exeFlag: string
  /** the executable to run, or why there is none (printed; exit 127) */
  find(explicit: string | undefined, env: Record<string, string | undefined>): { exe: string } | { missing: string }
  /** the agent's side of the session (its home, model, environment) for the gateway at `url` */
  prepare(config: Config, url: string, model: string | null, key: string | null): Promise<AgentSession>
  /** the message (exit 127) when the executable cannot be spawned; without it the spawn error is thrown */
  cannotRun?(exe: string, e: unknown): string
}

interface LauncherLog {
  path: string
  write: (line: string) => void
  close(): void
}

/** The file a gateway started by a launcher logs to: $AGENTGATE_HOME/logs/<command>-launcher.log, appended. */
function openLauncherLog(home: string, command: string): LauncherLog {
  const dir = join(home, 'logs')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, `${command}-launcher.log`)
  const fd = openSync(path, 'a')
  return { path, write: (line) => void writeSync(fd, `${line}\n`), close: () => closeSync(fd) }
}

/** The gateway on the configured address if one answers there, else one started here (on a free port if need be). */
async function attachOrStart(config: Config, command: string): Promise<{ url: string; running: Gateway | null; log: LauncherLog | null }> {
  const configured = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`
  if (await probeGateway(configured)) return { url: configured, running: null, log: null }
  // The terminal belongs to the agent: the gateway started here logs to a file, never to it.
  const log = openLauncherLog(config.home, command)
  const opts = { quiet: true, log: log.write }
  try {
    let running = await createGateway(config, opts)
    const url = await running.listen().catch(async (e) => {
      // The configured port is taken by something that is not agentgate: serve on any free port.
      if (!String(e?.code ?? e?.message).includes('EADDRINUSE')) throw e
      running = await createGateway({ ...config, port: 0 }, opts)
      return running.listen()
    })
    return { url, running, log }
  } catch (e) {
    log.close()
    throw e
  }
}

export async function runLauncher(agent: Agent, argv: string[]): Promise<number> {
  const args = commandArgs(argv, {
    command: agent.command,
    help: agent.help,
    flags: ['--model', agent.exeFlag],
    strayHint: `put ${agent.name}'s arguments after \`--\``,
  })
  if (!args) return 0
  const found = agent.find(args.flags[agent.exeFlag] as string | undefined, process.env)
  if ('missing' in found) {
    process.stderr.write(`agentgate: ${found.missing}\n`)
    return 127
  }
  const config = loadConfig({ flags: args.flags, env: process.env })
  // With keys configured the agent gets one (in its environment); checked before anything starts.
  const key = launcherKey(config)
  const { url, running, log } = await attachOrStart(config, agent.command)
  const tag = newLaunchTag()
  let proc: ReturnType<typeof Bun.spawn> | null = null
  // The agent shares the terminal's process group, so Ctrl-C reaches it directly; a SIGTERM or SIGHUP sent to the
  // launcher alone is passed on, and the launcher waits for the agent to end either way. The handlers stay until
  // the clean-up below is done: quitting a TUI with Ctrl-C twice may send the second one after the agent exited,
  // and it must not stop the launcher half-way through ending what the agent left running.
  const onTerm = () => proc?.kill('SIGTERM')
  const onHup = () => proc?.kill('SIGHUP')
  const onInt = () => {}
  process.on('SIGTERM', onTerm).on('SIGHUP', onHup).on('SIGINT', onInt)
  try {
    const session = await agent.prepare(config, url, (args.flags['--model'] as string | undefined) ?? null, key)
    process.stderr.write(`${session.banner(log?.path ?? null)}\n`)
    try {
      proc = Bun.spawn([found.exe, ...args.rest], {
        stdio: ['inherit', 'inherit', 'inherit'],
        env: { ...session.env, [LAUNCH_TAG_ENV]: tag },
      })
    } catch (e) {
      if (!agent.cannotRun) throw e
      process.stderr.write(`agentgate: ${agent.cannotRun(found.exe, e)}\n`)
      return 127
    }
    return await proc.exited
  } finally {
    // Whatever the agent started and left running (tool processes that detached, helpers) ends with the session.
    await endTagged(tag)
    await running?.stop()
    log?.close()
    process.off('SIGTERM', onTerm).off('SIGHUP', onHup).off('SIGINT', onInt)
  }
}
