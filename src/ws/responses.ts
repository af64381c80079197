// The WebSocket mode of /v1/responses (GET upgrade), as Codex uses it: one socket per session,
// response.create frames in, the same events as SSE out. The work is in ResponsesSocketSession.
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'
import type { TurnEngine } from '../engine/turn'
import { DEFAULT_TENANT } from '../store/types'
import { ResponsesSocketSession } from './session'

export function responsesSocketRoutes(deps: AppDeps, engine: TurnEngine) {
  const sessions = new WeakMap<object, ResponsesSocketSession>()
  return new Elysia().ws('/v1/responses', {
    detail: { hide: true },
    open(ws) {
      const headers = (ws.data as any).headers ?? {}
      const requestId = headers['x-request-id'] || headers['x-client-request-id'] || deps.ids('req')
      sessions.set(
        ws.raw,
        new ResponsesSocketSession(
          { send: (text) => ws.raw.send(text), close: (code, reason) => ws.raw.close(code, reason) },
          { engine, logger: deps.logger, tenant: DEFAULT_TENANT, maxQueue: deps.config.maxWsQueue, forceStore: deps.config.wsForceStore, requestId },
        ),
      )
      deps.logger.debug('websocket opened', { request_id: requestId })
    },
    message(ws, message) {
      sessions.get(ws.raw)?.onMessage(message)
    },
    drain(ws) {
      sessions.get(ws.raw)?.onDrain()
    },
    close(ws, code) {
      sessions.get(ws.raw)?.onClose(code)
      sessions.delete(ws.raw)
    },
  })
}
