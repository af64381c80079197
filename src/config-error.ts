// ConfigError: a setting that cannot be used. Apart from config.ts so that what only reports one (the store opener,
// the Codex overrides) does not load the whole settings table.

export class ConfigError extends Error {
  constructor(message: string) {
    // Always one line: the CLI prints it as-is on stderr.
    super(message.replace(/\s*\n\s*/g, ' '))
    this.name = 'ConfigError'
  }
}
