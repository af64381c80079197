// How long loadChain (previous_response_id rehydration) takes as chains grow, on a temp SQLite file or, with
// --database-url, on a PostgreSQL database (which should be empty and throwaway: the chains stay in it).
// Run: bun run bench/chain-rehydrate.ts [--database-url postgres://…] [--items N]   (not a test; prints a
// markdown table; --items keeps only the chain shapes of N items)

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../src/store'
import { storeChain } from '../test/store/fixtures'

const shapes = [
  { turns: 10, inputsPerTurn: 0, outputsPerTurn: 1 },
  { turns: 5, inputsPerTurn: 1, outputsPerTurn: 1 },
  { turns: 100, inputsPerTurn: 0, outputsPerTurn: 1 },
  { turns: 10, inputsPerTurn: 5, outputsPerTurn: 5 },
  { turns: 1000, inputsPerTurn: 0, outputsPerTurn: 1 },
  { turns: 500, inputsPerTurn: 1, outputsPerTurn: 1 },
  { turns: 100, inputsPerTurn: 5, outputsPerTurn: 5 },
]

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const argv = process.argv.slice(2)
const arg = (flag: string) => {
  const i = argv.indexOf(flag)
  return i >= 0 ? argv[i + 1] : undefined
}
const databaseUrl = arg('--database-url') ?? null
const onlyItems = arg('--items') ? Number(arg('--items')) : null

const dir = mkdtempSync(join(tmpdir(), 'agentgate-bench-'))
try {
  const store = await openStore({ db: join(dir, 'bench.db'), databaseUrl })
  const rows: string[] = []
  for (const [n, shape] of shapes.entries()) {
    if (onlyItems !== null && shape.turns * (shape.inputsPerTurn + shape.outputsPerTurn) !== onlyItems) continue
    const ids = await storeChain(store, { ...shape, prefix: `chain${n}` })
    const items = shape.turns * (shape.inputsPerTurn + shape.outputsPerTurn)
    const head = ids.at(-1)!
    for (let i = 0; i < 20; i++) await store.loadChain('default', head) // warm-up
    const runs = items >= 1000 ? 200 : 1000
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const t0 = Bun.nanoseconds()
      const chain = await store.loadChain('default', head)
      times.push((Bun.nanoseconds() - t0) / 1e6)
      if (chain!.items.length !== items) throw new Error(`expected ${items} items, got ${chain!.items.length}`)
    }
    const desc = `${shape.turns} turns × (${shape.inputsPerTurn} in + ${shape.outputsPerTurn} out)`
    rows.push(
      `| ${items} | ${desc} | ${median(times).toFixed(3)} | ${times.sort((a, b) => a - b)[Math.floor(runs * 0.99)].toFixed(3)} | ${runs} |`,
    )
  }
  await store.close()
  console.log(`loadChain on ${databaseUrl ? 'PostgreSQL' : 'SQLite (file, WAL)'}, Bun ${Bun.version}.\n`)
  console.log('| items | chain | median ms | p99 ms | runs |')
  console.log('|---:|---|---:|---:|---:|')
  for (const r of rows) console.log(r)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
