#!/usr/bin/env bun
// What a long WebSocket chain's turn costs more than a short chain's, thread by thread, with its page faults: for
// finding what still grows with the chain (bench/README.md, wschain). One compiled gateway (or several, one after the
// other), the bench's upstream; after a warm-up chain of 300 turns, phases of 60 turns alternate: a long chain going
// on from turn 280 (~560 items and more) and short chains' turns 6–15. Per turn: each thread's CPU (schedstat) and the
// process's minor page faults (/proc/<pid>/stat), from the send of a turn to its response.completed.
//
//   bun run bench/wschain-breakdown.ts --binaries dist/agentgate[,OTHER] [--phases 3]
//
// (It found that a fresh 190 KB body array per turn had its pages faulted in every turn: ~45 more faults a turn at
// turn 300 than at turn 10, the most of what the turn still grew with; upstream/request-body.ts lends it now.)
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { BENCH_DIR, optionOf, startServer, stopAll, tempDir, threadCpuByName } from './lib'
import { GatewayChain } from './scenarios/wschain'

const opt = optionOf(process.argv.slice(2))
const binaries = opt('--binaries', join(BENCH_DIR, '../dist/agentgate')).split(',')
const phases = Number(opt('--phases', '3'))
const TURNS = 60

const minorFaults = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[7])

try {
  const home = tempDir('agentgate-wschain-breakdown-')
  const up = await startServer([process.execPath, 'run', join(BENCH_DIR, 'upstream.ts'), '--port', '0'], {
    stderrFile: join(home, 'upstream.log'),
  })
  for (const bin of binaries) {
    const gwHome = tempDir('agentgate-wschain-breakdown-gw-')
    const gw = await startServer([resolve(bin), 'serve', '--host', '127.0.0.1', '--port', '0', '--upstream', `${up.url}/v1`], {
      env: { ...process.env, AGENTGATE_HOME: gwHome },
      cwd: gwHome,
      stderrFile: join(gwHome, 'gateway.log'),
    })
    const ws = `${gw.url.replace(/^http/, 'ws')}/v1/responses`
    const warm = await GatewayChain.open(ws)
    while (warm.turns < 300) await warm.next(() => {})
    warm.close()
    const long = await GatewayChain.open(ws)
    while (long.turns < 280) await long.next(() => {})
    for (let p = 0; p < phases * 2; p++) {
      const kind = p % 2 ? 'long' : 'short'
      const byThread = new Map<string, number>()
      let faults = 0
      let n = 0
      const measured = async (chain: GatewayChain) => {
        let before = new Map<string, number>()
        let f0 = 0
        await chain.next(() => {
          before = threadCpuByName(gw.pid)
          f0 = minorFaults(gw.pid)
        })
        faults += minorFaults(gw.pid) - f0
        for (const [k, v] of threadCpuByName(gw.pid))
          if (!k.startsWith('main ')) byThread.set(k, (byThread.get(k) ?? 0) + v - (before.get(k) ?? 0))
        n++
      }
      if (kind === 'long') while (n < TURNS) await measured(long)
      else
        while (n < TURNS) {
          const short = await GatewayChain.open(ws)
          while (short.turns < 5) await short.next(() => {})
          for (let i = 0; i < 10; i++) await measured(short)
          short.close()
        }
      const total = [...byThread.values()].reduce((a, b) => a + b, 0)
      const threads = [...byThread]
        .sort((a, b) => b[1] - a[1])
        .map(([k, ns]) => `${k} ${(ns / n / 1000).toFixed(0)}`)
        .join(', ')
      process.stdout.write(
        `${bin} ${kind === 'long' ? `long (turns ${long.turns - TURNS + 1}–${long.turns})` : 'short (turns 6–15)'}: ${(total / n / 1000).toFixed(0)} µs CPU a turn (${threads}), ${(faults / n).toFixed(1)} minor faults a turn\n`,
      )
    }
    long.close()
    await gw.stop()
  }
} finally {
  await stopAll()
}
