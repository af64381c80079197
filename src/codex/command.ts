// `agentgate codex [--model M] [-- codex args]`: the Codex CLI run through the shared launcher flow
// (launcher/run.ts) with a private CODEX_HOME written for the gateway (codex/launcher.ts).
import { accessSync, constants, type Stats, statSync } from 'node:fs'
import { settingsHelp } from '../config'
import { type Agent, runLauncher } from '../launcher/run'
import { CODEX_KEY_ENV, CODEX_MISSING, findCodex, prepareCodexHome } from './launcher'

export const CODEX_HELP = `Usage: agentgate codex [options] [-- codex arguments]

Runs the Codex CLI with agentgate as its model provider. Uses the gateway already serving on
--host/--port if there is one, otherwise starts one in this process (same settings as serve). Writes a
private CODEX_HOME ($AGENTGATE_HOME/codex-home) with the provider block and the gateway's model catalog
(model_catalog_json), then runs \`codex\` with the arguments after \`--\`, e.g.

  agentgate codex
  agentgate codex --model Qwen/Qwen3-8B -- exec "fix the failing test"
  agentgate codex -- resume --last          # continue the most recent session

A gateway started here logs to $AGENTGATE_HOME/logs/codex-launcher.log, never to Codex's terminal. When Codex
exits, whatever it started and left running is ended, then that gateway stops.

Options:
  --model M                            model for Codex (default: the upstream's first model)
  --codex PATH                         the codex executable (default: \`codex\` on PATH; env AGENTGATE_CODEX)
  --config FILE                        config file (TOML)
${settingsHelp()}
  --help                               this help
`

/** Why an explicitly given Codex executable (--codex or AGENTGATE_CODEX) cannot be run, naming the path; null when it can. */
function codexPathProblem(path: string): string | null {
  // A bare name was looked up on PATH (or will be by spawn); only paths are checked here.
  if (!path.includes('/')) return null
  let st: Stats
  try {
    st = statSync(path)
  } catch {
    return `the Codex executable ${path} does not exist (--codex or AGENTGATE_CODEX)`
  }
  if (st.isDirectory()) return `the Codex executable ${path} is a directory, not a program (--codex or AGENTGATE_CODEX)`
  try {
    accessSync(path, constants.X_OK)
  } catch {
    return `the Codex executable ${path} is not executable (chmod +x it, or fix --codex / AGENTGATE_CODEX)`
  }
  return null
}

const CODEX: Agent = {
  command: 'codex',
  name: 'Codex',
  help: CODEX_HELP,
  exeFlag: '--codex',
  find(explicit, env) {
    const exe = findCodex(explicit, env)
    if (exe === null) return { missing: CODEX_MISSING }
    const problem = codexPathProblem(exe)
    return problem ? { missing: problem } : { exe }
  },
  async prepare(config, url, model, key) {
    const plan = await prepareCodexHome(config, url, model, key)
    return {
      // Codex reads the gateway's key from CODEX_KEY_ENV (the provider block's env_key), never from a file.
      env: { ...process.env, CODEX_HOME: plan.codexHome, ...(key === null ? {} : { [CODEX_KEY_ENV]: key }) },
      banner: (logPath) =>
        `agentgate: Codex with model ${plan.model} via ${url} (CODEX_HOME ${plan.codexHome}${logPath ? `; gateway log ${logPath}` : ''})`,
    }
  },
}

export function runCodexCommand(argv: string[]): Promise<number> {
  return runLauncher(CODEX, argv)
}
