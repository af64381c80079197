// The arguments of an agentgate command (serve, doctor, prune, and the codex/claude launchers): the settings' flags
// plus the command's own, --help (or -h) anywhere, and no stray word — one rule for every command.
import { CONFIG_FLAGS, ConfigError, type ParsedArgs, parseArgs } from './config'

export interface CommandSpec {
  /** the command's name, for `see agentgate <command> --help` */
  command: string
  /** its --help text */
  help: string
  /** flags with a value beyond the settings' (e.g. --model) */
  flags?: readonly string[]
  /** flags without a value beyond --help (e.g. --probe) */
  booleans?: readonly string[]
  /** what to say about a stray word (e.g. where the agent's own arguments go) */
  strayHint?: string
}

/**
 * The parsed arguments, or null when --help was asked for (its text is then on stdout). A stray positional is a
 * ConfigError naming the command.
 */
export function commandArgs(argv: string[], spec: CommandSpec): ParsedArgs | null {
  const args = parseArgs(argv, new Set([...CONFIG_FLAGS, ...(spec.flags ?? [])]), new Set(['--help', ...(spec.booleans ?? [])]))
  if (args.flags['--help'] || args.positionals.includes('--help')) {
    process.stdout.write(spec.help)
    return null
  }
  if (args.positionals.length)
    throw new ConfigError(
      `unexpected argument "${args.positionals[0]}"${spec.strayHint ? `; ${spec.strayHint}` : ''} (see agentgate ${spec.command} --help)`,
    )
  return args
}
