// The real Codex CLI (0.169, `codex exec`) against the in-process gateway and the fake upstream:
// Codex must take our GET /v1/models?client_version=… answer as its model catalog. The assertions
// are about the catalog only; whether the turn itself succeeds is other tests' business.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEFAULT_BASE_INSTRUCTIONS, toCodexCatalog } from '../../src/codex/catalog'
import { validateModelOverride } from '../../src/codex/overrides'
import * as S from '../../src/schema/models'
import { runCodex, type CodexRun } from '../support/codex'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const FALLBACK = /fallback metadata/i
const DECODE_FAILURE = /failed to decode models response/i
const RUN_TIMEOUT_MS = 30_000

/** A catalog with one model per value of every enum a config override may set (one bad value makes Codex reject it all). */
function everyEnumValueCatalog() {
  const data: { id: string; max_model_len: number }[] = [{ id: 'test-model', max_model_len: 32768 }]
  const overrides: Record<string, ReturnType<typeof validateModelOverride>> = {}
  const add = (o: Record<string, unknown>) => {
    const id = `variant-${data.length}`
    data.push({ id, max_model_len: 32768 })
    overrides[id] = validateModelOverride(id, o)
  }
  for (const e of S.REASONING_EFFORTS) add({ default_reasoning_level: e, supported_reasoning_levels: [{ effort: e, description: e }] })
  for (const v of S.SHELL_TYPES) add({ shell_type: v })
  for (const v of S.VISIBILITIES) add({ visibility: v })
  for (const v of S.TRUNCATION_MODES) add({ truncation_policy: { mode: v, limit: 5000 } })
  for (const v of S.REASONING_SUMMARIES) add({ default_reasoning_summary: v, supports_reasoning_summaries: true })
  for (const v of S.VERBOSITIES) add({ default_verbosity: v, support_verbosity: true })
  for (const v of S.WEB_SEARCH_TOOL_TYPES) add({ web_search_tool_type: v })
  add({
    input_modalities: ['text', 'image'],
    auto_compact_token_limit: 20000,
    effective_context_window_percent: 80,
    auto_review_model_override: 'test-model',
    supports_image_detail_original: true,
    supports_search_tool: true,
    use_responses_lite: false,
    experimental_supported_tools: ['x'],
  })
  return toCodexCatalog({ data }, overrides)
}

describe('Codex CLI reads the model catalog from the gateway', () => {
  let upstream: FakeUpstream
  let gw: TestGateway
  let listed: CodexRun
  let unlisted: CodexRun
  let fromFile: CodexRun
  let allEnums: CodexRun
  let etag: string

  beforeAll(async () => {
    upstream = startFakeUpstream({
      models: [
        { id: 'test-model', max_model_len: 32768 },
        { id: 'long-model', context_length: 65536 },
      ],
    })
    gw = await startGateway({ upstream: upstream.url, logLevel: 'silent' })
    const res = await fetch(`${gw.baseURL}/models?client_version=0.169.0`)
    etag = res.headers.get('etag')!
    const catalogFile = join(gw.dir, 'codex-models.json')
    writeFileSync(catalogFile, await res.text())
    const enumsFile = join(gw.dir, 'codex-enums.json')
    writeFileSync(enumsFile, JSON.stringify(everyEnumValueCatalog()))

    // Concurrently, so the whole file stays within one run's timeout.
    ;[listed, unlisted, fromFile, allEnums] = await Promise.all([
      // the provider has an auth command, so Codex fetches GET /v1/models
      runCodex({ baseURL: gw.baseURL, model: 'test-model', prompt: 'Say hi', timeoutMs: RUN_TIMEOUT_MS }),
      // control: a model the upstream does not list must produce the warning we assert is absent above
      runCodex({ baseURL: gw.baseURL, model: 'not-listed', prompt: 'Say hi', timeoutMs: RUN_TIMEOUT_MS }),
      // what the `agentgate codex` launcher will do: no auth block, the catalog from a file
      runCodex({
        baseURL: gw.baseURL,
        model: 'long-model',
        prompt: 'Say hi',
        apiKey: null,
        extraConfig: `model_catalog_json = ${JSON.stringify(catalogFile)}`,
        timeoutMs: RUN_TIMEOUT_MS,
      }),
      // every value our override validation lets through, in one catalog file (a bad one is a hard error there)
      runCodex({
        baseURL: gw.baseURL,
        model: 'test-model',
        prompt: 'Say hi',
        apiKey: null,
        extraConfig: `model_catalog_json = ${JSON.stringify(enumsFile)}`,
        timeoutMs: RUN_TIMEOUT_MS,
      }),
    ])
  }, 60_000)

  afterAll(async () => {
    for (const r of [listed, unlisted, fromFile, allEnums]) r?.cleanup()
    await gw?.stop()
    await upstream?.stop()
  })

  const output = (r: CodexRun) => r.stdout + r.stderr

  test('a listed model gets our metadata: no fallback warning, no decode error', () => {
    expect(listed.timedOut).toBe(false)
    expect(output(listed)).not.toMatch(FALLBACK)
    expect(output(listed)).not.toMatch(DECODE_FAILURE)
  })

  test('$CODEX_HOME/models_cache.json holds our catalog, keyed by our ETag', () => {
    const file = join(listed.codexHome, 'models_cache.json')
    expect(existsSync(file)).toBe(true)
    const cache = JSON.parse(readFileSync(file, 'utf8'))
    expect(cache.etag).toBe(etag)
    const bySlug = Object.fromEntries(cache.models.map((m: any) => [m.slug, m]))
    expect(bySlug['test-model']).toMatchObject({ context_window: 32768, max_context_window: 32768 })
    expect(bySlug['long-model']).toMatchObject({ context_window: 65536 })
    // The cache is Codex's own re-serialisation: 0.169 keeps the prompt as model_messages.instructions_template.
    const m = bySlug['test-model']
    expect(m.base_instructions ?? m.model_messages?.instructions_template).toBe(DEFAULT_BASE_INSTRUCTIONS)
  })

  test('when the turn reaches the upstream, its base prompt is ours', () => {
    const first = upstream.requestsTo('/v1/responses').find((r) => r.body?.model === 'test-model')
    if (!first) return // the turn did not get that far; the catalog assertions above still hold
    expect(JSON.stringify(first.body)).toContain(JSON.stringify(DEFAULT_BASE_INSTRUCTIONS.split('\n')[0]).slice(1, -1))
  })

  test('control: a model missing from the catalog does produce the fallback warning', () => {
    expect(unlisted.timedOut).toBe(false)
    expect(output(unlisted)).toMatch(FALLBACK)
  })

  test('the same catalog given as model_catalog_json (no auth command) is accepted too', () => {
    expect(fromFile.timedOut).toBe(false)
    expect(output(fromFile)).not.toMatch(FALLBACK)
    expect(output(fromFile)).not.toMatch(DECODE_FAILURE)
  })

  test('every enum value override validation accepts is one Codex 0.169 accepts', () => {
    expect(allEnums.timedOut).toBe(false)
    expect(output(allEnums)).not.toMatch(/failed to parse model_catalog_json/i)
    expect(output(allEnums)).not.toMatch(FALLBACK)
  })
})
