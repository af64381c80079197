#!/usr/bin/env bun
// CLI entry: parses argv, loads config, runs a command. `agentgate` alone = `agentgate serve`.

import { CONFIG_FLAGS, ConfigError, loadConfig, parseArgs, settingsHelp, type Config } from './config'
import { createApp } from './app'
import { timeOrderedId } from './ids'
import { createLogger } from './log'
import { openStore } from './store'
import { createUpstreamClient } from './upstream/client'
import { VERSION } from './version'

const USAGE = `agentgate ${VERSION} — a stateful OpenAI Responses API gateway in front of vLLM or any OpenAI-compatible server

Usage:
  agentgate [serve] [options]     run the gateway (the default command)
  agentgate --version             print the version
  agentgate <command> --help      help for a command

Commands:
  serve      run the gateway
`

const SERVE_HELP = `Usage: agentgate serve [options]

Runs the gateway. Settings come from flags, then AGENTGATE_* environment variables, then the config
file ($AGENTGATE_HOME/config.toml, default ~/.agentgate/config.toml, or --config FILE), then defaults.

Options:
  --config FILE                        config file (TOML)
${settingsHelp()}
  --help                               this help
`

export interface Running {
  url: string
  stop(): Promise<void>
}

export async function serve(config: Config, version = VERSION): Promise<Running> {
  const logger = createLogger(config.logLevel)
  const store = await openStore(config)
  const interrupted = await store.failInterrupted('The gateway stopped while this response was running.', Date.now())
  if (interrupted.length) logger.warn('marked responses left running by a previous process as failed', { count: interrupted.length })
  const upstream = createUpstreamClient({
    baseUrl: config.upstream,
    apiKey: config.upstreamKey,
    connectTimeoutMs: config.connectTimeoutMs,
    firstByteTimeoutMs: config.firstByteTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
  })
  const app = createApp({ config, upstream, store, clock: Date.now, ids: timeOrderedId, logger, version })
  app.listen({ hostname: config.host, port: config.port })
  const server = app.server!
  const host = server.hostname ?? config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${server.port}`
  // The one line scripts read to find the port; always printed, whatever the log level.
  process.stdout.write(`agentgate listening on ${url}\n`)
  logger.info('started', { version, upstream: config.upstream, store: config.databaseUrl ? 'postgres' : config.db, auth: config.apiKeys.length > 0 })
  return {
    url,
    async stop() {
      await app.stop(true)
      await store.close()
    },
  }
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
      const args = parseArgs(rest, CONFIG_FLAGS, new Set(['--help']))
      if (args.flags['--help'] || args.positionals.includes('--help')) {
        process.stdout.write(SERVE_HELP)
        return 0
      }
      if (args.positionals.length) throw new ConfigError(`unexpected argument "${args.positionals[0]}" (see agentgate serve --help)`)
      const config = loadConfig({ flags: args.flags, env: process.env })
      const running = await serve(config)
      const shutdown = async () => {
        await running.stop()
        process.exit(0)
      }
      process.once('SIGINT', shutdown)
      process.once('SIGTERM', shutdown)
      return -1 // keep running
    }
    default:
      process.stderr.write(`agentgate: unknown command "${command}" (see agentgate --help)\n`)
      return 2
  }
}

if (import.meta.main) {
  process.env.NODE_ENV ??= 'production'
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code)
    },
    (e) => {
      // A bad setting is one clear line, not a stack trace.
      if (e instanceof ConfigError) process.stderr.write(`agentgate: ${e.message}\n`)
      else process.stderr.write(`agentgate: ${e?.message ?? e}\n`)
      process.exit(e instanceof ConfigError ? 2 : 1)
    },
  )
}
