// Settled items: the items of finished turns that later turns read again (a WebSocket keeps its chain in memory and
// every turn of it sends the whole chain upstream). They are frozen, deeply, so that what is derived from one — its
// upstream form, its JSON, its size in the token estimate — can be computed once and kept with it: a long chain then
// costs a turn its new items, not the whole chain again. The object is the key, so nothing needs invalidating: a
// chain that diverges (another previous_response_id, items dropped by truncation, a compaction) is made of other
// objects, or of the same unchanged ones, whose derived values still hold.
//
// What is derived is kept in one WeakMap from the settled object (the item itself is only frozen: a copy of it is an
// ordinary item). One lookup per item whatever its shape: a chain's items come in many shapes, and a property kept on
// them made every read a megamorphic one (twice the profile share of the WeakMap in a 600-turn chain).

type Derived = Record<symbol, unknown>

/** settled object → what is derived from it */
const derivedOf = new WeakMap<object, Derived>()

/** Freezes each of `items` with everything in it and makes it settled (once: settled ones are left alone). */
export function settle<T>(items: T[]): T[] {
  for (const item of items) settled(item)
  return items
}

/** Lists settledChain made: every item in them settled, so a chain that goes on from one settles only what it adds. */
const settledChains = new WeakSet<object>()

/**
 * `chain` followed by each of `parts`, as one new list with every item settled: the items of `chain` are settled unless
 * it is such a list already (a WebSocket's chain, turn after turn: a turn then walks its own items, not the chain's).
 * The lists are not changed, nor are they to be changed after.
 */
export function settledChain<T>(chain: T[], ...parts: T[][]): T[] {
  if (!settledChains.has(chain)) settle(chain)
  for (const part of parts) settle(part)
  const out = chain.concat(...parts)
  settledChains.add(out)
  return out
}

/**
 * What a chain's previous request kept for the settled beginning of `list`, by its first item (the next request of the
 * chain begins with the very same objects), for the caller to grow in place: returned while `list` still begins with
 * its `items` and `holds` says it still applies; else a new one (`make`), kept for the next request when the first item
 * is settled — another branch, a shorter list or other settings begin afresh.
 */
export function keptBeginning<K extends { items: unknown[] }>(
  kept: WeakMap<object, K>,
  list: readonly unknown[],
  make: () => K,
  holds?: (k: K) => boolean,
): K {
  const first = list[0]
  const k = kept.get(first as object)
  if (k !== undefined && k.items.length <= list.length && beginsWith(list, k.items) && (holds === undefined || holds(k))) return k
  const fresh = make()
  if (isSettled(first)) kept.set(first as object, fresh)
  return fresh
}

/** Whether `list` begins with the very objects of `beginning`. */
function beginsWith(list: readonly unknown[], beginning: readonly unknown[]): boolean {
  for (let j = 0; j < beginning.length; j++) if (beginning[j] !== list[j]) return false
  return true
}

/** `value` (an object) settled: frozen with everything in it, its derived values kept from now on. Returns it. */
export function settled<T>(value: T): T {
  if (typeof value !== 'object' || value === null || isSettled(value)) return value
  if (!Object.isExtensible(value)) return value // frozen by someone else: left as it is, and not settled
  derivedOf.set(value, {})
  deepFreeze(value)
  return value
}

function deepFreeze(v: unknown) {
  if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return
  Object.freeze(v)
  if (Array.isArray(v)) for (const x of v) deepFreeze(x)
  else for (const k in v) deepFreeze((v as Record<string, unknown>)[k])
}

/** Whether `v` is a settled object (its derived values may be kept). */
export function isSettled(v: unknown): boolean {
  return typeof v === 'object' && v !== null && derivedOf.has(v)
}

/**
 * A place on settled objects for one derived value (for a value that depends on more than the object: store with it
 * what it was derived from, and check that on reading). get() is undefined for objects that are not settled.
 */
export function settledSlot<V>(): { get(k: unknown): V | undefined; set(k: unknown, v: V): void } {
  const slot = Symbol('agentgate.settled.slot')
  const derived = (k: unknown) => (typeof k === 'object' && k !== null ? derivedOf.get(k) : undefined)
  return {
    get: (k) => derived(k)?.[slot] as V | undefined,
    set(k, v) {
      const kept = derived(k)
      if (kept) kept[slot] = v
    },
  }
}

/**
 * `derive` with its result kept on settled objects (computed once for each); for any other value it is called every
 * time. `derive` must be a function of the object alone, and never return undefined.
 */
export function settledMemo<K, V>(derive: (k: K) => V): (k: K) => V {
  const slot = Symbol('agentgate.settled.slot')
  return (k) => {
    const kept = typeof k === 'object' && k !== null ? derivedOf.get(k) : undefined
    if (kept === undefined) return derive(k)
    const v = kept[slot]
    if (v !== undefined) return v as V
    const d = derive(k)
    kept[slot] = d
    return d
  }
}
