// The version printed by --version and /health; package.json is inlined into the binary at build time.
import pkg from '../package.json'
export const VERSION: string = pkg.version
