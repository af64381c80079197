// /v1/responses over HTTP: create (JSON or SSE, or in the background), retrieve (optionally replaying and
// following the event log), cancel, delete, and list input items. Turns themselves run in the engine
// (src/engine/turn.ts); background ones are consumed by the runner (src/engine/background.ts).
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import type { Auth } from '../auth'
import { callerContext } from './caller'
import { ApiError } from '../errors'
import { toJson } from '../json-text'
import type { BackgroundRunner } from '../engine/background'
import { followEvents } from '../engine/resume'
import { eventsForClient, itemsForClient, responseForClient } from '../engine/search-sources'
import type { TurnEngine } from '../engine/turn'
import { errorResponses, includeOf, PaginationQuery, parseListOptions } from '../schema/common'
import { checkedBody } from '../schema/validate'
import {
  CreateResponseBody,
  DeletedResponse,
  ItemList,
  ResponseIdParams,
  ResponseObject,
  RetrieveQuery,
  type ResponseObjectT,
} from '../schema/responses'
import { JSON_BODY, jsonBody } from './json-body'
import { singly, sseAnswer, sseResponse } from './sse'
import { type HookSet, requestIdOf } from '../metrics/http'
import { asIs } from './as-is'

const notFound = (id: string) => ApiError.notFound(`Response with id '${id}' not found.`, 'response_not_found')

export function responsesRoutes(deps: AppDeps, engine: TurnEngine, background: BackgroundRunner, auth: Auth) {
  const { store, config } = deps
  return new Elysia({ prefix: '/v1/responses', detail: { tags: ['responses'] } })
    .use(jsonBody)
    .use(callerContext(auth))
    .post(
      '',
      async ({ body, request, set, caller }) => {
        const tenant = caller.tenant
        const requestId = requestIdOf(set)
        if (body.background) {
          // Not tied to this request: the client may go away, the turn goes on (and is cancelled only by POST …/cancel).
          const abort = new AbortController()
          const turn = await engine.start(body, {
            tenant,
            recordEvents: true,
            signal: abort.signal,
            requestId: requestId || undefined,
            parentSpan: deps.tracing?.spanOf(request),
          })
          const queued = turn.response
          const events = background.run(
            turn,
            abort,
            body.stream ? { tenant, idleMs: config.idleTimeoutMs, unstored: engine.unstored } : undefined,
          )
          // A reader that falls behind continues from the stored log, whose events keep their sources.
          if (events)
            return sseAnswer<ResponseObjectT>(
              sseResponse(singly(eventsForClient(events, body.include)), set, deps.metrics?.activeSseStreams),
            )
          return queued
        }
        const turn = await engine.start(body, {
          tenant,
          recordEvents: body.stream === true,
          answerOnly: body.stream !== true,
          signal: request.signal,
          requestId: requestId || undefined,
          parentSpan: deps.tracing?.spanOf(request),
        })
        if (body.stream) return sseAnswer<ResponseObjectT>(sseResponse((sink) => turn.batches(sink), set, deps.metrics?.activeSseStreams))
        for await (const _ of turn.batches());
        // Upstream failures are stored as failed responses and answered with the upstream's status.
        if (turn.failure) throw withResponseId(turn.failure, turn.stored ? turn.id : null)
        return jsonAnswer(responseForClient(turn.response, body.include), set)
      },
      {
        body: checkedBody(CreateResponseBody),
        parse: JSON_BODY,
        response: { 200: ResponseObject, ...errorResponses(400, 404, 409, 413, 429, 502, 504, 503) },
        detail: {
          summary: 'Create a response',
          description:
            'Runs one model turn. With `previous_response_id` the earlier chain (inputs and outputs, not instructions) is sent to the model first. ' +
            'With `stream: true` the answer is Server-Sent Events (`response.created` … `response.completed`). `store: false` keeps nothing. ' +
            "With `conversation` the conversation's items are the history, and the input and output are appended to it when the response completes (409 `conversation_locked` while another response in it runs). " +
            'With `background: true` the answer comes at once with status `queued`; poll GET /v1/responses/{id}, stream it with `?stream=true`, or cancel it.',
        },
      },
    )
    .get(
      '/:id',
      async ({ params, query, set, caller }) => {
        const tenant = caller.tenant
        const rec = await store.getResponse(tenant, params.id)
        if (!rec) throw notFound(params.id)
        const include = includeOf(query)
        if (query.stream !== 'true') return responseForClient(rec.response, include)
        const after = query.starting_after === undefined ? -1 : Number(query.starting_after)
        // Background turns always keep their events; others only when they were streamed (SSE or WebSocket).
        // A stored event's presence tells: a streamed turn stores its first event as soon as it starts.
        if (!rec.background && !(await store.hasEvents(params.id)))
          throw ApiError.badRequest(
            `Response '${params.id}' has no events to replay: it was not streamed, or it finished longer ago than the event logs are kept (--event-log-retention-hours); retrieve it without stream=true.`,
            'stream',
            'stream_not_available',
          )
        return sseAnswer<ResponseObjectT>(
          sseResponse(
            singly(eventsForClient(followEvents(store, tenant, params.id, after, config.idleTimeoutMs, engine.unstored), include)),
            set,
            deps.metrics?.activeSseStreams,
          ),
        )
      },
      {
        params: ResponseIdParams,
        query: RetrieveQuery,
        response: { 200: ResponseObject, ...errorResponses(400, 404, 503) },
        detail: {
          summary: 'Retrieve a response',
          description:
            'The stored response (a running background response shows its progress). With `stream=true` its stored events are replayed as SSE ' +
            '(those after sequence number `starting_after`), then followed live until the response ends — for background responses and streamed ones; ' +
            'a response that was not streamed has no events (400). Web search sources (`action.sources`) only with `include[]=web_search_call.action.sources`.',
        },
      },
    )
    .delete(
      '/:id',
      async ({ params, caller }) => {
        if (!(await store.deleteResponse(caller.tenant, params.id))) throw notFound(params.id)
        return { id: params.id, object: 'response' as const, deleted: true as const }
      },
      {
        params: ResponseIdParams,
        response: { 200: DeletedResponse, ...errorResponses(404, 503) },
        detail: { summary: 'Delete a response with its items and events' },
      },
    )
    .post(
      '/:id/cancel',
      async ({ params, caller }) => {
        const tenant = caller.tenant
        const rec = await store.getResponse(tenant, params.id)
        if (!rec) throw notFound(params.id)
        if (!rec.background)
          throw ApiError.badRequest('Only responses created with background: true can be cancelled.', null, 'not_background')
        // Cancelling twice answers the same; cancelling one that ended otherwise is a conflict (SPEC: 409).
        if (rec.status === 'cancelled') return responseForClient(rec.response, [])
        if (rec.status !== 'queued' && rec.status !== 'in_progress')
          throw ApiError.conflict(
            `Cannot cancel response '${params.id}': it has already finished with status '${rec.status}'.`,
            'response_already_finished',
          )
        // The stored status is the cancel, whichever process runs the turn (it stops at its next checkpoint);
        // when it runs here, it is stopped at once and its end stored before we answer.
        const cancelled = await store.cancelResponse(tenant, params.id, Date.now())
        if (!cancelled) throw notFound(params.id)
        if (!(await background.cancel(params.id))) return responseForClient(cancelled.response, [])
        return responseForClient(((await store.getResponse(tenant, params.id)) ?? cancelled).response, [])
      },
      {
        params: ResponseIdParams,
        response: { 200: ResponseObject, ...errorResponses(400, 404, 409, 503) },
        detail: {
          summary: 'Cancel a background response',
          description:
            'Stops a queued or running background response: status `cancelled`, the upstream call aborted, the output so far kept. Cancelling a cancelled response answers it again; one that already finished otherwise is a 409; one that was not created with `background: true` cannot be cancelled (400).',
        },
      },
    )
    .get(
      '/:id/input_items',
      async ({ params, query, caller }) => {
        const page = await store.listInputItems(caller.tenant, params.id, parseListOptions(query))
        if (!page) throw notFound(params.id)
        return {
          object: 'list' as const,
          data: itemsForClient(page.items, includeOf(query)),
          first_id: page.items[0]?.id ?? null,
          last_id: page.items.at(-1)?.id ?? null,
          has_more: page.hasMore,
        }
      },
      {
        params: ResponseIdParams,
        query: PaginationQuery,
        response: { 200: ItemList, ...errorResponses(400, 404, 503) },
        detail: {
          summary: "List a response's input items",
          description:
            'Paginated by item id: `after`, `before`, `limit` (1–100, default 20), `order` (default desc). Web search sources (`action.sources`) only with `include[]=web_search_call.action.sources`.',
        },
      },
    )
}

/**
 * A created response as the route's answer, serialised here: Elysia would check and re-encode it against the
 * ResponseObject schema on every turn (TypeBox Encode and exact-mirror, ~10% of a JSON turn's CPU in
 * bench/profile.ts json). engine/response-object.ts builds what that schema describes (the same bytes go out); the
 * schema still documents the answer. A stored turn's Response was serialised once already, when its size was
 * measured (src/json-text.ts): those bytes go out. The hooks' headers (the request id) move onto it (./as-is.ts), so
 * Elysia sends this Response instead of copying its headers into a second one around its body.
 */
function jsonAnswer(body: ResponseObjectT, set: HookSet): ResponseObjectT {
  const res = new Response(toJson(body), JSON_ANSWER)
  return sseAnswer<ResponseObjectT>(asIs(res, set))
}

/** A JSON answer's init, the same for every answer (Response copies it): not two objects made per turn. */
const JSON_ANSWER: ResponseInit = { headers: { 'content-type': 'application/json;charset=utf-8' } }

function withResponseId(err: ApiError, id: string | null): ApiError {
  if (!id) return err
  // A failing storage has not stored the failure yet: engine/unstored.ts does once it takes writes again.
  const where =
    err.errorCode === 'storage_unavailable'
      ? `response ${id} is stored as failed once the storage takes writes again`
      : `stored as failed response ${id}`
  const e = new ApiError(err.status, `${err.message} (${where})`, err.type, err.errorCode, err.param)
  e.withHeaders(err.headers)
  return e
}
