// Per-model overrides of the Codex catalog ([models."<id>"] in config.toml): which keys exist, what
// values they take, and the check config loading runs so a value Codex would reject (one bad enum
// makes Codex 0.169 drop the whole catalog) fails at start-up with a message naming the key.
import { dirname, isAbsolute, resolve } from 'node:path'
import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ConfigError } from '../config-error'
import { CodexModelInfo } from '../schema/models'

/** Per-model overrides for the Codex catalog, keyed by upstream model id in the config file. */
export interface ModelOverride {
  display_name?: string
  description?: string
  context_window?: number
  base_instructions?: string
  /** Path of a file whose text becomes base_instructions. */
  base_instructions_file?: string
  [key: string]: unknown
}

/** The model id always comes from the upstream: it is what Codex sends back as `model`. */
const FIXED_KEYS = new Set(['slug'])

function schemaOf(key: string): TSchema | undefined {
  // base_instructions_file is ours, not Codex's: a path whose text becomes base_instructions.
  if (key === 'base_instructions_file') return CodexModelInfo.properties.base_instructions
  if (FIXED_KEYS.has(key)) return undefined
  const props = CodexModelInfo.properties as Record<string, TSchema>
  return Object.hasOwn(props, key) ? props[key] : undefined
}

/** Keys that may appear in [models."<id>"], for error messages and docs. */
export function overridableKeys(): string[] {
  return [...Object.keys(CodexModelInfo.properties).filter((k) => !FIXED_KEYS.has(k)), 'base_instructions_file'].sort()
}

/** Plain-words description of what a schema accepts, e.g. "one of low|medium|high". */
export function describeSchema(s: TSchema): string {
  const constants = (values: string[]) => (values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join('|')}`)
  if (s.const !== undefined) return constants([String(s.const)])
  if (s.anyOf) {
    // null cannot be written in TOML, so a nullable enum is described by its values alone
    const flat = (s.anyOf as TSchema[]).flatMap((x) => (x.anyOf ? (x.anyOf as TSchema[]) : [x])).filter((x) => x.type !== 'null')
    if (flat.every((x) => x.const !== undefined)) return constants(flat.map((x) => String(x.const)))
    return flat.map(describeSchema).join(' or ')
  }
  switch (s.type) {
    case 'integer': {
      const bounds = [s.minimum !== undefined ? `≥ ${s.minimum}` : '', s.maximum !== undefined ? `≤ ${s.maximum}` : '']
        .filter(Boolean)
        .join(' and ')
      return `a whole number${bounds ? ' ' + bounds : ''}`
    }
    case 'number':
      return 'a number'
    case 'string':
      return s.minLength ? 'a non-empty string' : 'a string'
    case 'boolean':
      return 'true or false'
    case 'null':
      return 'null'
    case 'array':
      return `a list${s.minItems ? ' (not empty)' : ''} of ${describeSchema(s.items as TSchema)}`
    case 'object': {
      const props = Object.entries((s.properties ?? {}) as Record<string, TSchema>)
      return `a table { ${props.map(([k, v]) => `${k} = ${describeSchema(v)}`).join(', ')} }`
    }
    default:
      return 'a valid value'
  }
}

/** Why `value` cannot be used for override `key`, or null when it can. Used at config load and, defensively, when building the catalog. */
export function overrideValueProblem(key: string, value: unknown): string | null {
  if (FIXED_KEYS.has(key)) return `cannot be overridden (it is always the upstream model id)`
  const schema = schemaOf(key)
  if (!schema) return `is not a Codex model setting; known keys: ${overridableKeys().join(', ')}`
  if (!Value.Check(schema, value)) return `expected ${describeSchema(schema)}, got ${JSON.stringify(value)}`
  return null
}

export interface ValidateOverrideOptions {
  /** the config file, for messages and for resolving a relative base_instructions_file */
  where?: string | null
  /** reads a file's text, or null when it does not exist; given → base_instructions_file must be readable and non-empty */
  readFile?: (path: string) => string | null
}

/**
 * Checks one [models."<id>"] table and returns it normalised (base_instructions_file made absolute,
 * relative to the config file). Throws ConfigError naming `models."<id>".<key>`.
 * Config loading calls this for every entry of the `models` table.
 */
export function validateModelOverride(id: string, o: unknown, opts: ValidateOverrideOptions = {}): ModelOverride {
  const at = opts.where ? ` in ${opts.where}` : ''
  const fail = (key: string | null, why: string) => new ConfigError(`invalid setting models."${id}"${key ? '.' + key : ''}${at}: ${why}`)
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw fail(null, 'expected a table')
  const out: ModelOverride = { ...(o as ModelOverride) }
  for (const [key, value] of Object.entries(out)) {
    const problem = overrideValueProblem(key, value)
    if (problem) throw fail(key, problem)
  }
  if (out.base_instructions !== undefined && out.base_instructions_file !== undefined)
    throw fail('base_instructions_file', 'set either base_instructions or base_instructions_file, not both')
  if (typeof out.base_instructions === 'string' && out.base_instructions.trim() === '')
    throw fail('base_instructions', 'must not be blank (an empty prompt leaves the model with no instructions)')
  if (out.input_modalities !== undefined && !(out.input_modalities as string[]).includes('text'))
    throw fail('input_modalities', 'must include "text"')
  if (typeof out.base_instructions_file === 'string') {
    const path =
      isAbsolute(out.base_instructions_file) || !opts.where
        ? out.base_instructions_file
        : resolve(dirname(opts.where), out.base_instructions_file)
    out.base_instructions_file = path
    if (opts.readFile) {
      const text = opts.readFile(path)
      if (text === null) throw fail('base_instructions_file', `file not found: ${path}`)
      if (text.trim() === '') throw fail('base_instructions_file', `file is empty: ${path}`)
    }
  }
  return out
}
