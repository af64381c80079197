// An independent check of a Codex catalog, written from CODEX.md (what Codex 0.169 decodes), not
// from our TypeBox schema: every required key with its type, and every enum Codex knows. A catalog
// that passes here is one Codex 0.169 does not reject.

const EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh']
const SHELL_TYPES = ['default', 'local', 'unified_exec', 'disabled', 'shell_command']
const VISIBILITIES = ['list', 'hide', 'none']
const TRUNCATION_MODES = ['bytes', 'tokens']
const SUMMARIES = ['auto', 'concise', 'detailed', 'none']
const VERBOSITIES = ['low', 'medium', 'high']
const MODALITIES = ['text', 'image']
const WEB_SEARCH = ['text', 'text_and_image']

const isInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v)

/** Problems Codex 0.169 would have with one ModelInfo; empty when it decodes. */
export function codexModelInfoProblems(m: any): string[] {
  const p: string[] = []
  const req = (key: string, ok: (v: any) => boolean, what: string) => {
    if (!(key in m)) p.push(`${key}: missing`)
    else if (!ok(m[key])) p.push(`${key}: expected ${what}, got ${JSON.stringify(m[key])}`)
  }
  const opt = (key: string, ok: (v: any) => boolean, what: string) => {
    if (key in m && !ok(m[key])) p.push(`${key}: expected ${what}, got ${JSON.stringify(m[key])}`)
  }
  const oneOf = (values: string[]) => (v: any) => values.includes(v)

  if (!m || typeof m !== 'object' || Array.isArray(m)) return ['not an object']
  req('slug', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string')
  req('display_name', (v) => typeof v === 'string', 'a string')
  req(
    'supported_reasoning_levels',
    (v) => Array.isArray(v) && v.every((l) => l && EFFORTS.includes(l.effort) && typeof l.description === 'string'),
    'a list of {effort, description}',
  )
  req('shell_type', oneOf(SHELL_TYPES), SHELL_TYPES.join('|'))
  req('visibility', oneOf(VISIBILITIES), VISIBILITIES.join('|'))
  req('supported_in_api', (v) => typeof v === 'boolean', 'a boolean')
  req('priority', isInt, 'an integer')
  req('support_verbosity', (v) => typeof v === 'boolean', 'a boolean')
  req('truncation_policy', (v) => v && TRUNCATION_MODES.includes(v.mode) && isInt(v.limit), '{mode: bytes|tokens, limit}')
  req('experimental_supported_tools', (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), 'a list of strings')
  req('base_instructions', (v) => typeof v === 'string', 'a string')

  opt('description', (v) => v === null || typeof v === 'string', 'a string or null')
  opt('default_reasoning_level', (v) => v === null || EFFORTS.includes(v), EFFORTS.join('|'))
  opt('default_reasoning_summary', oneOf(SUMMARIES), SUMMARIES.join('|'))
  opt('default_verbosity', (v) => v === null || VERBOSITIES.includes(v), `${VERBOSITIES.join('|')}|null`)
  opt('apply_patch_tool_type', (v) => v === null || v === 'freeform', '"freeform" or null ("function" is rejected by 0.169)')
  opt('web_search_tool_type', oneOf(WEB_SEARCH), WEB_SEARCH.join('|'))
  opt('input_modalities', (v) => Array.isArray(v) && v.every((x) => MODALITIES.includes(x)), 'a list of text|image')
  for (const k of [
    'supports_reasoning_summaries',
    'supports_parallel_tool_calls',
    'supports_image_detail_original',
    'supports_search_tool',
    'use_responses_lite',
  ])
    opt(k, (v) => typeof v === 'boolean', 'a boolean')
  for (const k of ['context_window', 'max_context_window', 'auto_compact_token_limit', 'effective_context_window_percent'])
    opt(k, (v) => v === null || isInt(v), 'an integer')
  opt('auto_review_model_override', (v) => v === null || typeof v === 'string', 'a string')
  return p
}

/** Problems with a whole `{models:[…]}` body; empty when Codex 0.169 accepts it. */
export function codexCatalogProblems(body: any): string[] {
  if (!body || !Array.isArray(body.models)) return ['models: missing or not a list']
  return body.models.flatMap((m: any, i: number) => codexModelInfoProblems(m).map((x) => `models[${i}].${x}`))
}
