// /v1/responses over HTTP: create (JSON or SSE), retrieve (optionally replaying the event log),
// delete, and list input items. Turns themselves run in the engine (src/engine/turn.ts).
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'
import { ApiError } from '../errors'
import type { TurnEngine } from '../engine/turn'
import { errorResponses, PaginationQuery, parseListOptions } from '../schema/common'
import { CreateResponseBody, DeletedResponse, ItemList, ResponseIdParams, ResponseObject, RetrieveQuery, type ResponseEvent, type ResponseObjectT } from '../schema/responses'
import { DEFAULT_TENANT, type Store } from '../store/types'
import { JSON_BODY, jsonBody } from './json-body'
import { sseResponse } from './sse'

const notFound = (id: string) => ApiError.notFound(`Response with id '${id}' not found.`, 'response_not_found')

export function responsesRoutes(deps: AppDeps, engine: TurnEngine) {
  const { store, config } = deps
  return new Elysia({ prefix: '/v1/responses', detail: { tags: ['responses'] } })
    .use(jsonBody)
    .post(
      '',
      async ({ body, request, set }) => {
        const requestId = String(set.headers['x-request-id'] ?? '')
        const turn = await engine.start(body, {
          tenant: DEFAULT_TENANT,
          recordEvents: body.stream === true,
          signal: request.signal,
          upstreamHeaders: requestId ? { 'x-request-id': requestId } : undefined,
        })
        // Typed as the JSON body for Elysia; the SSE Response bypasses response validation.
        if (body.stream) return sseResponse(turn.events(), { 'x-request-id': requestId }) as unknown as ResponseObjectT
        for await (const _ of turn.events());
        // Upstream failures are stored as failed responses and answered with the upstream's status.
        if (turn.failure) throw withResponseId(turn.failure, turn.stored ? turn.id : null)
        return turn.response
      },
      {
        body: CreateResponseBody,
        parse: JSON_BODY,
        response: { 200: ResponseObject, ...errorResponses(400, 404, 413, 429, 502, 504) },
        detail: {
          summary: 'Create a response',
          description:
            'Runs one model turn. With `previous_response_id` the earlier chain (inputs and outputs, not instructions) is sent to the model first. ' +
            'With `stream: true` the answer is Server-Sent Events (`response.created` … `response.completed`). `store: false` keeps nothing.',
        },
      },
    )
    .get(
      '/:id',
      async ({ params, query, set }) => {
        const rec = await store.getResponse(DEFAULT_TENANT, params.id)
        if (!rec) throw notFound(params.id)
        if (query.stream !== 'true') return rec.response as ResponseObjectT
        const requestId = String(set.headers['x-request-id'] ?? '')
        return sseResponse(followEvents(store, DEFAULT_TENANT, params.id, query.starting_after === undefined ? -1 : Number(query.starting_after), config.idleTimeoutMs), { 'x-request-id': requestId }) as unknown as ResponseObjectT
      },
      {
        params: ResponseIdParams,
        query: RetrieveQuery,
        response: { 200: ResponseObject, ...errorResponses(400, 404) },
        detail: {
          summary: 'Retrieve a response',
          description: 'The stored response. With `stream=true` its stored events are replayed as SSE (after `starting_after`), then followed until the response ends.',
        },
      },
    )
    .delete(
      '/:id',
      async ({ params }) => {
        if (!(await store.deleteResponse(DEFAULT_TENANT, params.id))) throw notFound(params.id)
        return { id: params.id, object: 'response' as const, deleted: true as const }
      },
      { params: ResponseIdParams, response: { 200: DeletedResponse, ...errorResponses(404) }, detail: { summary: 'Delete a response with its items and events' } },
    )
    .get(
      '/:id/input_items',
      async ({ params, query }) => {
        const page = await store.listInputItems(DEFAULT_TENANT, params.id, parseListOptions(query))
        if (!page) throw notFound(params.id)
        return {
          object: 'list' as const,
          data: page.items,
          first_id: page.items[0]?.id ?? null,
          last_id: page.items.at(-1)?.id ?? null,
          has_more: page.hasMore,
        }
      },
      {
        params: ResponseIdParams,
        query: PaginationQuery,
        response: { 200: ItemList, ...errorResponses(400, 404) },
        detail: { summary: "List a response's input items", description: 'Paginated by item id: `after`, `before`, `limit` (1–100, default 20), `order` (default desc).' },
      },
    )
}

function withResponseId(err: ApiError, id: string | null): ApiError {
  if (!id) return err
  const e = new ApiError(err.status, `${err.message} (stored as failed response ${id})`, err.type, err.errorCode, err.param)
  ;(e as any).retryAfter = (err as any).retryAfter
  return e
}

const TERMINAL = new Set(['completed', 'failed', 'incomplete', 'cancelled'])
const FOLLOW_POLL_MS = 50

/**
 * Stored events after `afterSeq`, then new ones as they are stored, until the response is terminal.
 * Polling the store (not an in-process bus) keeps this correct when another process runs the turn.
 */
async function* followEvents(store: Store, tenant: string, id: string, afterSeq: number, idleMs: number): AsyncGenerator<ResponseEvent> {
  let last = afterSeq
  let idleSince = Date.now()
  for (;;) {
    const events = await store.listEvents(id, last)
    for (const e of events) {
      last = e.sequence_number
      yield e as ResponseEvent
    }
    if (events.length) idleSince = Date.now()
    const rec = await store.getResponse(tenant, id)
    if (!rec) return
    if (TERMINAL.has(rec.status)) {
      // Events stored between our read and the status check.
      for (const e of await store.listEvents(id, last)) yield e as ResponseEvent
      return
    }
    if (Date.now() - idleSince > idleMs) return
    await Bun.sleep(FOLLOW_POLL_MS)
  }
}

