// Handing Elysia a Response to send as it is, rather than a rebuilt copy of it.
import type { HookSet } from '../metrics/http'

/**
 * Elysia rebuilds a Response a route returns whenever `set.headers` holds anything: a copy of its headers and a new
 * Response around its body, which it then reads through a JS stream (for an upstream body Bun would otherwise pipe
 * natively). The app-wide hooks always put the request id there, so a route answering with a Response of its own
 * moves set.headers onto it (ours win over the Response's: one request id end to end) and leaves set.headers empty.
 * set.status is left to Elysia: a route that hands over a Response does not set one.
 */
export function asIs(res: Response, set: HookSet): Response {
  for (const name in set.headers) {
    const value = set.headers[name]
    if (Array.isArray(value)) for (const v of value) res.headers.append(name, String(v))
    else if (value !== undefined && value !== null) res.headers.set(name, String(value))
    delete set.headers[name]
  }
  return res
}
