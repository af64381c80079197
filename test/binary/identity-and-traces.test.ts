// The compiled binary with OIDC and tracing on: jose's signature checks (RS256, ES256, EdDSA through the runtime's
// WebCrypto) and the OTLP exporter work in dist/agentgate alone, not only under `bun test`.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import OpenAI from 'openai'
import { copyBinaryAlone, ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startIdentityProvider, TEST_AUDIENCE, type IdentityProvider } from '../support/identity-provider'
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver'

let up: FakeUpstream
let idp: IdentityProvider
let rx: OtlpReceiver
let bin: { dir: string; path: string }
let home: string
let gw: RunningBinary

beforeAll(async () => {
  up = startFakeUpstream()
  idp = await startIdentityProvider({ algs: ['RS256', 'ES256', 'EdDSA'] })
  rx = startOtlpReceiver()
  await ensureBinary()
  bin = copyBinaryAlone()
  home = mkdtempSync(join(tmpdir(), 'agentgate-home-'))
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home, OTEL_SERVICE_NAME: 'agentgate-binary' }
  gw = await startBinary(
    bin.path,
    [
      '--port',
      '0',
      '--upstream',
      up.url,
      '--log-level',
      'warn',
      '--oidc-issuer',
      idp.issuer,
      '--oidc-audience',
      TEST_AUDIENCE,
      '--otel-endpoint',
      rx.url,
    ],
    { cwd: bin.dir, env, timeoutMs: 20_000 },
  )
}, 300_000)

afterAll(async () => {
  await gw?.stop()
  await up?.stop()
  await idp?.stop()
  await rx?.stop()
  for (const d of [bin?.dir, home]) if (d) rmSync(d, { recursive: true, force: true })
})

test('tokens signed with RS256, ES256 and EdDSA are verified; a tampered one is refused', async () => {
  for (const key of idp.published) {
    const client = new OpenAI({ baseURL: gw.url + '/v1', apiKey: await idp.sign({ sub: `bin-${key.alg}` }, { key }), maxRetries: 0 })
    const r = await client.responses.create({ model: 'test-model', input: `signed with ${key.alg}` })
    expect([key.alg, r.status]).toEqual([key.alg, 'completed'])
  }
  const [h, p, s] = (await idp.sign({ sub: 'x' })).split('.')
  const tampered = `${h}.${p}.${s.slice(0, -4)}AAAA`
  const r = await fetch(gw.url + '/v1/models', { headers: { authorization: `Bearer ${tampered}` }, signal: AbortSignal.timeout(10_000) })
  expect(r.status).toBe(401)
  expect(r.headers.get('www-authenticate')).toContain('error="invalid_token"')
})

test('spans reach the collector, with the service name from OTEL_SERVICE_NAME', async () => {
  const spans = await rx.waitFor((s) => s.some((x) => x.name === 'turn test-model'))
  const turn = spans.find((x) => x.name === 'turn test-model')!
  expect(turn.resource['service.name']).toBe('agentgate-binary')
  expect(turn.attrs['gen_ai.usage.output_tokens']).toBeGreaterThan(0)
  expect(spans.some((x) => x.spanId === turn.parentSpanId && x.name === 'POST /v1/responses')).toBe(true)
})
