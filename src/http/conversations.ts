// /v1/conversations over HTTP: create, retrieve, update metadata, delete; list, append, retrieve and delete items.
// Turns in a conversation (POST /v1/responses with `conversation`) run in the engine, which appends to it.
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import type { Auth } from '../auth'
import { callerContext } from './caller'
import { conversationLocked, conversationNotFound, toConversationItems } from '../engine/conversation'
import { itemsAsIncluded } from '../engine/sealed-items'
import type { Sealer } from '../sealing/sealer'
import { ApiError } from '../errors'
import { errorResponses, includeOf, PaginationQuery, parseListOptions } from '../schema/common'
import { checkBodyFirst } from '../schema/validate'
import {
  AddItemsBody,
  ConversationDeleted,
  ConversationIdParams,
  ConversationItem,
  ConversationItemList,
  ConversationItemParams,
  ConversationObject,
  CreateConversationBody,
  IncludeQuery,
  UpdateConversationBody,
  type ConversationObjectT,
} from '../schema/conversations'
import type { ConversationRecord, ItemBody } from '../store/types'
import { JSON_BODY, jsonBody } from './json-body'

function conversationObject(rec: ConversationRecord): ConversationObjectT {
  return { id: rec.id, object: 'conversation', created_at: Math.floor(rec.createdAt / 1000), metadata: rec.metadata }
}

function itemList(items: ItemBody[], hasMore: boolean) {
  return { object: 'list' as const, data: items, first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null, has_more: hasMore }
}

const itemNotFound = (conversationId: string, itemId: string) =>
  ApiError.notFound(`Item with id '${itemId}' not found in conversation '${conversationId}'.`, 'item_not_found')

export function conversationsRoutes(deps: AppDeps, auth: Auth, sealer: Sealer) {
  const { store, ids, clock } = deps

  async function existing(tenant: string, id: string): Promise<ConversationRecord> {
    const rec = await store.getConversation(tenant, id)
    if (!rec) throw conversationNotFound(id)
    return rec
  }

  return new Elysia({ prefix: '/v1/conversations', detail: { tags: ['conversations'] } })
    .use(jsonBody)
    .use(callerContext(auth))
    .post(
      '',
      async ({ body, caller }) => {
        const tenant = caller.tenant
        const items = await toConversationItems(body.items ?? [], ids, store, tenant)
        const now = clock()
        const rec: ConversationRecord = { id: ids('conv'), tenant, metadata: body.metadata ?? {}, createdAt: now, updatedAt: now }
        await store.createConversation(rec, items)
        return conversationObject(rec)
      },
      {
        body: CreateConversationBody,
        transform: checkBodyFirst(CreateConversationBody),
        parse: JSON_BODY,
        response: { 200: ConversationObject, ...errorResponses(400, 413, 503) },
        detail: {
          summary: 'Create a conversation',
          description: `Optionally with up to 20 initial \`items\` (they get ids; messages get \`status: "completed"\`) and \`metadata\`. Use its id as \`conversation\` on POST /v1/responses.`,
        },
      },
    )
    .get('/:conversation_id', async ({ params, caller }) => conversationObject(await existing(caller.tenant, params.conversation_id)), {
      params: ConversationIdParams,
      response: { 200: ConversationObject, ...errorResponses(404, 503) },
      detail: { summary: 'Retrieve a conversation' },
    })
    .post(
      '/:conversation_id',
      async ({ params, body, caller }) => {
        const rec = await store.updateConversation(caller.tenant, params.conversation_id, body.metadata ?? {}, clock())
        if (!rec) throw conversationNotFound(params.conversation_id)
        return conversationObject(rec)
      },
      {
        params: ConversationIdParams,
        body: UpdateConversationBody,
        transform: checkBodyFirst(UpdateConversationBody),
        parse: JSON_BODY,
        response: { 200: ConversationObject, ...errorResponses(400, 404, 503) },
        detail: { summary: "Update a conversation's metadata", description: 'Replaces the metadata as a whole.' },
      },
    )
    .delete(
      '/:conversation_id',
      async ({ params, caller }) => {
        if (!(await store.deleteConversation(caller.tenant, params.conversation_id, clock())))
          throw conversationNotFound(params.conversation_id)
        return { id: params.conversation_id, object: 'conversation.deleted' as const, deleted: true as const }
      },
      {
        params: ConversationIdParams,
        response: { 200: ConversationDeleted, ...errorResponses(404, 503) },
        detail: { summary: 'Delete a conversation', description: 'Responses made in it are kept.' },
      },
    )
    .get(
      '/:conversation_id/items',
      async ({ params, query, caller }) => {
        const tenant = caller.tenant
        const page = await store.listConversationItems(tenant, params.conversation_id, parseListOptions(query))
        if (!page) throw conversationNotFound(params.conversation_id)
        return itemList(itemsAsIncluded(page.items, includeOf(query), sealer, tenant), page.hasMore)
      },
      {
        params: ConversationIdParams,
        query: PaginationQuery,
        response: { 200: ConversationItemList, ...errorResponses(400, 404, 503) },
        detail: {
          summary: "List a conversation's items",
          description:
            'Paginated by item id: `after`, `before`, `limit` (1–100, default 20), `order` (default desc). With `include[]=reasoning.encrypted_content` reasoning items carry their sealed text in `encrypted_content` (null otherwise); web search sources (`action.sources`) only with `include[]=web_search_call.action.sources`.',
        },
      },
    )
    .post(
      '/:conversation_id/items',
      async ({ params, body, query, caller }) => {
        const tenant = caller.tenant
        const items = await toConversationItems(body.items, ids, store, tenant)
        const added = await store.addConversationItems(tenant, params.conversation_id, items, clock())
        if (!added.ok)
          throw added.reason === 'locked'
            ? conversationLocked(params.conversation_id, added.holder)
            : conversationNotFound(params.conversation_id)
        return itemList(itemsAsIncluded(added.items, includeOf(query), sealer, tenant), false)
      },
      {
        params: ConversationIdParams,
        query: IncludeQuery,
        body: AddItemsBody,
        transform: checkBodyFirst(AddItemsBody),
        parse: JSON_BODY,
        response: { 200: ConversationItemList, ...errorResponses(400, 404, 409, 413, 503) },
        detail: {
          summary: 'Add items to a conversation',
          description: 'Appends 1 to 20 items at the end. 409 `conversation_locked` while a response in this conversation is running.',
        },
      },
    )
    .get(
      '/:conversation_id/items/:item_id',
      async ({ params, query, caller }) => {
        const tenant = caller.tenant
        await existing(tenant, params.conversation_id)
        const item = await store.getConversationItem(tenant, params.conversation_id, params.item_id)
        if (!item) throw itemNotFound(params.conversation_id, params.item_id)
        return itemsAsIncluded([item], includeOf(query), sealer, tenant)[0]!
      },
      {
        params: ConversationItemParams,
        query: IncludeQuery,
        response: { 200: ConversationItem, ...errorResponses(404, 503) },
        detail: { summary: 'Retrieve an item of a conversation' },
      },
    )
    .delete(
      '/:conversation_id/items/:item_id',
      async ({ params, caller }) => {
        const tenant = caller.tenant
        const rec = await existing(tenant, params.conversation_id)
        if (!(await store.deleteConversationItem(tenant, params.conversation_id, params.item_id, clock())))
          throw itemNotFound(params.conversation_id, params.item_id)
        return conversationObject(rec)
      },
      {
        params: ConversationItemParams,
        response: { 200: ConversationObject, ...errorResponses(404, 503) },
        detail: { summary: 'Delete an item from a conversation', description: 'Answers with the conversation.' },
      },
    )
}
