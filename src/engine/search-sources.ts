// The sources of a web_search_call (`action.sources`, each result with its snippet): always kept with the stored
// item, so a later turn of the chain gives the model the results it saw (tools/history.ts) — and shown to a client
// only when its request or retrieval asks for them with `include: ["web_search_call.action.sources"]`, as OpenAI
// does. Every place a response, an item or an event goes out passes through here. Pure; copies, never mutates (the
// stored events and items keep their sources).
import type { ResponseEvent } from '../schema/events'
import type { ResponseObjectT } from '../schema/responses'
import type { ItemBody } from '../store/types'

export const SOURCES_INCLUDE = 'web_search_call.action.sources'

/** Whether an `include` list asks for the sources. */
export function wantsSources(include: readonly string[] | null | undefined): boolean {
  return Array.isArray(include) && include.includes(SOURCES_INCLUDE)
}

function hasSources(item: ItemBody | undefined): boolean {
  return item?.type === 'web_search_call' && (item.action as { sources?: unknown } | undefined)?.sources !== undefined
}

/** A web_search_call without its sources (the item itself when it has none to hide). */
function withoutSources(item: ItemBody): ItemBody {
  if (!hasSources(item)) return item
  const { sources: _, ...action } = item.action as Record<string, unknown>
  return { ...item, action }
}

/** Items as a client sees them under `include`. */
export function itemsForClient(items: ItemBody[], include: readonly string[] | null | undefined): ItemBody[] {
  if (wantsSources(include) || !items.some(hasSources)) return items
  return items.map(withoutSources)
}

/** A response as a client sees it under `include`. */
export function responseForClient(response: ResponseObjectT, include: readonly string[] | null | undefined): ResponseObjectT {
  const output = itemsForClient(response.output, include)
  return output === response.output ? response : { ...response, output }
}

/** An event as a client sees it under `include`: its item, or its response's output, without sources. */
export function eventForClient(event: ResponseEvent, include: readonly string[] | null | undefined): ResponseEvent {
  if (wantsSources(include)) return event
  if ('item' in event && hasSources(event.item as ItemBody))
    return { ...event, item: withoutSources(event.item as ItemBody) } as ResponseEvent
  if ('response' in event && event.response) {
    const response = responseForClient(event.response as ResponseObjectT, include)
    if (response !== event.response) return { ...event, response } as ResponseEvent
  }
  return event
}

/** A stream of stored events (a replay, a reader that fell behind) as a client sees it under `include`. */
export async function* eventsForClient(
  events: AsyncGenerator<ResponseEvent>,
  include: readonly string[] | null | undefined,
): AsyncGenerator<ResponseEvent> {
  if (wantsSources(include)) return yield* events
  for await (const e of events) yield eventForClient(e, include)
}
