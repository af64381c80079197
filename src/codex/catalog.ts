// Reshapes the upstream's OpenAI model list into the Codex catalog ({models:[ModelInfo]}, CODEX.md):
// the static part comes from metadata.json (embedded in the binary), the per-model part from the
// upstream entry (id, name, context window, image input) and from config overrides. Pure functions;
// the only I/O is the injected readFile for base_instructions_file.
import { readFileSync } from 'node:fs'
import type { CodexCatalog, CodexModelInfo } from '../schema/models'
import meta from './metadata.json'
import { overrideValueProblem, type ModelOverride } from './overrides'
import { upstreamContextWindow, type UpstreamModel } from '../upstream/context-window'

export { upstreamContextWindow, type UpstreamModel } from '../upstream/context-window'

/** ModelInfo minus the per-model keys; shared by every model and never mutated. */
type StaticModelInfo = Omit<CodexModelInfo, 'slug' | 'display_name'>
const STATIC_INFO: Readonly<StaticModelInfo> = deepFreeze(meta as unknown as StaticModelInfo)

/** The embedded default prompt (base_instructions) every model gets unless overridden. */
export const DEFAULT_BASE_INSTRUCTIONS: string = STATIC_INFO.base_instructions

/** Reads a text file; null when it cannot be read (the catalog then keeps the default prompt). */
export type ReadText = (path: string) => string | null

export const readTextFile: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return null
  }
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0
const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.trim() !== ''

const mentionsImage = (v: unknown): boolean => {
  if (Array.isArray(v)) return v.some((x) => typeof x === 'string' && /^(image|images|vision)$/i.test(x))
  if (typeof v === 'string') return /\bimage\b|\bvision\b/i.test(v)
  return false
}

/**
 * Whether the upstream says the model takes images. Servers spell it differently:
 * `capabilities: {vision: true}` or `["vision"]` (LM Studio, Ollama-style), `input_modalities` /
 * `modalities` (`["text","image"]` or `{input: [...]}`), OpenRouter's `architecture.input_modalities`
 * or `architecture.modality: "text+image->text"`.
 */
export function acceptsImages(entry: UpstreamModel): boolean {
  const caps = entry.capabilities
  if (mentionsImage(caps)) return true
  if (caps && typeof caps === 'object' && !Array.isArray(caps)) {
    const c = caps as Record<string, unknown>
    if (c.vision === true || c.image === true || c.image_input === true || c.images === true) return true
    if (mentionsImage(c.input_modalities) || mentionsImage(c.modalities)) return true
  }
  const modalities = entry.modalities as unknown
  if (mentionsImage(entry.input_modalities) || mentionsImage(modalities)) return true
  if (modalities && typeof modalities === 'object' && mentionsImage((modalities as { input?: unknown }).input)) return true
  const arch = entry.architecture as { input_modalities?: unknown; modality?: unknown } | undefined
  if (arch && (mentionsImage(arch.input_modalities) || (typeof arch.modality === 'string' && /image.*->/.test(arch.modality)))) return true
  return false
}

/** Keys of an override that are ours, not ModelInfo's. */
const NOT_MODEL_INFO = new Set(['base_instructions_file'])

/** One upstream model entry → a Codex ModelInfo, with the config override for its id applied. */
export function toCodexModel(entry: UpstreamModel, override: ModelOverride | undefined, readFile: ReadText): CodexModelInfo {
  const o = override ?? {}
  const window = upstreamContextWindow(entry)
  const description = nonEmptyString(entry.description)
    ? entry.description
    : nonEmptyString(entry.owned_by)
      ? `Served by ${entry.owned_by} through agentgate`
      : undefined
  const info: CodexModelInfo = {
    slug: entry.id,
    display_name: nonEmptyString(entry.name) ? entry.name : entry.id,
    ...(description !== undefined ? { description } : {}),
    ...structuredClone(STATIC_INFO as StaticModelInfo),
  }
  if (window !== undefined) {
    info.context_window = window
    info.max_context_window = window
  }
  if (acceptsImages(entry)) info.input_modalities = ['text', 'image']

  for (const [key, value] of Object.entries(o)) {
    if (NOT_MODEL_INFO.has(key) || value === undefined) continue
    // Config loading rejects bad values already (validateModelOverride); skipping here keeps one that
    // slipped through from making Codex discard the whole catalog.
    if (overrideValueProblem(key, value) !== null) continue
    ;(info as Record<string, unknown>)[key] = structuredClone(value)
  }
  // A configured window larger than the upstream's is the user's call; never advertise a max below it.
  if (isPositiveInt(o.context_window) && o.max_context_window === undefined)
    info.max_context_window = Math.max(window ?? 0, o.context_window)
  if (nonEmptyString(o.base_instructions_file)) {
    const text = readFile(o.base_instructions_file)
    if (nonEmptyString(text)) info.base_instructions = text
  }
  if (!nonEmptyString(info.base_instructions)) info.base_instructions = DEFAULT_BASE_INSTRUCTIONS
  return info
}

/** The `data` entries of an upstream list body that carry a usable id, first occurrence of each id kept. */
export function upstreamModels(list: unknown): UpstreamModel[] | null {
  const data = Array.isArray(list) ? list : list && typeof list === 'object' ? (list as { data?: unknown }).data : undefined
  if (!Array.isArray(data)) return null
  const seen = new Set<string>()
  const out: UpstreamModel[] = []
  for (const e of data) {
    if (!e || typeof e !== 'object' || !nonEmptyString((e as UpstreamModel).id) || seen.has((e as UpstreamModel).id)) continue
    seen.add((e as UpstreamModel).id)
    out.push(e as UpstreamModel)
  }
  return out
}

/** Upstream list body (`{object:"list", data:[…]}`) → Codex catalog. Throws TypeError when the body has no `data` array. */
export function toCodexCatalog(
  list: unknown,
  overrides: Record<string, ModelOverride> = {},
  readFile: ReadText = readTextFile,
): CodexCatalog {
  const entries = upstreamModels(list)
  if (!entries) throw new TypeError('the upstream model list has no "data" array')
  return { models: entries.map((e) => toCodexModel(e, Object.hasOwn(overrides, e.id) ? overrides[e.id] : undefined, readFile)) }
}

/** Strong ETag of a response body: a quoted sha256 (base64url), stable for identical bodies. */
export function bodyETag(body: string): string {
  return `"${new Bun.CryptoHasher('sha256').update(body).digest('base64url')}"`
}

/** Whether an If-None-Match header value matches `etag` (weak comparison, lists and `*` honoured). */
export function etagMatches(ifNoneMatch: string | null | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false
  const bare = (s: string) => s.trim().replace(/^W\//, '')
  return ifNoneMatch.split(',').some((candidate) => candidate.trim() === '*' || bare(candidate) === bare(etag))
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}
