// The compiled executable's entry (build.ts): NODE_ENV first, then the CLI (main.ts), by a dynamic import.
// In the split bundle, the chunks an entry imports statically are evaluated before the entry's own code, so
// main.ts's `import './production-env'` would come after Elysia had read NODE_ENV (it decides at load whether it
// runs in production). A dynamic import runs in order.
import './production-env'

const { runCli } = await import('./main')
runCli(process.argv.slice(2))
