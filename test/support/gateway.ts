// Starts a real gateway (createGateway, the production wiring, on 127.0.0.1 port 0) against a fake upstream and a temp SQLite file (or, with
// store: 'postgres' or AGENTGATE_TEST_STORE=postgres, a fresh database on the test PostgreSQL server).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { App } from '../../src/app'
import { loadConfig, type Config } from '../../src/config'
import type { Drain } from '../../src/engine/drain'
import { createGateway, type GatewayOptions } from '../../src/gateway'
import { createLogger, type LogLevel } from '../../src/log'
import type { Store } from '../../src/store/types'
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
  /** the graceful-shutdown state the gateway uses, for tests that drain it (createGateway makes its own otherwise) */
  drain?: Drain
  /** in place of the configured MCP servers / web search provider (GatewayOptions) */
  mcp?: GatewayOptions['mcp']
  webSearch?: GatewayOptions['webSearch']
  /**
   * What the gateway does once idle (--idle-release-ms). Default: nothing — a test gateway lives in the test runner's
   * process, whose heap and compiled code are not the gateway's to drop; test/idle-release.test.ts counts releases, and
   * test/binary/idle-release.test.ts runs the real one.
   */
  idleRelease?: GatewayOptions['idleRelease']
}): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'agentgate-test-'))
  const postgres = (opts.store ?? process.env.AGENTGATE_TEST_STORE) === 'postgres'
  const config = loadConfig({
    flags: { '--host': '127.0.0.1', '--port': '0', '--upstream': opts.upstream },
    env: { AGENTGATE_HOME: dir, ...(postgres ? { AGENTGATE_DATABASE_URL: await testDatabaseFor(dir) } : {}), ...opts.env },
  })
  const logs: string[] = []
  const logger = createLogger(opts.logLevel ?? 'debug', (l) => logs.push(l))
  const gateway = await createGateway(config, {
    version: 'test',
    quiet: true,
    logger,
    drain: opts.drain,
    mcp: opts.mcp,
    webSearch: opts.webSearch,
    idleRelease: opts.idleRelease ?? { release: () => {} },
  })
  const url = await gateway.listen()
  return {
    url,
    baseURL: `${url}/v1`,
    app: gateway.app,
    store: gateway.store,
    config,
    logs,
    dir,
    async stop({ keepDir = false } = {}) {
      await gateway.stop()
      if (!keepDir && !opts.dir) {
        rmSync(dir, { recursive: true, force: true })
        if (postgres) await dropTestDatabaseFor(dir)
      }
    },
  }
}
