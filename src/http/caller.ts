// Who a request is from — its tenant and, for a token, when that expires — as app.ts's onRequest authenticated it,
// handed to the handlers of the routes that need a tenant: `({ caller }) => store.getResponse(caller.tenant, id)`.
import { Elysia } from 'elysia'
import type { Auth } from '../auth'

/**
 * Mounted by each route file whose routes belong to a tenant. Scoped: it runs for that file's routes only, so the
 * open routes (http/routes.ts), which onRequest lets through unauthenticated, never ask for a caller.
 */
export function callerContext(auth: Auth) {
  return new Elysia().derive({ as: 'scoped' }, ({ request }) => ({ caller: auth.callerOf(request) }))
}
