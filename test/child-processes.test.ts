// `bun test` passes wherever Bun is installed: tests and benchmarks start child Buns with process.execPath
// (the Bun running them), never `bun` looked up on a PATH they may have narrowed (e.g. PATH=/usr/bin:/bin to
// hide codex, which also hides a Bun installed by its installer, nvm or under /usr/local).
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const ROOT = join(import.meta.dir, '..')

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'fixtures' || name === 'results' ? [] : sources(p)
    return /\.(?:ts|tsx|js|mjs)$/.test(name) ? [p] : []
  })
}

test('no test or benchmark starts `bun` by name: child Buns are process.execPath', () => {
  const offenders: string[] = []
  for (const file of [...sources(join(ROOT, 'test')), ...sources(join(ROOT, 'bench'))]) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // a command array whose program is the bare word bun, in any quotes
        if (/\[\s*(['"`])bun\1\s*[,\]]/.test(line)) offenders.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`)
      })
  }
  expect(offenders).toEqual([])
})
