// Liveness and readiness.
import { Elysia, t } from 'elysia'
import type { AppDeps } from '../deps'
import { ApiError } from '../errors'
import { redactUrlIn } from '../upstream/redact'

const Health = t.Object({ status: t.Literal('ok'), version: t.String() }, { examples: [{ status: 'ok', version: '0.1.0' }] })
const Ready = t.Object(
  { status: t.UnionEnum(['ready', 'unready', 'shutting_down']), store: t.String(), upstream: t.String() },
  { examples: [{ status: 'ready', store: 'ok', upstream: 'ok' }] },
)

export function healthRoutes({ store, upstream, version, drain, config }: AppDeps) {
  return new Elysia({ detail: { tags: ['health'] } })
    .get('/health', () => ({ status: 'ok' as const, version }), {
      response: { 200: Health },
      // open even when API keys are configured
      detail: { summary: 'Liveness: 200 while the process serves' },
    })
    .get(
      '/ready',
      async ({ set }) => {
        // Shutting down: out of the load balancer at once, whatever the store and upstream say.
        if (drain?.draining) {
          set.status = 503
          return { status: 'shutting_down' as const, store: 'not checked', upstream: 'not checked' }
        }
        const storeState = await store.ping().then(
          () => 'ok',
          (e) => `store unavailable: ${e?.message ?? e}`,
        )
        const upstreamState = await upstream.call({ path: '/models' }).then(
          async (r) => {
            await r.body?.cancel()
            return r.ok ? 'ok' : `upstream answered ${r.status} on /models`
          },
          // A runtime's message may quote the URL: never with its credentials.
          (e) => redactUrlIn(e instanceof ApiError ? e.message : String(e), config.upstream),
        )
        const ready = storeState === 'ok' && upstreamState === 'ok'
        if (!ready) set.status = 503
        return { status: ready ? ('ready' as const) : ('unready' as const), store: storeState, upstream: upstreamState }
      },
      {
        response: { 200: Ready, 503: Ready },
        detail: {
          summary:
            'Readiness: 200 when the store is open and the upstream answers, else 503 with the reason (`shutting_down` from the first SIGTERM on)',
        },
      },
    )
}
