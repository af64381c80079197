// Starts a real gateway (createApp on port 0) against a fake upstream and a temp SQLite file (or, with
// store: 'postgres' or AGENTGATE_TEST_STORE=postgres, a fresh database on the test PostgreSQL server).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../../src/app'
import { loadConfig, type Config } from '../../src/config'
import type { Drain } from '../../src/engine/drain'
import { timeOrderedId } from '../../src/ids'
import { createLogger, type LogLevel } from '../../src/log'
import { openStore } from '../../src/store'
import type { Store } from '../../src/store/types'
import { upstreamFromConfig } from '../../src/upstream/client'
import { dropTestDatabaseFor, testDatabaseFor } from './postgres'

export interface TestGateway {
  url: string
  /** base URL for SDK clients: url + "/v1" */
  baseURL: string
  app: App
  store: Store
  config: Config
  logs: string[]
  dir: string
  stop(opts?: { keepDir?: boolean }): Promise<void>
}

export async function startGateway(opts: {
  upstream: string
  env?: Record<string, string>
  dir?: string
  logLevel?: LogLevel
  /** default: AGENTGATE_TEST_STORE, else sqlite. Gateways sharing a `dir` share the PostgreSQL database too. */
  store?: 'sqlite' | 'postgres'
  /** the graceful-shutdown state the app uses, for tests that drain it (createApp makes its own otherwise) */
  drain?: Drain
}): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'agentgate-test-'))
  const postgres = (opts.store ?? process.env.AGENTGATE_TEST_STORE) === 'postgres'
  const config = loadConfig({
    flags: { '--port': '0', '--upstream': opts.upstream },
    env: { AGENTGATE_HOME: dir, ...(postgres ? { AGENTGATE_DATABASE_URL: await testDatabaseFor(dir) } : {}), ...opts.env },
  })
  const logs: string[] = []
  const logger = createLogger(opts.logLevel ?? 'debug', (l) => logs.push(l))
  const store = await openStore(config)
  const upstream = upstreamFromConfig(config)
  const app = createApp({ config, upstream, store, clock: Date.now, ids: timeOrderedId, logger, version: 'test', drain: opts.drain })
  app.listen({ hostname: '127.0.0.1', port: 0 })
  const url = `http://127.0.0.1:${app.server!.port}`
  return {
    url,
    baseURL: `${url}/v1`,
    app,
    store,
    config,
    logs,
    dir,
    async stop({ keepDir = false } = {}) {
      await app.stop(true)
      await store.close()
      if (!keepDir && !opts.dir) {
        rmSync(dir, { recursive: true, force: true })
        if (postgres) await dropTestDatabaseFor(dir)
      }
    },
  }
}
