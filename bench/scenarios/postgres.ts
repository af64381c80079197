// PostgreSQL (issue 13): the stateful JSON turn of scenarios/turns.ts with the gateway on PostgreSQL
// (--database-url), and `loadChain` of a 1,000-item chain on PostgreSQL (bench/chain-rehydrate.ts). The
// server is a throwaway cluster started the way the tests start theirs (test/support/postgres.ts: the
// newest /usr/lib/postgresql/*/bin, fsync and synchronous_commit off, loopback; or
// AGENTGATE_TEST_DATABASE_URL), on the same machine as everything else. Without one the scenario says why
// and measures nothing.
import { createTestDatabase, postgresServer } from '../../test/support/postgres'
import { type Ctx, fmt, PAIR_HEADERS, pairMetrics, pairRow, type ScenarioResult } from '../lib'
import { profileName } from '../upstream'
import { storeLevel } from './chains'
import { jsonTurns, TURN_10MS, TURN_CONNECTIONS } from './turns'

export async function postgres(ctx: Ctx): Promise<ScenarioResult> {
  ctx.log('postgres: starting a throwaway PostgreSQL cluster (test/support/postgres.ts)')
  const server = await postgresServer()
  if ('skip' in server) {
    ctx.log(`postgres: SKIPPED: ${server.skip}`)
    return {
      name: 'postgres',
      metrics: {},
      tables: [],
      skipped: `no PostgreSQL server: ${server.skip}. Install PostgreSQL's server binaries (Debian: apt-get install postgresql) or set AGENTGATE_TEST_DATABASE_URL.`,
    }
  }
  const metrics: Record<string, number> = {}
  const tables: ScenarioResult['tables'] = []

  const db = await createTestDatabase('bench_turns')
  if (!db) throw new Error('no PostgreSQL database') // not reached: the server is there
  try {
    const gw = await ctx.gateway(['--database-url', db.url])
    try {
      ctx.log(`postgres: JSON turns, ${TURN_CONNECTIONS} conns, 10 ms upstream, store on`)
      const pair = await jsonTurns(ctx, gw, true)
      Object.assign(metrics, pairMetrics('postgres.json.store_on', pair))
      tables.push({
        title: `Stateful JSON turns on PostgreSQL (wrk, ${TURN_CONNECTIONS} conns, upstream \`${profileName(TURN_10MS)}\`)`,
        headers: PAIR_HEADERS,
        rows: [pairRow('POST /v1/responses JSON, store on, PostgreSQL', TURN_CONNECTIONS, pair)],
        note: `Server: ${server.source}, on this machine (its CPU is not in "gw CPU"). Gateway RSS at the end: ${fmt(gw.rssMiB(), 0)} MiB.`,
      })
    } finally {
      await gw.stop()
    }
  } finally {
    await db.drop()
  }

  const chainDb = await createTestDatabase('bench_chain')
  if (!chainDb) throw new Error('no PostgreSQL database')
  try {
    ctx.log('postgres: loadChain of 1,000-item chains (bench/chain-rehydrate.ts --database-url)')
    const store = await storeLevel(['--database-url', chainDb.url, '--items', '1000'], 'postgres.store')
    Object.assign(metrics, store.metrics)
    tables.push({ title: 'Store only: `loadChain` of a 1,000-item chain on PostgreSQL', headers: store.headers, rows: store.rows })
  } finally {
    await chainDb.drop()
  }
  return { name: 'postgres', metrics, tables }
}
