// The usual test file setup: a fake upstream, a gateway in front of it and an openai SDK client,
// started before the file's tests and stopped after them.
import { afterAll, beforeAll } from 'bun:test'
import OpenAI from 'openai'
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream'
import { startGateway, type TestGateway } from './gateway'

export interface GatewaySuite {
  up: FakeUpstream
  gw: TestGateway
  client: OpenAI
}

type GatewayOpts = Omit<Parameters<typeof startGateway>[0], 'upstream'>

/**
 * Registers beforeAll/afterAll for the file (or describe block) it is called in; `ready` receives the
 * running pieces, e.g. `useGateway({}, (s) => ({ up, gw, client } = s))`. `gateway` may be a function, read when
 * the gateway starts: for options naming a service that an earlier beforeAll started (its URL).
 */
export function useGateway(
  opts: { upstream?: FakeUpstreamOptions; gateway?: GatewayOpts | (() => GatewayOpts) },
  ready: (s: GatewaySuite) => void,
): void {
  let suite: GatewaySuite | undefined
  beforeAll(async () => {
    const up = startFakeUpstream(opts.upstream)
    const gateway = typeof opts.gateway === 'function' ? opts.gateway() : opts.gateway
    const gw = await startGateway({ upstream: up.url, ...gateway })
    suite = { up, gw, client: new OpenAI({ baseURL: gw.baseURL, apiKey: 'unused', maxRetries: 0 }) }
    ready(suite)
  })
  afterAll(async () => {
    await suite?.gw.stop()
    await suite?.up.stop()
  })
}
