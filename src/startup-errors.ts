// Start-up failures said in one line that names what failed: the address that cannot be bound, and why.
// cli.ts prints StartupError's message as `agentgate: …` and exits 2, like a bad setting.

export class StartupError extends Error {
  constructor(
    message: string,
    /** the system error code behind it (EADDRINUSE, EACCES, …), kept so callers can react to it */
    readonly code: string | null = null,
  ) {
    super(message.replace(/\s*\n\s*/g, ' '))
    this.name = 'StartupError'
  }
}

/** `host:port`, with an IPv6 literal in brackets. */
export function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** What Bun.serve threw when it could not listen on host:port, as one line naming the address. */
export function listenError(e: unknown, host: string, port: number): StartupError {
  const code = String((e as { code?: unknown })?.code ?? '')
  const where = hostPort(host, port)
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        `${where} is already in use (another agentgate or another server listens there); stop it or pick another --port`,
        code,
      )
    case 'EACCES':
    case 'EPERM':
      return new StartupError(
        `cannot listen on ${where}: permission denied${port > 0 && port < 1024 ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''}`,
        code,
      )
    case 'EADDRNOTAVAIL':
      return new StartupError(`cannot listen on ${where}: the address is not available on this machine (check --host)`, code)
    case 'EINVAL':
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return new StartupError(`cannot listen on ${where}: not a usable address (check --host)`, code)
    default: {
      const why = String((e as Error)?.message ?? e)
      return new StartupError(`cannot listen on ${where}: ${why}`, code || null)
    }
  }
}
