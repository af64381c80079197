// The layering of src/, read from its import statements: the core (engine, store, tools, upstream, tracing, auth)
// never loads the web framework, and no module imports itself through others (no cycles, type imports included).
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'

/** module (path under src/) → what it imports: other modules by path, packages by name. */
type Graph = Map<string, string[]>

const SRC = join(import.meta.dir, '..', 'src')

/** Modules that must never load elysia or @elysiajs/*: the turn, storage, tool and upstream layers and what they use. */
const CORE = /^(?:engine|store|tools|upstream|tracing|sealing|websearch|mcp)\/|^(?:auth|oidc|errors|ids|log|config-error)\.ts$/
const isFramework = (dep: string) => dep === 'elysia' || dep.startsWith('elysia/') || dep.startsWith('@elysiajs/')

/**
 * Two graphs of src/: `runtime` holds what Bun actually loads (Bun.Transpiler drops type-only imports), so a type
 * borrowed from a schema is no framework load; `all` holds every import and export-from, types too, for cycles.
 */
function importGraphs(src: string): { runtime: Graph; all: Graph } {
  const transpiler = new Bun.Transpiler({ loader: 'ts' })
  const runtime: Graph = new Map()
  const all: Graph = new Map()
  for (const file of new Bun.Glob('**/*.ts').scanSync(src)) {
    const path = join(src, file)
    // The transpiler wants no shebang (main.ts has one).
    const text = readFileSync(path, 'utf8').replace(/^#!.*/, '')
    const resolve = (spec: string) => (spec.startsWith('.') ? resolveModule(src, path, spec) : spec)
    runtime.set(
      file,
      transpiler.scanImports(text).map((i) => resolve(i.path)),
    )
    all.set(file, staticSpecifiers(text).map(resolve))
  }
  return { runtime, all }
}

/** `import … from 'x'`, `import type … from 'x'`, `export … from 'x'`, `import 'x'` and `import('x')`. */
function staticSpecifiers(text: string): string[] {
  const out: string[] = []
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '')
  for (const m of code.matchAll(/^\s*(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)) out.push(m[1])
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(m[1])
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1])
  return out
}

function resolveModule(src: string, from: string, spec: string): string {
  const base = join(dirname(from), spec)
  const hit = [base, `${base}.ts`, join(base, 'index.ts')].find((p) => p.endsWith('.ts') && existsSync(p))
  // JSON and other assets are modules too, named by their path.
  return relative(src, hit ?? base)
}

/** The shortest import path from `from` to a dependency `isTarget` accepts, e.g. [a.ts, b.ts, elysia]; null if none. */
export function pathTo(graph: Graph, from: string, isTarget: (dep: string) => boolean): string[] | null {
  const previous = new Map<string, string>([[from, '']])
  const queue = [from]
  while (queue.length) {
    const at = queue.shift()!
    for (const dep of graph.get(at) ?? []) {
      // Checked before `seen`: a cycle is a path from a module back to itself.
      if (isTarget(dep)) {
        const path = [dep]
        for (let p = at; p; p = previous.get(p)!) path.unshift(p)
        return path
      }
      if (previous.has(dep)) continue
      previous.set(dep, at)
      if (graph.has(dep)) queue.push(dep)
    }
  }
  return null
}

/** Every import cycle, each as a closed path [a, b, …, a], one per strongly connected group (Tarjan). */
export function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const group = new Set<string>()
    let w: string
    do {
      w = stack.pop()!
      onStack.delete(w)
      group.add(w)
    } while (w !== v)
    if (group.size > 1 || graph.get(v)?.includes(v)) {
      // A concrete cycle through v inside the group: the shortest path back to v.
      const inside: Graph = new Map([...group].map((m) => [m, (graph.get(m) ?? []).filter((d) => group.has(d))]))
      found.push(pathTo(inside, v, (d) => d === v)!)
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return found
}

const frameworkPaths = (graph: Graph) =>
  [...graph.keys()]
    .filter((m) => CORE.test(m))
    .map((m) => pathTo(graph, m, isFramework))
    .filter((p): p is string[] => p !== null)
    .map((p) => p.join(' → '))

describe('the checks themselves', () => {
  const g = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges))

  test('a core module that reaches elysia through two others is reported with the whole path', () => {
    const graph = g({
      'engine/turn.ts': ['config.ts', 'ids.ts'],
      'config.ts': ['schema/models.ts'],
      'schema/models.ts': ['elysia'],
      'ids.ts': [],
    })
    expect(frameworkPaths(graph)).toEqual(['engine/turn.ts → config.ts → schema/models.ts → elysia'])
  })

  test('a non-core module may load elysia', () => {
    expect(frameworkPaths(g({ 'http/models.ts': ['@elysiajs/openapi'], 'engine/turn.ts': ['ids.ts'], 'ids.ts': [] }))).toEqual([])
  })

  test('a cycle is reported as a closed path, and a diamond is no cycle', () => {
    expect(cycles(g({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'], 'd.ts': ['a.ts'] }))).toEqual([
      ['a.ts', 'b.ts', 'c.ts', 'a.ts'],
    ])
    expect(cycles(g({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] }))).toEqual([])
    expect(cycles(g({ 'a.ts': ['a.ts'] }))).toEqual([['a.ts', 'a.ts']])
  })

  test('type-only imports count for cycles, not for what is loaded', () => {
    const text =
      "import type { A } from './a'\nimport { b } from './b'\nexport { c } from './c'\nimport './d'\nconst e = await import('./e')\n// import { f } from './f'\n"
    expect(staticSpecifiers(text)).toEqual(['./a', './b', './c', './d', './e'])
    const loaded = new Bun.Transpiler({ loader: 'ts' }).scanImports(text + 'b; A; ').map((i) => i.path)
    expect(loaded).not.toContain('./a')
  })
})

describe('src/', () => {
  const { runtime, all } = importGraphs(SRC)

  test('the graph is read (sanity: the engine imports the store types, the app imports elysia)', () => {
    expect(all.get('engine/turn.ts')).toContain('store/types.ts')
    expect(runtime.get('app.ts')).toContain('elysia')
    expect([...runtime.keys()].filter((m) => CORE.test(m)).length).toBeGreaterThan(30)
  })

  test('no core module (engine, store, tools, upstream, tracing, auth) loads elysia, directly or through others', () => {
    // Each entry is the import path that loads the framework; fix it by importing a type only, or by moving
    // what the core needs out of the module that loads elysia.
    expect(frameworkPaths(runtime)).toEqual([])
  })

  test('no import cycles in src/, type imports included', () => {
    expect(cycles(all).map((c) => c.join(' → '))).toEqual([])
  })
})
