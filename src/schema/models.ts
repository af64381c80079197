// Schemas of GET /v1/models: the OpenAI model list (passed through from the upstream) and the Codex
// catalog (`{models:[ModelInfo]}`, what Codex 0.169 decodes — see CODEX.md). The ModelInfo schema is
// also the checker for per-model overrides in config, so a value Codex would reject never reaches it.
import { t, type Static } from 'elysia'
// TypeBox's own Integer: Elysia's t.Integer also takes a numeric string ("5"), which a JSON body must not pass as.
import { Type } from '@sinclair/typebox'
import { EXAMPLE_MODEL } from './common'

const lit = <T extends string>(values: readonly T[], description: string) =>
  t.Union(
    values.map((v) => t.Literal(v)),
    { description: `${description}: ${values.join(' | ')}` },
  )

export const REASONING_EFFORTS = ['none', 'minimal', 'low', 'medium', 'high', 'xhigh'] as const
export const SHELL_TYPES = ['default', 'local', 'unified_exec', 'disabled', 'shell_command'] as const
export const VISIBILITIES = ['list', 'hide', 'none'] as const
export const TRUNCATION_MODES = ['bytes', 'tokens'] as const
export const REASONING_SUMMARIES = ['auto', 'concise', 'detailed', 'none'] as const
export const VERBOSITIES = ['low', 'medium', 'high'] as const
export const INPUT_MODALITIES = ['text', 'image'] as const
export const WEB_SEARCH_TOOL_TYPES = ['text', 'text_and_image'] as const
/** 0.169 rejects "function"; null (no apply_patch tool) cannot be written in TOML, so only freeform. */
export const APPLY_PATCH_TOOL_TYPES = ['freeform'] as const

const PositiveInt = (description: string) => Type.Integer({ minimum: 1, description })

export const ReasoningLevel = t.Object(
  {
    effort: lit(REASONING_EFFORTS, 'Reasoning effort'),
    description: t.String({ description: 'Shown next to the effort in the Codex model picker' }),
  },
  { additionalProperties: true },
)

/** Every ModelInfo key the gateway knows; the required ones are the keys Codex 0.169 cannot do without. */
export const CodexModelInfo = t.Object(
  {
    slug: t.String({ minLength: 1, description: 'Model id Codex sends back as `model` (the upstream id)' }),
    display_name: t.String({ minLength: 1 }),
    description: t.Optional(t.String()),
    supported_reasoning_levels: t.Array(ReasoningLevel),
    default_reasoning_level: t.Optional(lit(REASONING_EFFORTS, 'Reasoning effort')),
    shell_type: lit(SHELL_TYPES, 'Shell tool flavour'),
    visibility: lit(VISIBILITIES, 'Model picker visibility'),
    supported_in_api: t.Boolean(),
    priority: Type.Integer(),
    base_instructions: t.String({ minLength: 1, description: 'First developer message of every Codex request; never empty' }),
    support_verbosity: t.Boolean(),
    default_verbosity: t.Optional(t.Union([lit(VERBOSITIES, 'Verbosity'), t.Null()])),
    truncation_policy: t.Object(
      { mode: lit(TRUNCATION_MODES, 'Tool output truncation unit'), limit: Type.Integer({ minimum: 0 }) },
      { additionalProperties: true },
    ),
    experimental_supported_tools: t.Array(t.String()),
    apply_patch_tool_type: t.Optional(t.Union([lit(APPLY_PATCH_TOOL_TYPES, 'apply_patch tool shape'), t.Null()])),
    supports_parallel_tool_calls: t.Optional(t.Boolean()),
    supports_reasoning_summaries: t.Optional(t.Boolean()),
    default_reasoning_summary: t.Optional(lit(REASONING_SUMMARIES, 'Reasoning summary')),
    input_modalities: t.Optional(t.Array(lit(INPUT_MODALITIES, 'Input modality'), { minItems: 1 })),
    web_search_tool_type: t.Optional(lit(WEB_SEARCH_TOOL_TYPES, 'Web search tool shape')),
    context_window: t.Optional(PositiveInt('Tokens; Codex uses effective_context_window_percent of it')),
    max_context_window: t.Optional(PositiveInt('Largest context window the upstream serves')),
    auto_compact_token_limit: t.Optional(PositiveInt('Token count at which Codex compacts the history')),
    effective_context_window_percent: t.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    auto_review_model_override: t.Optional(t.String({ minLength: 1 })),
    supports_image_detail_original: t.Optional(t.Boolean()),
    supports_search_tool: t.Optional(t.Boolean()),
    use_responses_lite: t.Optional(t.Boolean()),
  },
  {
    additionalProperties: true,
    description: 'Codex ModelInfo (0.169); unknown keys are ignored by Codex',
  },
)
export type CodexModelInfo = Static<typeof CodexModelInfo>

const exampleInfo = {
  slug: EXAMPLE_MODEL,
  display_name: EXAMPLE_MODEL,
  description: 'Served by vllm through agentgate',
  supported_reasoning_levels: [
    { effort: 'low', description: 'Quick answers, light reasoning' },
    { effort: 'medium', description: 'Balanced speed and depth' },
    { effort: 'high', description: 'Deepest reasoning for hard problems' },
  ],
  default_reasoning_level: 'medium',
  shell_type: 'shell_command',
  visibility: 'list',
  supported_in_api: true,
  priority: 1,
  base_instructions: 'You are a coding agent working in the user’s repository…',
  support_verbosity: false,
  default_verbosity: null,
  truncation_policy: { mode: 'tokens', limit: 10000 },
  experimental_supported_tools: [],
  apply_patch_tool_type: 'freeform',
  supports_parallel_tool_calls: true,
  supports_reasoning_summaries: false,
  default_reasoning_summary: 'auto',
  input_modalities: ['text'],
  web_search_tool_type: 'text',
  context_window: 32768,
  max_context_window: 32768,
}

export const CodexCatalog = t.Object(
  { models: t.Array(CodexModelInfo) },
  {
    $id: '#/components/schemas/CodexCatalog',
    description: 'GET /v1/models?client_version=… — the upstream list reshaped for the Codex CLI',
    examples: [{ models: [exampleInfo] }],
  },
)
export type CodexCatalog = Static<typeof CodexCatalog>

export const OpenAIModel = t.Object(
  {
    id: t.String(),
    object: t.String({ description: '"model"' }),
    created: t.Optional(Type.Integer()),
    owned_by: t.Optional(t.String()),
  },
  { additionalProperties: true, description: 'One upstream model; extra keys such as vLLM’s max_model_len pass through' },
)

export const OpenAIModelList = t.Object(
  {
    object: t.String({ description: '"list"' }),
    data: t.Array(OpenAIModel),
  },
  {
    $id: '#/components/schemas/ModelList',
    additionalProperties: true,
    description: 'GET /v1/models — the upstream list, passed through unchanged',
    examples: [
      {
        object: 'list',
        data: [
          {
            id: EXAMPLE_MODEL,
            object: 'model',
            created: 1700000000,
            owned_by: 'vllm',
            root: EXAMPLE_MODEL,
            parent: null,
            max_model_len: 32768,
            permission: [],
          },
        ],
      },
    ],
  },
)
export type OpenAIModelList = Static<typeof OpenAIModelList>

export const ModelsQuery = t.Object(
  {
    client_version: t.Optional(
      t.String({ description: 'Sent by the Codex CLI (e.g. 0.169.0); switches the answer to the Codex catalog shape' }),
    ),
  },
  { additionalProperties: true },
)
