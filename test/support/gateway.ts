// Starts a real gateway (createApp on port 0) against a fake upstream and a temp SQLite file.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from '../../src/app'
import { loadConfig, type Config } from '../../src/config'
import { timeOrderedId } from '../../src/ids'
import { createLogger, type LogLevel } from '../../src/log'
import { openStore } from '../../src/store'
import type { Store } from '../../src/store/types'
import { upstreamFromConfig } from '../../src/upstream/client'

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
}): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'agentgate-test-'))
  const config = loadConfig({
    flags: { '--port': '0', '--upstream': opts.upstream },
    env: { AGENTGATE_HOME: dir, ...opts.env },
  })
  const logs: string[] = []
  const logger = createLogger(opts.logLevel ?? 'debug', (l) => logs.push(l))
  const store = await openStore(config)
  const upstream = upstreamFromConfig(config)
  const app = createApp({ config, upstream, store, clock: Date.now, ids: timeOrderedId, logger, version: 'test' })
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
      if (!keepDir && !opts.dir) rmSync(dir, { recursive: true, force: true })
    },
  }
}
