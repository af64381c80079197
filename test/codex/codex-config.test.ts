import { describe, expect, test } from 'bun:test'
import { codexConfigToml } from '../support/codex'

describe('the Codex config.toml the test helper writes', () => {
  test('is the provider block of CODEX.md, with an auth command so Codex fetches /v1/models', () => {
    const cfg: any = Bun.TOML.parse(codexConfigToml({ baseURL: 'http://127.0.0.1:1234/v1', apiKey: 'k1' }))
    expect(cfg.model_provider).toBe('agentgate')
    expect(cfg.model_providers.agentgate).toMatchObject({
      name: 'agentgate',
      base_url: 'http://127.0.0.1:1234/v1',
      wire_api: 'responses',
      requires_openai_auth: false,
      supports_websockets: false,
      auth: { command: 'printf', args: ['%s', 'k1'] },
    })
  })

  test('apiKey null leaves out the auth block; extra top-level keys stay top-level', () => {
    const cfg: any = Bun.TOML.parse(
      codexConfigToml({ baseURL: 'http://h/v1', apiKey: null, websockets: true, extraConfig: 'model_catalog_json = "/x.json"' }),
    )
    expect(cfg.model_catalog_json).toBe('/x.json')
    expect(cfg.model_providers.agentgate.auth).toBeUndefined()
    expect(cfg.model_providers.agentgate.supports_websockets).toBe(true)
  })
})
