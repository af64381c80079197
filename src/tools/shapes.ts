// The function each non-function tool is dressed as for the upstream, and the way back: function
// arguments → the action of a local_shell_call / shell_call, and those items → function arguments.
// Pure.

/** A function tool in the Responses request shape, as the upstream receives it. A tool as the upstream sees it: always a function. */
export type FunctionTool = { type: 'function'; name: string; [key: string]: unknown }

/** A custom (freeform) tool as a function with one string argument, `input`. */
export function customToolFunction(tool: Record<string, unknown>, upstreamName: string): FunctionTool {
  const format = (tool.format ?? null) as { type?: string; syntax?: string; definition?: string } | null
  const lines = [typeof tool.description === 'string' ? tool.description : '']
  lines.push('Pass the raw text this tool takes as the `input` argument (plain text, not JSON).')
  if (format?.type === 'grammar' && typeof format.definition === 'string') {
    lines.push(`The input must follow this ${format.syntax ?? 'lark'} grammar:\n${format.definition}`)
  }
  return {
    type: 'function',
    name: upstreamName,
    description: lines.filter(Boolean).join('\n\n'),
    parameters: {
      type: 'object',
      properties: { input: { type: 'string', description: 'The raw input for the tool.' } },
      required: ['input'],
      additionalProperties: false,
    },
    strict: false,
  }
}

export function localShellFunction(): FunctionTool {
  return {
    type: 'function',
    name: 'local_shell',
    description:
      'Runs a command on the user\'s machine and returns its output. `command` is the argument vector, e.g. ["bash", "-lc", "ls -la"].',
    parameters: {
      type: 'object',
      properties: {
        command: { type: 'array', items: { type: 'string' }, description: 'The program and its arguments.' },
        working_directory: { type: 'string', description: 'Directory to run the command in.' },
        timeout_ms: { type: 'integer', description: 'Time limit in milliseconds.' },
        env: { type: 'object', additionalProperties: { type: 'string' }, description: 'Extra environment variables.' },
      },
      required: ['command'],
      additionalProperties: false,
    },
    strict: false,
  }
}

export function shellFunction(): FunctionTool {
  return {
    type: 'function',
    name: 'shell',
    description: "Runs shell command lines on the user's machine, in order, and returns their output.",
    parameters: {
      type: 'object',
      properties: {
        commands: { type: 'array', items: { type: 'string' }, description: 'Shell command lines to run.' },
        timeout_ms: { type: 'integer', description: 'Time limit in milliseconds.' },
        max_output_length: { type: 'integer', description: 'Longest output to return, in characters.' },
      },
      required: ['commands'],
      additionalProperties: false,
    },
    strict: false,
  }
}

function parseObject(args: string): Record<string, unknown> {
  try {
    const v = JSON.parse(args)
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {}
  } catch {
    return {}
  }
}

const strings = (v: unknown): string[] | null => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : null)
const intOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null)

/** local_shell function arguments → a local_shell_call action. A command given as one string runs in bash. */
export function localShellAction(args: string): Record<string, unknown> {
  const a = parseObject(args)
  const command = Array.isArray(a.command) ? a.command.map(String) : typeof a.command === 'string' ? ['bash', '-lc', a.command] : []
  const env =
    a.env && typeof a.env === 'object' && !Array.isArray(a.env)
      ? Object.fromEntries(Object.entries(a.env).map(([k, v]) => [k, String(v)]))
      : {}
  return {
    type: 'exec',
    command,
    env,
    timeout_ms: intOrNull(a.timeout_ms ?? a.timeout),
    user: typeof a.user === 'string' ? a.user : null,
    working_directory: typeof (a.working_directory ?? a.workdir) === 'string' ? (a.working_directory ?? a.workdir) : null,
  }
}

/** shell function arguments → a shell_call action. */
export function shellAction(args: string): Record<string, unknown> {
  const a = parseObject(args)
  return {
    commands: strings(a.commands ?? a.command) ?? [],
    timeout_ms: intOrNull(a.timeout_ms ?? a.timeout),
    max_output_length: intOrNull(a.max_output_length),
  }
}

/** A local_shell_call's action → the function arguments the model originally produced (near enough). */
export function localShellArguments(action: unknown): string {
  const a = (action ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = { command: Array.isArray(a.command) ? a.command : [] }
  if (typeof a.working_directory === 'string') out.working_directory = a.working_directory
  if (typeof a.timeout_ms === 'number') out.timeout_ms = a.timeout_ms
  if (a.env && typeof a.env === 'object' && Object.keys(a.env).length) out.env = a.env
  return JSON.stringify(out)
}

export function shellArguments(action: unknown): string {
  const a = (action ?? {}) as Record<string, unknown>
  const out: Record<string, unknown> = { commands: Array.isArray(a.commands) ? a.commands : [] }
  if (typeof a.timeout_ms === 'number') out.timeout_ms = a.timeout_ms
  if (typeof a.max_output_length === 'number') out.max_output_length = a.max_output_length
  return JSON.stringify(out)
}

/** A shell_call_output's `output` (a list of per-command results) as the text the model reads. */
export function shellOutputText(output: unknown): string {
  if (typeof output === 'string') return output
  if (!Array.isArray(output)) return JSON.stringify(output ?? '')
  return output
    .map((item) => {
      const r = item as { stdout?: unknown; stderr?: unknown; outcome?: { type?: unknown; exit_code?: unknown } } | null
      const parts: string[] = []
      if (typeof r?.stdout === 'string' && r.stdout) parts.push(r.stdout)
      if (typeof r?.stderr === 'string' && r.stderr) parts.push(`[stderr]\n${r.stderr}`)
      const o = r?.outcome
      if (o?.type === 'exit') parts.push(`[exit code ${o.exit_code}]`)
      else if (o?.type === 'timeout') parts.push('[timed out]')
      return parts.join('\n')
    })
    .join('\n\n')
}
