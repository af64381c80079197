// The WebSocket mode of /v1/responses (GET upgrade), as Codex uses it: one socket per session,
// response.create frames in, the same events as SSE out. The work is in ResponsesSocketSession.
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import type { Auth } from '../auth'
import { callerContext } from '../http/caller'
import type { TurnEngine } from '../engine/turn'
import { ResponsesSocketSession } from './session'

export function responsesSocketRoutes(deps: AppDeps, engine: TurnEngine, auth: Auth) {
  const sessions = new WeakMap<object, ResponsesSocketSession>()
  /** per socket: stops listening for the gateway's shutdown */
  const unsubscribe = new WeakMap<object, () => void>()
  return new Elysia().use(callerContext(auth)).ws('/v1/responses', {
    detail: {
      tags: ['responses'],
      summary: 'WebSocket mode: many responses over one socket (Upgrade: websocket)',
      description:
        'Open with `GET /v1/responses` and `Upgrade: websocket` (with `Authorization: Bearer KEY` when keys are configured), as the Codex CLI does. ' +
        'Send text frames `{"type":"response.create", …}` whose other fields are a create request (`model`, `input`, `previous_response_id`, `tools`, …; `stream` is implied). ' +
        'Each turn answers with the same events as SSE (ResponseStreamEvent), one text frame each. Requests sent while a turn runs wait their turn, in order (at most --max-ws-queue). ' +
        'A bad request gets `{"type":"error","status":400,…}` and the socket stays open. Every turn is stored (--ws-force-store; a store:false turn in one write, once it has ended). Idle sockets close after --ws-idle-timeout-s; frames over --max-ws-frame-bytes close the socket with 1009.',
    },
    open(ws) {
      const headers = ws.data.headers ?? {}
      const requestId = headers['x-request-id'] || headers['x-client-request-id'] || deps.ids('req')
      // The upgrade was only let through with a valid credential (app.ts onRequest); the socket's turns are its
      // caller's tenant's. With an OIDC token, its expiry is checked again on each response.create (ws/session.ts).
      const principal = ws.data.caller
      const session = new ResponsesSocketSession(
        { send: (text) => ws.raw.send(text), cork: (fn) => ws.raw.cork(fn), close: (code, reason) => ws.raw.close(code, reason) },
        {
          engine,
          logger: deps.logger,
          tenant: principal.tenant,
          credentialExpiresAt: principal.expiresAt,
          parentSpan: deps.tracing?.spanOf(ws.data.request.headers),
          maxQueue: deps.config.maxWsQueue,
          forceStore: deps.config.wsForceStore,
          requestId,
          metrics: deps.metrics,
        },
      )
      sessions.set(ws.raw, session)
      // On shutdown the socket finishes its turn and closes with 1001 (at once when it was opened during the drain).
      if (deps.drain)
        unsubscribe.set(
          ws.raw,
          deps.drain.onDrain(() => session.shutDown()),
        )
      deps.logger.debug('websocket opened', { request_id: requestId })
    },
    message(ws, message) {
      // A turn over a socket is traffic as a request is (the idle watch, src/idle-release.ts).
      deps.onActivity?.()
      sessions.get(ws.raw)?.onMessage(message)
    },
    drain(ws) {
      sessions.get(ws.raw)?.onDrain()
    },
    close(ws, code) {
      sessions.get(ws.raw)?.onClose(code)
      sessions.delete(ws.raw)
      unsubscribe.get(ws.raw)?.()
      unsubscribe.delete(ws.raw)
    },
  })
}
