// `agentgate claude [--model M] [-- claude args]`: Claude Code run through the shared launcher flow (launcher/run.ts:
// attach to or start a gateway that logs to $AGENTGATE_HOME/logs/claude-launcher.log) with the environment of
// claude/launcher.ts.
import { type Agent, runLauncher } from '../launcher/run'
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

const CLAUDE: Agent = {
  command: 'claude',
  name: 'Claude Code',
  help: CLAUDE_HELP,
  exeFlag: '--claude',
  find(explicit, env) {
    const exe = findClaude(explicit, env)
    return exe ? { exe } : { missing: CLAUDE_MISSING }
  },
  async prepare(config, url, model, key) {
    const plan = await planClaude(config, url, model, key)
    const env: Record<string, string | undefined> = { ...process.env, ...claudeEnvironment(url, plan, key) }
    for (const k of CLAUDE_ENV_REMOVED) delete env[k]
    return {
      env,
      banner: (logPath) => `agentgate: Claude Code with model ${plan.model} via ${url}${logPath ? ` (gateway log ${logPath})` : ''}`,
    }
  },
  cannotRun: (exe, e) => `could not run ${exe}: ${(e as Error).message}. ${CLAUDE_MISSING}`,
}

export function runClaudeCommand(argv: string[]): Promise<number> {
  return runLauncher(CLAUDE, argv)
}
