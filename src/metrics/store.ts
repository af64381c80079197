// Times every Store call (agentgate_store_query_duration_seconds{operation=<method>}) by wrapping the Store object
// once, in createApp, so no repository (SQLite, PostgreSQL) carries metrics code of its own.
import type { GatewayMetrics } from './index'

const instrumented = new WeakSet<object>()

/** The store with each method timed, success or failure; everything else passes through untouched. */
export function instrumentStore<S extends object>(store: S, metrics: GatewayMetrics): S {
  if (instrumented.has(store)) return store
  // One wrapper per method, made on first use and kept: a call costs two clock reads and one observation.
  const wrappers = new Map<string, (...args: unknown[]) => unknown>()
  const proxy = new Proxy(store, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== 'function' || typeof key !== 'string') return value
      let wrapper = wrappers.get(key)
      if (wrapper) return wrapper
      const method = value as (...args: unknown[]) => unknown
      const timer = metrics.storeOperation(key)
      wrapper = (...args: unknown[]) => {
        const t0 = performance.now()
        const observe = () => timer.observe((performance.now() - t0) / 1000)
        let result: unknown
        try {
          result = method.apply(target, args)
        } catch (e) {
          observe()
          throw e
        }
        if (result instanceof Promise) return result.finally(observe)
        observe()
        return result
      }
      wrappers.set(key, wrapper)
      return wrapper
    },
  })
  instrumented.add(proxy)
  return proxy
}
