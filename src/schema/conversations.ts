// TypeBox schemas of the Conversations API: requests, the conversation object, item lists. Items sent are checked
// as the Responses API's input items (InputItem), items shown are its open-ended Item (src/schema/responses.ts).
import { t, type Static } from 'elysia'
// TypeBox's own Integer: Elysia's t.Integer also takes a numeric string ("5"), which a JSON body must not pass as.
import { Type } from '@sinclair/typebox'
import { Metadata } from './common'
import { InputItem, Item } from './responses'

const Nullable = <T extends Parameters<typeof t.Union>[0][number]>(s: T) => t.Union([s, t.Null()])

/** At most this many items per create / append request (OpenAI's limit). */
export const MAX_ITEMS_PER_REQUEST = 20

const CONVERSATION_ID = 'conv_0195f3c2a1b2000012ab34cd56ef7890'
const USER_MESSAGE = {
  type: 'message',
  id: 'msg_0195f3c2a1b3000012ab34cd56ef7891',
  role: 'user',
  status: 'completed',
  content: [{ type: 'input_text', text: 'Hello!' }],
}
const ASSISTANT_MESSAGE = {
  type: 'message',
  id: 'msg_0195f3c2a1b4000012ab34cd56ef7892',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text: 'Hi! How can I help?', annotations: [], logprobs: [] }],
}

export const ConversationObject = t.Object(
  {
    id: t.String(),
    object: t.Literal('conversation'),
    created_at: Type.Integer({ description: 'unix seconds' }),
    metadata: t.Record(t.String(), t.String()),
  },
  {
    description: 'A conversation: a list of items that responses can continue',
    examples: [{ id: CONVERSATION_ID, object: 'conversation', created_at: 1764107000, metadata: { topic: 'demo' } }],
  },
)
export type ConversationObjectT = Static<typeof ConversationObject>

export const CreateConversationBody = t.Object(
  {
    items: t.Optional(
      Nullable(t.Array(InputItem, { maxItems: MAX_ITEMS_PER_REQUEST, description: `Initial items, at most ${MAX_ITEMS_PER_REQUEST}` })),
    ),
    metadata: t.Optional(Nullable(Metadata)),
  },
  {
    examples: [{ metadata: { topic: 'demo' }, items: [{ type: 'message', role: 'user', content: 'Hello!' }] }, {}],
  },
)

export const UpdateConversationBody = t.Object(
  { metadata: Nullable(Metadata) },
  { description: 'Replaces the metadata (null clears it)', examples: [{ metadata: { topic: 'renamed' } }] },
)

export const ConversationDeleted = t.Object(
  { id: t.String(), object: t.Literal('conversation.deleted'), deleted: t.Literal(true) },
  { examples: [{ id: CONVERSATION_ID, object: 'conversation.deleted', deleted: true }] },
)

export const AddItemsBody = t.Object(
  {
    items: t.Array(InputItem, {
      minItems: 1,
      maxItems: MAX_ITEMS_PER_REQUEST,
      description: `Items to append, 1 to ${MAX_ITEMS_PER_REQUEST}`,
    }),
  },
  { examples: [{ items: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello!' }] }] }] },
)

export const ConversationItemList = t.Object(
  {
    object: t.Literal('list'),
    data: t.Array(Item),
    first_id: Nullable(t.String()),
    last_id: Nullable(t.String()),
    has_more: t.Boolean(),
  },
  {
    examples: [
      {
        object: 'list',
        data: [USER_MESSAGE, ASSISTANT_MESSAGE],
        first_id: USER_MESSAGE.id,
        last_id: ASSISTANT_MESSAGE.id,
        has_more: false,
      },
    ],
  },
)

export const ConversationItem = t.Object(Item.properties, { additionalProperties: true, examples: [ASSISTANT_MESSAGE] })

export const ConversationIdParams = t.Object({ conversation_id: t.String({ minLength: 1, maxLength: 200, description: 'conv_… id' }) })
export const ConversationItemParams = t.Object({
  conversation_id: t.String({ minLength: 1, maxLength: 200, description: 'conv_… id' }),
  item_id: t.String({ minLength: 1, maxLength: 200, description: 'item id (msg_…, fc_…, …)' }),
})

/** `include[]` (as OpenAI's): `reasoning.encrypted_content` gives reasoning items their sealed text, `web_search_call.action.sources` shows search sources; other values change nothing. */
export const IncludeQuery = t.Object({
  'include[]': t.Optional(t.Union([t.String(), t.Array(t.String())])),
  include: t.Optional(t.Union([t.String(), t.Array(t.String())])),
})
