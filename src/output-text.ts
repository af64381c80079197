// The text of a Response's answer (the SDKs' `output_text`), which the gateway's Response object carries: made by the
// engine, and remade by the store for a Response stored without it (store/stored-response.ts). Pure.
import type { ItemBody } from './schema/responses'

/** The concatenated text of the assistant message items. */
export function outputText(output: readonly ItemBody[]): string {
  let text = ''
  for (const item of output) {
    if (item.type !== 'message' || !Array.isArray(item.content)) continue
    for (const part of item.content) if (part?.type === 'output_text' && typeof part.text === 'string') text += part.text
  }
  return text
}
