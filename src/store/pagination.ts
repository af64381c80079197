// Pagination of item lists by item id cursors (a response's input items, a conversation's items), for both dialects.

import { step, type ItemList, type Queries, type Steps } from './dialect'
import { InvalidCursorError } from './errors'
import type { ItemPage, ListOptions } from './types'

/** One page of an item list. An `after`/`before` id that is not in the list is an InvalidCursorError. */
export function* itemPage(q: Queries, list: ItemList, opts: ListOptions): Steps<ItemPage> {
  const at = function* (param: 'after' | 'before', itemId: string): Steps<number> {
    const position = yield* step(q.itemPosition(list, itemId))
    if (position === null) throw new InvalidCursorError(param, itemId)
    return position
  }
  // Position ranges in list order: in `asc`, "after X" means a larger position; in `desc`, a smaller one.
  const after = opts.after === undefined ? undefined : yield* at('after', opts.after)
  const before = opts.before === undefined ? undefined : yield* at('before', opts.before)
  const [above, below] = opts.order === 'asc' ? [after, before] : [before, after]
  // With only `before`, the page is the one just before the cursor (walk backwards, then restore the order);
  // otherwise the page starts right after `after` (or at the start of the list).
  const backwards = opts.before !== undefined && opts.after === undefined
  const ascending = (opts.order === 'asc') !== backwards
  const rows = yield* step(q.itemRange(list, { above, below, ascending, limit: opts.limit + 1 }))
  const page = rows.slice(0, opts.limit)
  if (backwards) page.reverse()
  return { items: page, hasMore: rows.length > opts.limit }
}
