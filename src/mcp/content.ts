// A tools/call result as the text the model receives: text parts joined, other parts summarised in one line each
// (the model cannot see an image through a function output; it is told one was there and how big it was).

/** Size in bytes of base64 data, without decoding it. */
function base64Bytes(data: string): number {
  const clean = data.replace(/\s+/g, '')
  const pad = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0
  return Math.max(0, Math.floor((clean.length * 3) / 4) - pad)
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)

/** One content part (text, image, audio, resource_link, resource) as text. Untyped: it comes from the server. */
function partText(part: unknown): string {
  if (typeof part !== 'object' || part === null) return ''
  const p = part as Record<string, unknown>
  switch (p.type) {
    case 'text':
      return str(p.text) ?? ''
    case 'image':
    case 'audio':
      return `[${str(p.mimeType) ?? p.type}, ${base64Bytes(str(p.data) ?? '')} bytes]`
    case 'resource_link':
      return `[resource: ${[str(p.name), str(p.uri)].filter(Boolean).join(' ')}]`
    case 'resource': {
      const r = (typeof p.resource === 'object' && p.resource !== null ? p.resource : {}) as Record<string, unknown>
      if (typeof r.text === 'string') return r.text
      return `[resource ${str(r.uri) ?? ''}${r.mimeType ? `, ${str(r.mimeType)}` : ''}, ${base64Bytes(str(r.blob) ?? '')} bytes]`
    }
    default:
      return `[${typeof p.type === 'string' ? p.type : 'unknown'} content]`
  }
}

/**
 * The text of a CallToolResult: its content parts, one per line; when there are none, its structuredContent as
 * JSON (a server may answer with structured output only); else empty.
 */
export function callResultText(result: { content?: unknown; structuredContent?: unknown }): string {
  const parts = Array.isArray(result.content) ? result.content : []
  if (parts.length > 0) return parts.map(partText).join('\n')
  if (result.structuredContent !== undefined && result.structuredContent !== null) return JSON.stringify(result.structuredContent)
  return ''
}
