// The compiled executable's entry (build.ts): serve's re-execution with Bun's fetch cap raised (fetch-cap.ts), NODE_ENV,
// then the CLI (main.ts) by a dynamic import. In the split bundle, the chunks an entry imports statically are evaluated
// before the entry's own code, so main.ts's `import './production-env'` would come after Elysia had read NODE_ENV (it
// decides at load whether it runs in production); a dynamic import runs in order. For the same reason the re-execution
// happens here, before the CLI is loaded: it costs a start one more runtime boot, not a second load of the app.
import { reexecWithFetchCap } from './fetch-cap'
import './production-env'

await reexecWithFetchCap(process.argv.slice(2))
const { runCli } = await import('./main')
runCli(process.argv.slice(2))
