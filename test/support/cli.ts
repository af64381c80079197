// Running the CLI from source in tests: where main.ts is, and an environment the developer's shell cannot leak into.
import { join } from 'node:path'

/** The CLI's entry point, run with `process.execPath` (Bun). */
export const MAIN = join(import.meta.dir, '..', '..', 'src', 'main.ts')

/** process.env without any AGENTGATE_* setting of the developer's shell, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AGENTGATE_')) out[k] = v
  return { ...out, ...extra }
}
