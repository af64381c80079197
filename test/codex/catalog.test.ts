import { describe, expect, test } from 'bun:test'
import {
  DEFAULT_BASE_INSTRUCTIONS,
  acceptsImages,
  bodyETag,
  etagMatches,
  toCodexCatalog,
  toCodexModel,
  upstreamContextWindow,
  type ReadText,
  type UpstreamModel,
} from '../../src/codex/catalog'
import meta from '../../src/codex/metadata.json'
import { codexCatalogProblems, codexModelInfoProblems } from './codex-model-info'

const noFiles: ReadText = () => null
const vllmEntry = (id: string, extra: Record<string, unknown> = {}): UpstreamModel => ({
  id,
  object: 'model',
  created: 1_700_000_000,
  owned_by: 'vllm',
  root: id,
  parent: null,
  permission: [],
  ...extra,
})

describe('the embedded metadata', () => {
  test('holds every key Codex 0.169 requires, with valid values', () => {
    expect(codexModelInfoProblems({ slug: 'x', display_name: 'x', ...meta })).toEqual([])
  })

  test('ships our own non-empty base instructions about the shell, apply_patch, planning and verifying', () => {
    expect(meta.base_instructions.trim().length).toBeGreaterThan(500)
    for (const word of ['shell', 'apply_patch', 'plan', 'test', 'concise']) expect(meta.base_instructions.toLowerCase()).toContain(word)
    expect(DEFAULT_BASE_INSTRUCTIONS).toBe(meta.base_instructions)
  })

  test('does not use values 0.169 rejects', () => {
    expect(meta.apply_patch_tool_type).toBe('freeform')
    expect(meta.visibility).toBe('list')
    expect(meta.supported_in_api).toBe(true)
    expect(meta.truncation_policy).toEqual({ mode: 'tokens', limit: 10000 })
    expect(meta.supported_reasoning_levels.map((l) => l.effort)).toContain(meta.default_reasoning_level)
  })
})

describe('toCodexModel', () => {
  const cases: { name: string; entry: UpstreamModel; expect: Record<string, unknown>; absent?: string[] }[] = [
    {
      name: 'vLLM entry: slug and display name from id, window from max_model_len',
      entry: vllmEntry('Qwen/Qwen3-8B', { max_model_len: 32768 }),
      expect: {
        slug: 'Qwen/Qwen3-8B',
        display_name: 'Qwen/Qwen3-8B',
        context_window: 32768,
        max_context_window: 32768,
        input_modalities: ['text'],
      },
    },
    {
      name: 'OpenRouter-style entry: display name from name, window from context_length, images from architecture',
      entry: {
        id: 'org/vl-model',
        name: 'Org: VL Model',
        context_length: 131072,
        architecture: { modality: 'text+image->text', input_modalities: ['text', 'image'] },
      },
      expect: {
        slug: 'org/vl-model',
        display_name: 'Org: VL Model',
        context_window: 131072,
        max_context_window: 131072,
        input_modalities: ['text', 'image'],
      },
    },
    {
      name: 'entry without any length: no context window keys at all',
      entry: { id: 'llama3', object: 'model', owned_by: 'library' },
      expect: { slug: 'llama3', display_name: 'llama3' },
      absent: ['context_window', 'max_context_window'],
    },
    {
      name: 'max_model_len wins over context_length',
      entry: vllmEntry('m', { max_model_len: 4096, context_length: 8192 }),
      expect: { context_window: 4096 },
    },
    {
      name: 'nonsense lengths are ignored',
      entry: vllmEntry('m', { max_model_len: -1, context_length: '8192' }),
      expect: {},
      absent: ['context_window', 'max_context_window'],
    },
    {
      name: 'capabilities {vision:true} means image input',
      entry: vllmEntry('m', { capabilities: { vision: true } }),
      expect: { input_modalities: ['text', 'image'] },
    },
    {
      name: 'capabilities ["completion","vision"] means image input',
      entry: vllmEntry('m', { capabilities: ['completion', 'vision'] }),
      expect: { input_modalities: ['text', 'image'] },
    },
    {
      name: 'modalities {input:["text","image"]} means image input',
      entry: vllmEntry('m', { modalities: { input: ['text', 'image'], output: ['text'] } }),
      expect: { input_modalities: ['text', 'image'] },
    },
    {
      name: 'capabilities {vision:false} stays text only',
      entry: vllmEntry('m', { capabilities: { vision: false, tools: true } }),
      expect: { input_modalities: ['text'] },
    },
    {
      name: 'the upstream description is kept; otherwise one names the owner',
      entry: { id: 'm', description: 'A model that codes', owned_by: 'vllm' },
      expect: { description: 'A model that codes' },
    },
    {
      name: 'an empty name falls back to the id',
      entry: { id: 'm', name: '' },
      expect: { display_name: 'm' },
    },
  ]

  for (const c of cases) {
    test(c.name, () => {
      const info = toCodexModel(c.entry, undefined, noFiles)
      expect(codexModelInfoProblems(info)).toEqual([])
      expect(info).toMatchObject(c.expect)
      for (const k of c.absent ?? []) expect(k in info).toBe(false)
      expect(info.base_instructions).toBe(DEFAULT_BASE_INSTRUCTIONS)
    })
  }

  test('a description names the upstream owner when the entry has none', () => {
    expect(toCodexModel(vllmEntry('m'), undefined, noFiles).description).toBe('Served by vllm through agentgate')
  })

  test('each model gets its own copy of the static metadata', () => {
    const a = toCodexModel(vllmEntry('a'), undefined, noFiles)
    ;(a.supported_reasoning_levels as any[]).push({ effort: 'xhigh', description: 'x' })
    ;(a.truncation_policy as any).limit = 1
    const b = toCodexModel(vllmEntry('b'), undefined, noFiles)
    expect(b.supported_reasoning_levels).toEqual(meta.supported_reasoning_levels as any)
    expect(b.truncation_policy.limit).toBe(10000)
  })
})

describe('overrides', () => {
  test('display_name, description and context_window replace the upstream values', () => {
    const info = toCodexModel(
      vllmEntry('m', { max_model_len: 32768 }),
      { display_name: 'My Model', description: 'tuned', context_window: 16384 },
      noFiles,
    )
    expect(info).toMatchObject({
      slug: 'm',
      display_name: 'My Model',
      description: 'tuned',
      context_window: 16384,
      max_context_window: 32768,
    })
    expect(codexModelInfoProblems(info)).toEqual([])
  })

  test('a context_window for a model whose upstream gives none sets both window keys', () => {
    const info = toCodexModel({ id: 'm' }, { context_window: 8192 }, noFiles)
    expect(info).toMatchObject({ context_window: 8192, max_context_window: 8192 })
  })

  test('base_instructions replaces the embedded prompt', () => {
    expect(toCodexModel(vllmEntry('m'), { base_instructions: 'Be brief.' }, noFiles).base_instructions).toBe('Be brief.')
  })

  test('base_instructions_file is read through readFile', () => {
    const read: ReadText = (p) => (p === '/etc/agentgate/coder.md' ? 'You write Rust.\n' : null)
    const info = toCodexModel(vllmEntry('m'), { base_instructions_file: '/etc/agentgate/coder.md' }, read)
    expect(info.base_instructions).toBe('You write Rust.\n')
    expect('base_instructions_file' in info).toBe(false)
  })

  test('an unreadable or blank base_instructions_file keeps the embedded prompt', () => {
    expect(toCodexModel(vllmEntry('m'), { base_instructions_file: '/nope' }, noFiles).base_instructions).toBe(DEFAULT_BASE_INSTRUCTIONS)
    expect(toCodexModel(vllmEntry('m'), { base_instructions_file: '/blank' }, () => '  \n').base_instructions).toBe(
      DEFAULT_BASE_INSTRUCTIONS,
    )
  })

  test('other ModelInfo keys pass through', () => {
    const info = toCodexModel(
      vllmEntry('m'),
      {
        shell_type: 'unified_exec',
        priority: 5,
        supports_reasoning_summaries: true,
        default_reasoning_level: 'high',
        truncation_policy: { mode: 'bytes', limit: 20000 },
        input_modalities: ['text', 'image'],
        web_search_tool_type: 'text_and_image',
        auto_compact_token_limit: 20000,
      },
      noFiles,
    )
    expect(info).toMatchObject({
      shell_type: 'unified_exec',
      priority: 5,
      supports_reasoning_summaries: true,
      default_reasoning_level: 'high',
      truncation_policy: { mode: 'bytes', limit: 20000 },
      input_modalities: ['text', 'image'],
      web_search_tool_type: 'text_and_image',
      auto_compact_token_limit: 20000,
    })
    expect(codexModelInfoProblems(info)).toEqual([])
  })

  test('values Codex would reject are dropped instead of breaking the catalog', () => {
    const info = toCodexModel(
      vllmEntry('m'),
      {
        shell_type: 'bash',
        apply_patch_tool_type: 'function',
        visibility: 'shown',
        priority: 1.5,
        slug: 'other',
        base_instructions: '',
      } as any,
      noFiles,
    )
    expect(codexModelInfoProblems(info)).toEqual([])
    expect(info).toMatchObject({
      slug: 'm',
      shell_type: meta.shell_type,
      apply_patch_tool_type: 'freeform',
      visibility: 'list',
      priority: 1,
    })
    expect(info.base_instructions).toBe(DEFAULT_BASE_INSTRUCTIONS)
  })
})

describe('toCodexCatalog', () => {
  test('reshapes the whole list, applying overrides by id', () => {
    const list = { object: 'list', data: [vllmEntry('a', { max_model_len: 1000 }), vllmEntry('b', { max_model_len: 2000 })] }
    const catalog = toCodexCatalog(list, { b: { display_name: 'Bee' } }, noFiles)
    expect(codexCatalogProblems(catalog)).toEqual([])
    expect(catalog.models.map((m) => [m.slug, m.display_name, m.context_window])).toEqual([
      ['a', 'a', 1000],
      ['b', 'Bee', 2000],
    ])
  })

  test('skips entries without an id and repeated ids', () => {
    const catalog = toCodexCatalog(
      { data: [{ object: 'model' }, { id: '' }, { id: 'a' }, { id: 'a', max_model_len: 5 }, null] },
      {},
      noFiles,
    )
    expect(catalog.models.map((m) => m.slug)).toEqual(['a'])
    expect(catalog.models[0].context_window).toBeUndefined()
  })

  test('an override for a model the upstream does not list adds nothing', () => {
    expect(toCodexCatalog({ data: [] }, { ghost: { display_name: 'Ghost' } }, noFiles)).toEqual({ models: [] })
  })

  test('overrides are looked up as own keys only', () => {
    const catalog = toCodexCatalog({ data: [{ id: 'constructor' }, { id: 'toString' }] }, {}, noFiles)
    expect(codexCatalogProblems(catalog)).toEqual([])
  })

  test('a body without a data array is an error', () => {
    expect(() => toCodexCatalog({ object: 'list' }, {}, noFiles)).toThrow(/data/)
  })
})

describe('helpers', () => {
  test('upstreamContextWindow reads the known spellings in order', () => {
    expect(upstreamContextWindow({ id: 'm', max_model_len: 1 })).toBe(1)
    expect(upstreamContextWindow({ id: 'm', context_length: 2 })).toBe(2)
    expect(upstreamContextWindow({ id: 'm', top_provider: { context_length: 3 } })).toBe(3)
    expect(upstreamContextWindow({ id: 'm' })).toBeUndefined()
  })

  test('acceptsImages is false for a plain vLLM entry', () => {
    expect(acceptsImages(vllmEntry('m', { max_model_len: 10 }))).toBe(false)
  })

  test('the ETag is quoted, stable for a body and different for another', () => {
    const a = bodyETag('{"models":[]}')
    expect(a).toMatch(/^"[A-Za-z0-9_-]{20,}"$/)
    expect(bodyETag('{"models":[]}')).toBe(a)
    expect(bodyETag('{"models":[{}]}')).not.toBe(a)
  })

  test.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['*', true],
    ['"abd"', false],
    ['', false],
    [null, false],
  ])('If-None-Match %p matches "abc": %p', (header, hit) => {
    expect(etagMatches(header as string | null, '"abc"')).toBe(hit as boolean)
  })
})
