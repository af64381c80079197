// The CLI: parses argv, loads config, runs a command. `agentgate` alone = `agentgate serve`. Loaded by main.ts (the
// entry, from source and in the binary) once serve has re-executed itself (fetch-cap.ts) and NODE_ENV is set.
import { commandArgs } from './command-args'
import { type Config, ConfigError, loadConfig, settingsHelp } from './config'
import { PURGE_DELAY_VARIABLE, SERVE_PURGE_DELAY_MS } from './allocator-env'
import { FETCH_CAP_VARIABLE, SERVE_FETCH_CAP, warnAboutFetchCap } from './fetch-cap'
import { createGateway } from './gateway'
import { StartupError } from './startup-errors'
import { openStore } from './store'
import { describePrune, pruneOnce } from './store/retention'
import { VERSION } from './version'

const USAGE = `agentgate ${VERSION} — a stateful OpenAI Responses API gateway in front of vLLM or any OpenAI-compatible server

Usage:
  agentgate [serve] [options]     run the gateway (the default command)
  agentgate --version             print the version
  agentgate <command> --help      help for a command

Commands:
  serve      run the gateway
  codex      run the Codex CLI with agentgate as its model provider
  claude     run Claude Code with agentgate as its Anthropic API
  doctor     check config, database, upstream, Codex catalog, MCP servers and agent CLIs
  prune      delete old data once (--retention-days, --event-log-retention-hours) and reclaim the space
`

const SERVE_HELP = `Usage: agentgate serve [options]

Runs the gateway. Settings come from flags, then AGENTGATE_* environment variables, then the config
file ($AGENTGATE_HOME/config.toml, default ~/.agentgate/config.toml, or --config FILE), then defaults.

Options:
  --config FILE                        config file (TOML)
${settingsHelp()}
  --help                               this help

Environment:
  ${FETCH_CAP_VARIABLE}=N       upstream requests in flight at once, 1–65535 (Bun's default: 256); unset,
                                       serve restarts itself once at start with it set to ${SERVE_FETCH_CAP}
  ${PURGE_DELAY_VARIABLE}=MS              ms the allocator keeps freed memory before giving it back (Bun's
                                       default: 100); unset, serve sets it to ${SERVE_PURGE_DELAY_MS} by the same restart
`

const DOCTOR_HELP = `Usage: agentgate doctor [--probe] [options]

Checks what the gateway depends on, with the same settings as serve, and prints a checklist:
  config         the settings resolve (flags, environment, config file)
  database       the SQLite file opens (read-only) and passes PRAGMA quick_check, or PostgreSQL answers;
                 the schema version against this agentgate's migrations
  upstream       GET /models answers with models (the URL is shown without credentials)
  upstream probe with --probe: a 1-token request to /responses or /chat/completions (per --upstream-api)
  codex catalog  the Codex model catalog builds from the upstream's models and the [models] overrides
  mcp LABEL      each [mcp_servers.LABEL] of the config file lists its tools (a stdio server is started for it)
  codex, claude  on PATH, with their versions (missing is a warning: only \`agentgate codex\` needs codex)
Exits 1 when a check fails (✗), 0 otherwise (✓ and ⚠). Changes nothing.

Options:
  --probe                              also send the upstream a 1-token generation request
  --config FILE                        config file (TOML)
${settingsHelp()}
  --help                               this help
`

const PRUNE_HELP = `Usage: agentgate prune [options]

Deletes what the retention settings say is old, once, and prints what it deleted (serve does the same in the
background every 10 minutes):
  --retention-days N              responses created more than N days ago (not queued/in_progress), with their
                                  items and events; conversations untouched for N days that are deleted or empty.
                                  Unset: responses and conversations are kept.
  --event-log-retention-hours N   the streaming events (only resume reads them) of responses finished over N h ago
SQLite: the freed pages are given back to the file system (incremental vacuum). A database created before
agentgate turned incremental vacuum on is converted by its first prune with one full VACUUM, which holds the
database for as long as rewriting the file takes: run that one while the gateway is stopped.
PostgreSQL: the space is reused; autovacuum (or VACUUM FULL, your call) handles the rest.

Options:
  --config FILE                        config file (TOML)
${settingsHelp()}
  --help                               this help
`

/**
 * The compiled executable starts with the JIT holding back (build.ts: compile.jitPolicy), so the code that runs once
 * at start-up is not compiled by the JIT threads while the start needs the cores; from here on it tiers up as usual.
 * A no-op when run from source.
 */
function jitAsUsual(): void {
  Bun.unsafe.setJITPolicy(1)
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version') {
    process.stdout.write(`agentgate ${VERSION}\n`)
    return 0
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'serve'
  const rest = command === argv[0] ? argv.slice(1) : argv
  switch (command) {
    case 'serve': {
      const args = commandArgs(rest, { command: 'serve', help: SERVE_HELP })
      if (!args) return 0
      const config = loadConfig({ flags: args.flags, env: process.env })
      const running = await createGateway(config)
      // First signal: drain (running turns finish or end failed), exit 0. A second signal: exit at once.
      // Installed before "listening" is printed: until then SIGTERM has its default action (the process is killed,
      // exit 143), and a supervisor may stop the gateway the moment it reads that line.
      let draining = false
      const onSignal = (signal: NodeJS.Signals) => {
        if (draining) {
          process.stderr.write(`agentgate: ${signal} again, exiting without waiting for running turns\n`)
          process.exit(signal === 'SIGINT' ? 130 : 143)
        }
        draining = true
        running.shutdown(signal).then(
          () => process.exit(0),
          (e) => {
            process.stderr.write(`agentgate: shutdown failed: ${e?.message ?? e}\n`)
            process.exit(1)
          },
        )
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
      await running.listen()
      warnAboutFetchCap(running.logger, process.env, process.platform)
      jitAsUsual()
      return -1 // keep running
    }
    // The other commands' modules load only for them: serve starts faster without the launchers, doctor's checks
    // and the MCP client those use.
    case 'codex':
      jitAsUsual()
      return (await import('./codex/command')).runCodexCommand(rest)
    case 'claude':
      jitAsUsual()
      return (await import('./claude/command')).runClaudeCommand(rest)
    case 'doctor':
      jitAsUsual()
      return runDoctorCommand(rest)
    case 'prune':
      jitAsUsual()
      return runPruneCommand(rest)
    default:
      process.stderr.write(`agentgate: unknown command "${command}" (see agentgate --help)\n`)
      return 2
  }
}

async function runDoctorCommand(argv: string[]): Promise<number> {
  const args = commandArgs(argv, { command: 'doctor', help: DOCTOR_HELP, booleans: ['--probe'] })
  if (!args) return 0
  const { doctorFailed, formatChecklist, runDoctor } = await import('./ops/doctor')
  let config: Config
  try {
    config = loadConfig({ flags: args.flags, env: process.env })
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    // A bad setting is the first thing doctor reports, not a usage error: nothing else can be checked without it.
    process.stdout.write(
      formatChecklist([
        { name: 'config', status: 'fail', detail: e.message, hint: 'fix that setting (agentgate serve --help lists them)' },
      ]),
    )
    return 1
  }
  const checks = await runDoctor(config, { probe: args.flags['--probe'] === true, path: process.env.PATH ?? '' })
  process.stdout.write(formatChecklist(checks))
  return doctorFailed(checks) ? 1 : 0
}

async function runPruneCommand(argv: string[]): Promise<number> {
  const args = commandArgs(argv, { command: 'prune', help: PRUNE_HELP })
  if (!args) return 0
  const config = loadConfig({ flags: args.flags, env: process.env })
  const store = await openStore(config)
  try {
    const policy = { retentionDays: config.retentionDays, eventLogRetentionHours: config.eventLogRetentionHours }
    const result = await pruneOnce(store, policy, Date.now(), { convertVacuum: true })
    process.stdout.write(describePrune(result, policy) + '\n')
    return 0
  } finally {
    await store.close()
  }
}

/** Runs the command in `argv` (process.argv without the runtime and script), then exits (serve: once it has shut down). */
export function runCli(argv: string[]): void {
  main(argv).then(
    (code) => {
      if (code >= 0) process.exit(code)
    },
    (e) => {
      // A bad setting is one clear line, not a stack trace.
      if (e instanceof ConfigError) process.stderr.write(`agentgate: ${e.message}\n`)
      else process.stderr.write(`agentgate: ${e?.message ?? e}\n`)
      process.exit(e instanceof ConfigError || e instanceof StartupError ? 2 : 1)
    },
  )
}
