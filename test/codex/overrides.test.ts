import { describe, expect, test } from 'bun:test'
import { ConfigError } from '../../src/config'
import { overridableKeys, validateModelOverride } from '../../src/codex/overrides'

const CONFIG = '/home/u/.agentgate/config.toml'

function problem(o: unknown, readFile?: (p: string) => string | null): string {
  try {
    validateModelOverride('Qwen/Qwen3-8B', o, { where: CONFIG, readFile })
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  return ''
}

describe('validateModelOverride', () => {
  test('accepts the documented keys and any valid ModelInfo key', () => {
    const o = {
      display_name: 'Qwen 3',
      description: 'local',
      context_window: 32768,
      base_instructions: 'Be brief.',
      shell_type: 'unified_exec',
      visibility: 'hide',
      priority: 3,
      default_reasoning_level: 'low',
      default_reasoning_summary: 'none',
      default_verbosity: 'low',
      supported_reasoning_levels: [{ effort: 'low', description: 'fast' }],
      truncation_policy: { mode: 'bytes', limit: 1000 },
      input_modalities: ['text', 'image'],
      experimental_supported_tools: [],
      supports_parallel_tool_calls: false,
      effective_context_window_percent: 90,
    }
    expect(validateModelOverride('Qwen/Qwen3-8B', o, { where: CONFIG })).toEqual(o)
  })

  const rejected: [string, unknown, RegExp][] = [
    [
      'a bad enum',
      { shell_type: 'bash' },
      /models\."Qwen\/Qwen3-8B"\.shell_type in .*config\.toml: expected one of default\|local\|unified_exec\|disabled\|shell_command, got "bash"/,
    ],
    [
      'apply_patch_tool_type "function" (0.169 rejects it)',
      { apply_patch_tool_type: 'function' },
      /\.apply_patch_tool_type.*expected "freeform", got "function"/,
    ],
    [
      'a bad effort inside supported_reasoning_levels',
      { supported_reasoning_levels: [{ effort: 'max', description: 'x' }] },
      /\.supported_reasoning_levels.*effort = one of none\|minimal\|low\|medium\|high\|xhigh/,
    ],
    ['a reasoning level without description', { supported_reasoning_levels: [{ effort: 'low' }] }, /\.supported_reasoning_levels/],
    ['a bad truncation mode', { truncation_policy: { mode: 'lines', limit: 3 } }, /\.truncation_policy.*mode = one of bytes\|tokens/],
    ['a zero context window', { context_window: 0 }, /\.context_window.*a whole number ≥ 1/],
    ['a fractional priority', { priority: 1.5 }, /\.priority.*a whole number/],
    ['a string boolean', { supports_parallel_tool_calls: 'yes' }, /\.supports_parallel_tool_calls.*true or false/],
    ['an empty display name', { display_name: '' }, /\.display_name.*a non-empty string/],
    ['blank base instructions', { base_instructions: '   ' }, /\.base_instructions.*must not be blank/],
    ['both instruction keys', { base_instructions: 'a', base_instructions_file: 'b.md' }, /\.base_instructions_file.*not both/],
    ['an unknown key (typo)', { context_windw: 100 }, /\.context_windw.*not a Codex model setting; known keys: .*context_window/],
    ['the slug', { slug: 'other' }, /\.slug.*cannot be overridden/],
    ['images without text', { input_modalities: ['image'] }, /\.input_modalities.*must include "text"/],
    ['a bad modality', { input_modalities: ['text', 'audio'] }, /\.input_modalities.*one of text\|image/],
    ['not a table', 'qwen', /models\."Qwen\/Qwen3-8B" in .*expected a table/],
  ]
  for (const [name, o, message] of rejected) {
    test(`rejects ${name}`, () => {
      expect(problem(o)).toMatch(message)
    })
  }

  test('prototype names are unknown keys, not schema lookups', () => {
    expect(problem(JSON.parse('{"toString": 1}'))).toMatch(/\.toString.*not a Codex model setting/)
  })

  test('base_instructions_file is resolved against the config file and must be readable and non-empty', () => {
    const files: Record<string, string> = { '/home/u/.agentgate/prompts/coder.md': 'Write Go.', '/abs/empty.md': '' }
    const read = (p: string) => files[p] ?? null
    expect(
      validateModelOverride('m', { base_instructions_file: 'prompts/coder.md' }, { where: CONFIG, readFile: read }).base_instructions_file,
    ).toBe('/home/u/.agentgate/prompts/coder.md')
    expect(problem({ base_instructions_file: 'missing.md' }, read)).toMatch(
      /\.base_instructions_file.*file not found: \/home\/u\/\.agentgate\/missing\.md/,
    )
    expect(problem({ base_instructions_file: '/abs/empty.md' }, read)).toMatch(/file is empty/)
  })

  test('without a config file path, messages leave out "in …" and paths stay as given', () => {
    expect(() => validateModelOverride('m', { visibility: 'x' })).toThrow(
      'invalid setting models."m".visibility: expected one of list|hide|none, got "x"',
    )
    expect(validateModelOverride('m', { base_instructions_file: 'rel.md' }).base_instructions_file).toBe('rel.md')
  })

  test('lists the keys a config may set', () => {
    const keys = overridableKeys()
    expect(keys).toContain('base_instructions_file')
    expect(keys).toContain('context_window')
    expect(keys).not.toContain('slug')
  })
})
