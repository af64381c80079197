// PostgreSQL for tests: a server, and a fresh database per test file (so files may run in parallel).
// The server is AGENTGATE_TEST_DATABASE_URL when set; otherwise, when PostgreSQL's server binaries are installed
// (/usr/lib/postgresql/*/bin, Debian's `postgresql` package), a throwaway cluster this process starts in a temp
// dir and stops at exit; otherwise none, and the PostgreSQL tests are skipped with a message saying why.
// AGENTGATE_TEST_POSTGRES=required (CI sets it) turns "none" into a failure instead of a skip; =skip skips them.
import { SQL } from 'bun'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface PgServer {
  /** an admin URL (database `postgres`) */
  adminUrl: string
  /** where the server comes from, for messages */
  source: string
}

export interface TestDatabase {
  url: string
  name: string
  /** empties every table of the store (between tests sharing the database) */
  reset(): Promise<void>
  drop(): Promise<void>
}

const required = process.env.AGENTGATE_TEST_POSTGRES === 'required'
const STEP_TIMEOUT_MS = 30_000

let serverPromise: Promise<PgServer | { skip: string }> | null = null

/** The PostgreSQL server the tests use (started once per process), or why there is none. */
export function postgresServer(): Promise<PgServer | { skip: string }> {
  serverPromise ??= findServer().then((r) => {
    if ('skip' in r && required) throw new Error(`PostgreSQL is required (AGENTGATE_TEST_POSTGRES=required) but ${r.skip}`)
    return r
  })
  return serverPromise
}

/**
 * A new empty database on the test server, named `agentgate_<label>_<random>`, or null (with the skip reason
 * printed once) when there is no server. Drop it in afterAll.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase | null> {
  const server = await postgresServer()
  if ('skip' in server) {
    announceSkip(server.skip)
    return null
  }
  const name = `agentgate_${label.replace(/\W/g, '_').toLowerCase()}_${crypto.randomUUID().slice(0, 8)}`
  await withAdmin(server.adminUrl, (sql) => sql.unsafe(`CREATE DATABASE ${name}`))
  const url = withDatabase(server.adminUrl, name)
  let conn: SQL | null = null // kept for reset(): a new connection per test costs more than the reset itself
  return {
    url,
    name,
    async reset() {
      conn ??= new SQL(url, { max: 1 })
      // DELETE, not TRUNCATE: on the few rows a test leaves it is several times faster. Only tables that exist
      // (a test may reset before the store has migrated the database).
      const [{ tables }] = await conn.unsafe(`SELECT array_agg(tablename::text) AS tables FROM pg_tables WHERE schemaname = 'public'`)
      const order = ['response_events', 'items', 'responses', 'conversations'].filter((t) => (tables ?? []).includes(t))
      if (order.length) await conn.unsafe(order.map((t) => `DELETE FROM ${t};`).join(' '))
    },
    async drop() {
      await conn?.close()
      await withAdmin(server.adminUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
    },
  }
}

/** Message printed once per process when PostgreSQL tests are skipped. */
let announced = false
function announceSkip(reason: string) {
  if (announced) return
  announced = true
  console.warn(
    `[postgres] PostgreSQL tests skipped: ${reason}. Set AGENTGATE_TEST_DATABASE_URL, or install PostgreSQL (apt-get install postgresql).`,
  )
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  return u.toString()
}

async function withAdmin<T>(adminUrl: string, fn: (sql: SQL) => Promise<T>): Promise<T> {
  const sql = new SQL(adminUrl, { max: 1, connectionTimeout: 10 })
  try {
    return await fn(sql)
  } finally {
    await sql.close()
  }
}

async function findServer(): Promise<PgServer | { skip: string }> {
  if (process.env.AGENTGATE_TEST_POSTGRES === 'skip') return { skip: 'AGENTGATE_TEST_POSTGRES=skip' }
  const fromEnv = process.env.AGENTGATE_TEST_DATABASE_URL
  if (fromEnv) {
    // asked for explicitly: an unreachable server is an error, not a skip
    await withAdmin(fromEnv, (sql) => sql.unsafe('select 1'))
    return { adminUrl: fromEnv, source: 'AGENTGATE_TEST_DATABASE_URL' }
  }
  const bin = findServerBinaries()
  if (!bin)
    return { skip: 'AGENTGATE_TEST_DATABASE_URL is not set and no PostgreSQL server binaries were found in /usr/lib/postgresql/*/bin' }
  return startThrowawayCluster(bin)
}

/** The bin directory of the newest PostgreSQL installed the Debian way. */
function findServerBinaries(): string | null {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length ? join(root, versions[0], 'bin') : null
}

/** Runs a command (as the `postgres` OS user when we are root: postgres refuses to run as root), bounded. */
async function runAs(user: string | null, cmd: string[], timeoutMs = STEP_TIMEOUT_MS): Promise<{ code: number | null; output: string }> {
  const argv = user ? ['runuser', '-u', user, '--', ...cmd] : cmd
  const proc = Bun.spawn(argv, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  return { code: proc.signalCode ? null : code, output: `${out}${err}`.trim() }
}

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = server.port
  server.stop(true)
  return port
}

async function startThrowawayCluster(bin: string): Promise<PgServer | { skip: string }> {
  const asRoot = process.getuid?.() === 0
  const user = asRoot ? 'postgres' : null
  if (asRoot) {
    const id = Bun.spawnSync(['id', '-u', 'postgres'])
    if (id.exitCode !== 0) return { skip: `PostgreSQL binaries are in ${bin} but there is no "postgres" OS user to run them (root cannot)` }
  }
  // as root, under /tmp: the `postgres` user must be able to reach the dir (a root-only $TMPDIR would not do)
  const dir = mkdtempSync(join(asRoot ? '/tmp' : tmpdir(), 'agentgate-pg-'))
  const data = join(dir, 'data')
  const cleanupDir = () => rmSync(dir, { recursive: true, force: true })
  if (asRoot) Bun.spawnSync(['chown', 'postgres:', dir])

  const init = await runAs(user, [
    join(bin, 'initdb'),
    '-D',
    data,
    '-U',
    'postgres',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-locale',
    '--no-sync',
  ])
  if (init.code !== 0) {
    cleanupDir()
    throw new Error(`initdb failed (${init.code}): ${init.output}`)
  }
  const pgCtl = join(bin, 'pg_ctl')
  let port = 0
  let lastError = ''
  // A port found free may be taken by the time postgres binds it: try a few.
  for (let attempt = 0; attempt < 3 && !port; attempt++) {
    const candidate = await freePort()
    // A throwaway cluster: durability off (fsync, full-page writes) for speed; unix socket in our own dir.
    const options = `-h 127.0.0.1 -p ${candidate} -k ${dir} -F -c full_page_writes=off -c synchronous_commit=off -c max_connections=200`
    const start = await runAs(user, [pgCtl, '-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start'], 40_000)
    if (start.code === 0) port = candidate
    else
      lastError = `${start.output}\n${await Bun.file(join(dir, 'server.log'))
        .text()
        .catch(() => '')}`
  }
  if (!port) {
    cleanupDir()
    throw new Error(`could not start a throwaway PostgreSQL cluster: ${lastError}`)
  }
  // Stopped once this process has gone, however it ends: bun test fires no 'exit' event, and a killed run must
  // not leave a server behind. A detached watchdog polls for our pid, then stops the cluster and removes its dir.
  const stop = [...(user ? ['runuser', '-u', user, '--'] : []), pgCtl, '-D', data, '-m', 'immediate', '-t', '10', 'stop']
  const watchdog = Bun.spawn(
    [
      'sh',
      '-c',
      `while kill -0 ${process.pid} 2>/dev/null; do sleep 0.5; done; ${stop.map(shellQuote).join(' ')}; rm -rf ${shellQuote(dir)}`,
    ],
    { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', detached: true },
  )
  watchdog.unref()
  const version = Bun.spawnSync([join(bin, 'postgres'), '--version'])
    .stdout.toString()
    .trim()
  return { adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`, source: `throwaway cluster (${version}) on port ${port}` }
}

/**
 * For test/support/gateway.ts: the database of the gateway whose home is `dir` (gateways sharing a dir share the
 * database, as they share the SQLite file). Throws when there is no PostgreSQL server: the caller asked for one.
 */
const byDir = new Map<string, Promise<TestDatabase>>()
export async function testDatabaseFor(dir: string): Promise<string> {
  let db = byDir.get(dir)
  if (!db) {
    db = createTestDatabase('gw').then((d) => {
      if (!d) throw new Error('a gateway on PostgreSQL was asked for, but there is no PostgreSQL server (see test/support/postgres.ts)')
      return d
    })
    byDir.set(dir, db)
  }
  return (await db).url
}

/** Drops the database testDatabaseFor(dir) made, if any. */
export async function dropTestDatabaseFor(dir: string): Promise<void> {
  const db = byDir.get(dir)
  byDir.delete(dir)
  if (db) await (await db).drop()
}
