// What the executable loads to start `agentgate serve`: the entry chunk of build.ts's bundle (src/main.ts), the
// CLI it imports at once (src/cli.ts) and the chunks those import statically. Everything a default serve uses only on
// some request or with some setting (or never) must sit behind a dynamic import(), in a chunk of its own: loading its
// bytecode costs every start CPU time and memory. The bundle is built here as build.ts builds it, unminified so each
// module's path is still written above its code.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { BUNDLE } from '../../build'

/** The modules (paths as the bundler writes them) and the runtime modules (node:*, bun:*) that loading `entry` loads. */
function staticClosure(entry: string): { modules: string[]; builtins: Set<string> } {
  const modules: string[] = []
  const builtins = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const code = readFileSync(file, 'utf8')
    for (const m of code.matchAll(/^\/\/ ((?:src|node_modules)\/\S+)$/gm)) modules.push(m[1]!)
    // Static imports and re-exports only (`import"./x.js"`, `import {…} from "./x.js"`); not `import("./x.js")`.
    for (const m of code.matchAll(/^(?:import|export)\s*(?:[^;"()]*?from\s*)?"([^"]+)";?$/gm)) {
      const spec = m[1]!
      if (spec.startsWith('./')) visit(join(dirname(file), spec))
      else builtins.add(spec.replace(/^node:/, ''))
    }
  }
  visit(entry)
  return { modules, builtins }
}

let outdir: string
/** what the entry chunk loads before its own code runs */
let beforeEntry: { modules: string[]; builtins: Set<string> }
/** what a start loads: that, and what the entry's own import()s load (the CLI) */
let closure: { modules: string[]; builtins: Set<string> }

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'agentgate-chunks-'))
  const result = await Bun.build({ ...BUNDLE, outdir })
  if (!result.success) throw new Error(result.logs.map(String).join('\n'))
  const entry = result.outputs.find((o) => o.kind === 'entry-point')!.path
  beforeEntry = staticClosure(entry)
  const loadedByEntry = [...readFileSync(entry, 'utf8').matchAll(/\bimport\("(\.\/[^"]+)"\)/g)].map((m) => join(outdir, m[1]!))
  closure = { modules: [...beforeEntry.modules], builtins: new Set(beforeEntry.builtins) }
  for (const chunk of loadedByEntry) {
    const c = staticClosure(chunk)
    closure.modules.push(...c.modules)
    for (const b of c.builtins) closure.builtins.add(b)
  }
}, 120_000)

afterAll(() => rmSync(outdir, { recursive: true, force: true }))

const loadsAtStart = (path: string) => closure.modules.some((m) => m.startsWith(path))

describe("the executable's start-up code", () => {
  test('holds what serve needs to start: the CLI, the gateway, Elysia, the SQLite store', () => {
    for (const path of ['src/cli.ts', 'src/gateway.ts', 'src/app.ts', 'src/store/sqlite/repository.ts', 'node_modules/elysia/'])
      expect({ path, loaded: loadsAtStart(path) }).toEqual({ path, loaded: true })
  })

  test('leaves out what only some runs use: MCP (its SDK, zod), the OpenAPI document, OIDC (jose), PostgreSQL, doctor, the launchers', () => {
    for (const path of [
      'node_modules/@modelcontextprotocol/sdk/',
      'node_modules/zod/',
      'src/mcp/servers.ts',
      'node_modules/@elysiajs/openapi/',
      'node_modules/jose/',
      'src/store/postgres/repository.ts',
      'src/ops/doctor.ts',
      'src/codex/launcher.ts',
      'src/claude/launcher.ts',
    ])
      expect({ path, loaded: loadsAtStart(path) }).toEqual({ path, loaded: false })
  })

  test('sets NODE_ENV before any package is loaded (Elysia reads it when it loads), and re-executes serve before the CLI loads: only fetch-cap.ts (with allocator-env.ts, the constants it sets) and production-env.ts come before the entry, and no runtime module', () => {
    expect(beforeEntry.modules.filter((m) => m !== 'src/main.ts').toSorted()).toEqual([
      'src/allocator-env.ts',
      'src/fetch-cap.ts',
      'src/production-env.ts',
    ])
    expect([...beforeEntry.builtins]).toEqual([])
  })

  test('does not load node:crypto (about 3 ms of every start): keys are hashed natively, sealing loads it on first use', () => {
    expect(closure.builtins.has('crypto')).toBe(false)
  })
})
