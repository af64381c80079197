// item_reference inputs ({type:"item_reference", id}): each stands for an item the tenant has stored — any
// response's input or output item, or a conversation's — and is replaced by that item before anything else
// looks at the input. One store query for all of a request's references.
import { ApiError } from '../errors'
import type { ItemBody, Store } from '../store/types'

/** The items with every item_reference replaced by the stored item it names; an unknown id is a 400 naming the input item. */
export async function resolveItemReferences(
  items: ItemBody[],
  store: Store,
  tenant: string,
  paramOf: (i: number) => string,
): Promise<ItemBody[]> {
  const refs = items.filter((i) => i.type === 'item_reference')
  if (refs.length === 0) return items
  const found = await store.getItems(
    tenant,
    refs.map((r) => r.id),
  )
  return items.map((item, i) => {
    if (item.type !== 'item_reference') return item
    const target = found.get(item.id)
    if (!target)
      throw ApiError.badRequest(
        `Item with id '${item.id}' not found (${paramOf(i)} is an item_reference to it).`,
        paramOf(i),
        'item_not_found',
      )
    // A reference to a reference cannot be stored (they are resolved on the way in), so one step is enough.
    return target
  })
}
