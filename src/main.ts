#!/usr/bin/env bun
// The entry, from source (`bun run src/main.ts`) and of the compiled executable (build.ts): serve's re-execution with
// Bun's fetch cap raised (fetch-cap.ts), NODE_ENV (production-env.ts), then the CLI (cli.ts) by a dynamic import.
// Nothing else is imported statically, for two reasons. The modules an entry imports statically are all loaded before
// its own code runs — from source that load is most of a start (~300 ms), and the re-execution must come before it,
// not after. And in the split bundle their chunks are evaluated before the entry's code, so Elysia would read NODE_ENV
// before it is set (it decides at load whether it runs in production); a dynamic import runs in order.
import { reexecWithServeEnvironment } from './fetch-cap'
import './production-env'

await reexecWithServeEnvironment(process.argv.slice(2))
const { runCli } = await import('./cli')
runCli(process.argv.slice(2))
