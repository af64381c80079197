// WHERE conditions on item lists that both dialects' queries use: drizzle's operators take either dialect's columns.

import { and, eq, gt, inArray, isNull, lt, type Column, type SQL } from 'drizzle-orm'
import type { ItemList, ItemRange } from './dialect'

/** The columns of a dialect's `items` table that place an item in a list. */
export interface ItemColumns {
  responseId: Column
  conversationId: Column
  kind: Column
  position: Column
}

/** The rows of one list. */
export function inList(t: ItemColumns, list: ItemList): SQL {
  const owner = list.kind === 'conversation' ? eq(t.conversationId, list.conversationId) : eq(t.responseId, list.responseId)
  return and(owner, eq(t.kind, list.kind))!
}

/** The rows of one list between two positions (either bound left out). */
export function inRange(t: ItemColumns, list: ItemList, { above, below }: Pick<ItemRange, 'above' | 'below'>): SQL {
  return and(
    inList(t, list),
    above === undefined ? undefined : gt(t.position, above),
    below === undefined ? undefined : lt(t.position, below),
  )!
}

/** The columns of a dialect's `conversations` table that say whose it is and whether it was deleted. */
export interface ConversationColumns {
  id: Column
  tenant: Column
  deletedAt: Column
}

/** A conversation this tenant can see: it exists and is not deleted. */
export function liveConversation(c: ConversationColumns, tenant: string, id: string): SQL {
  return and(eq(c.id, id), eq(c.tenant, tenant), isNull(c.deletedAt))!
}

/** Copies of the item `itemId` in a conversation this tenant can see (with `conversations` joined on the item). */
export function conversationItemOf(
  t: ItemColumns & { id: Column },
  c: ConversationColumns,
  tenant: string,
  id: string,
  itemId: string,
): SQL {
  return and(inList(t, { kind: 'conversation', conversationId: id }), eq(t.id, itemId), liveConversation(c, tenant, id))!
}

/** This tenant's items with these ids, but none of a deleted conversation (with `conversations` left-joined on the item). */
export function tenantItems(t: { id: Column; tenant: Column }, c: ConversationColumns, tenant: string, ids: string[]): SQL {
  return and(eq(t.tenant, tenant), inArray(t.id, ids), isNull(c.deletedAt))!
}
