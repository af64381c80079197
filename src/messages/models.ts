// Model names on the Messages routes: Claude Code asks for its own ids (claude-…). An id the upstream serves passes
// as it is; any other is served by --anthropic-model, else the upstream's first model. Pure, but for the list.
export function resolveModel(requested: string, served: string[] | null, fallback: string | null): string {
  if (served === null) return fallback ?? requested // the list is unavailable: the upstream's own 404 will say so
  if (served.includes(requested)) return requested
  return fallback ?? served[0] ?? requested
}

/** The upstream's model list in Anthropic's shape (GET /v1/models with an anthropic-version header). */
export function toAnthropicModelList(list: { data?: unknown }): {
  data: { type: 'model'; id: string; display_name: string; created_at: string }[]
  has_more: boolean
  first_id: string | null
  last_id: string | null
} {
  const data = (Array.isArray(list.data) ? list.data : [])
    .map((m) => m as { id?: unknown; created?: unknown })
    .filter((m): m is { id: string; created?: unknown } => typeof m.id === 'string' && m.id !== '')
    .map((m) => ({
      type: 'model' as const,
      id: m.id,
      display_name: m.id,
      created_at: new Date((typeof m.created === 'number' ? m.created : 0) * 1000).toISOString(),
    }))
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null }
}
