// The Store contract: every implementation (SQLite, PostgreSQL) must pass these specifications.
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { openStore } from '../../src/store'
import { InvalidCursorError } from '../../src/store/errors'
import { pruneOnce } from '../../src/store/retention'
import type { ItemBody, ResponseRecord, Store } from '../../src/store/types'
import { createTestDatabase } from '../support/postgres'
import { type JsonBodies, message, responseRecord, storeChain, type JsonStore } from './fixtures'

// PostgreSQL: one database and one open store for this file, emptied before each test (opening a store means a
// new connection pool, which costs more than most tests; opening and closing are tested in postgres.test.ts).
// Skipped, with a message, without a server.
const pg = await createTestDatabase('contract')
let pgStore: JsonStore | null = null
afterAll(async () => {
  await pgStore?.close()
  await pg?.drop()
})

const implementations: { name: string; open: () => Promise<JsonStore> }[] = [
  { name: 'sqlite', open: () => openStore({ db: ':memory:', databaseUrl: null }) },
]
if (pg)
  implementations.push({
    name: 'postgres',
    open: async () => {
      await pg.reset()
      pgStore ??= await openStore({ db: ':memory:', databaseUrl: pg.url })
      return { ...pgStore, close: async () => {} }
    },
  })
else test.skip('Store contract (postgres): no PostgreSQL server (see test/support/postgres.ts)', () => {})

for (const impl of implementations) {
  describe(`Store contract (${impl.name})`, () => {
    let store: JsonStore
    beforeEach(async () => {
      store = await impl.open()
    })
    afterEach(async () => {
      await store.close()
    })

    const ids = (list: ItemBody[]) => list.map((i) => i.id)

    describe('responses', () => {
      test('a created response reads back with every field', async () => {
        const rec = responseRecord('resp_1', {
          status: 'queued',
          request: { model: 'm', input: 'hi', metadata: { a: 'b' } },
          response: { id: 'resp_1', status: 'queued', nested: { list: [1, 'two', null] } },
          previousResponseId: null,
          conversationId: null,
          background: true,
          createdAt: 1,
          updatedAt: 2,
          completedAt: null,
        })
        await store.createResponse(rec, [])
        expect(await store.getResponse('default', 'resp_1')).toEqual(rec)
      })

      test('a failed response keeps its error object', async () => {
        const rec = responseRecord('resp_1', { status: 'failed', error: { code: 'server_error', message: 'boom' } })
        await store.createResponse(rec, [])
        expect((await store.getResponse('default', 'resp_1'))?.error).toEqual({ code: 'server_error', message: 'boom' })
      })

      test('unknown ids and other tenants read as null', async () => {
        await store.createResponse(responseRecord('resp_1', { tenant: 'alice' }), [])
        expect(await store.getResponse('alice', 'nope')).toBeNull()
        expect(await store.getResponse('bob', 'resp_1')).toBeNull()
      })

      test('a response created whole, with its input and output items, reads back with both lists in order', async () => {
        const rec = responseRecord('resp_w', { status: 'completed', response: { id: 'resp_w', status: 'completed', z: 1, a: [2] } })
        const input = [message('in_1', 'user', 'q1'), message('in_2', 'user', 'q2')]
        const output = [message('out_1', 'assistant', 'a1'), message('out_2', 'assistant', 'a2')]
        await store.createResponse(rec, input, undefined, output)
        expect(await store.getResponse('default', 'resp_w')).toEqual(rec)
        expect(JSON.stringify((await store.getResponse('default', 'resp_w'))!.response)).toBe(JSON.stringify(rec.response))
        expect((await store.listInputItems('default', 'resp_w', { limit: 10, order: 'asc' }))!.items).toEqual(input)
        expect(await store.getOutputItems('default', 'resp_w')).toEqual(output)
        expect((await store.loadChain('default', 'resp_w'))!.items).toEqual([...input, ...output])
        expect([...(await store.getItems('default', ['in_2', 'out_1'])).keys()].sort()).toEqual(['in_2', 'out_1'])
        // all or nothing: a second one with the same id leaves the first as it was
        await expect(store.createResponse(rec, [message('in_x', 'user', 'x')], undefined, output)).rejects.toThrow()
        expect((await store.listInputItems('default', 'resp_w', { limit: 10, order: 'asc' }))!.items).toEqual(input)
      })

      test('creating a response twice fails and leaves the first one intact', async () => {
        await store.createResponse(responseRecord('resp_1'), [message('msg_1', 'user', 'first')])
        await expect(store.createResponse(responseRecord('resp_1'), [message('msg_2', 'user', 'second')])).rejects.toThrow()
        const page = await store.listInputItems('default', 'resp_1', { limit: 100, order: 'asc' })
        expect(ids(page!.items)).toEqual(['msg_1'])
      })

      test('input items are stored exactly as given, key order included', async () => {
        const item = { type: 'function_call_output', id: 'fco_1', call_id: 'call_1', output: '{"x":1}', extra: { z: 1, a: 2 } }
        await store.createResponse(responseRecord('resp_1'), [item])
        const page = await store.listInputItems('default', 'resp_1', { limit: 10, order: 'asc' })
        expect(JSON.stringify(page!.items[0])).toBe(JSON.stringify(item))
      })

      test('updateResponse records status, response object, error, completion and replaces output items', async () => {
        await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [message('in_1', 'user', 'q')])
        await store.updateResponse(
          'default',
          'resp_1',
          { status: 'in_progress', response: { partial: true }, error: null, completedAt: null },
          [message('out_1', 'assistant', 'partial')],
        )
        await store.updateResponse(
          'default',
          'resp_1',
          {
            status: 'failed',
            response: { id: 'resp_1', status: 'failed' },
            error: { code: 'server_error', message: 'x' },
            completedAt: 99,
          },
          [message('out_1', 'assistant', 'final'), message('out_2', 'assistant', 'more')],
        )
        const rec = await store.getResponse('default', 'resp_1')
        expect(rec).toMatchObject({
          status: 'failed',
          response: { id: 'resp_1', status: 'failed' },
          error: { code: 'server_error', message: 'x' },
          completedAt: 99,
        })
        expect(rec!.updatedAt).toBeGreaterThan(1_700_000_000_000)
        const out = await store.getOutputItems('default', 'resp_1')
        expect(ids(out)).toEqual(['out_1', 'out_2'])
        expect(out[0]).toEqual(message('out_1', 'assistant', 'final'))
        // input items are untouched
        expect(ids((await store.listInputItems('default', 'resp_1', { limit: 10, order: 'asc' }))!.items)).toEqual(['in_1'])
      })

      test("updateResponse does not touch another tenant's response", async () => {
        await store.createResponse(responseRecord('resp_1', { tenant: 'alice', status: 'in_progress' }), [])
        await store.updateResponse('bob', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('o', 'assistant', 'x'),
        ])
        expect((await store.getResponse('alice', 'resp_1'))?.status).toBe('in_progress')
        expect(await store.getOutputItems('alice', 'resp_1')).toEqual([])
      })

      test('updateResponse of a deleted response is a no-op (it stays deleted)', async () => {
        await store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [])
        await store.deleteResponse('default', 'resp_1')
        await store.updateResponse('default', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('o', 'assistant', 'x'),
        ])
        expect(await store.getResponse('default', 'resp_1')).toBeNull()
      })

      test('the same item id may appear in several responses', async () => {
        const resent = message('msg_shared', 'user', 'hello')
        await store.createResponse(responseRecord('resp_1'), [resent])
        await store.createResponse(responseRecord('resp_2', { previousResponseId: 'resp_1' }), [
          resent,
          message('msg_new', 'user', 'again'),
        ])
        const chain = await store.loadChain('default', 'resp_2')
        expect(ids(chain!.items)).toEqual(['msg_shared', 'msg_shared', 'msg_new'])
      })

      test("getItems finds a tenant's input, output and conversation items by id, the latest copy of each, and nothing of other tenants or deleted conversations", async () => {
        await store.createResponse(responseRecord('resp_1', { tenant: 'alice' }), [message('in_1', 'user', 'first copy')])
        await store.updateResponse('alice', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('out_1', 'assistant', 'answer'),
        ])
        await store.createResponse(responseRecord('resp_2', { tenant: 'alice' }), [message('in_1', 'user', 'second copy')])
        await store.createResponse(responseRecord('resp_3', { tenant: 'bob' }), [message('bob_1', 'user', 'not yours')])
        await store.createConversation({ id: 'conv_1', tenant: 'alice', metadata: {}, createdAt: 1, updatedAt: 1 }, [
          message('c_1', 'user', 'in a conversation'),
        ])
        await store.createConversation({ id: 'conv_2', tenant: 'alice', metadata: {}, createdAt: 1, updatedAt: 1 }, [
          message('c_2', 'user', 'deleted with it'),
        ])
        await store.deleteConversation('alice', 'conv_2', 2)
        const found = await store.getItems('alice', ['in_1', 'out_1', 'c_1', 'c_2', 'bob_1', 'nope'])
        expect([...found.keys()].sort()).toEqual(['c_1', 'in_1', 'out_1'])
        expect(found.get('in_1')).toEqual(message('in_1', 'user', 'second copy'))
        expect(found.get('out_1')).toEqual(message('out_1', 'assistant', 'answer'))
        expect((await store.getItems('bob', ['bob_1', 'in_1'])).size).toBe(1)
        expect((await store.getItems('alice', [])).size).toBe(0)
      })

      test('getOutputItems is empty for unknown responses and other tenants', async () => {
        await store.createResponse(responseRecord('resp_1', { tenant: 'alice' }), [])
        await store.updateResponse('alice', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('o', 'assistant', 'x'),
        ])
        expect(await store.getOutputItems('bob', 'resp_1')).toEqual([])
        expect(await store.getOutputItems('alice', 'nope')).toEqual([])
        expect(ids(await store.getOutputItems('alice', 'resp_1'))).toEqual(['o'])
      })

      // A finished Response is stored without the output its items hold (src/store/stored-response.ts): however it was
      // stored, it reads back as it was written, byte for byte.
      describe("a finished response's Response object, its output read from its items", () => {
        const answer = message('out_1', 'assistant', 'the answer, '.repeat(50))
        const call = { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' }
        const output = [answer, call]
        const text = (answer.content as { text: string }[])[0]!.text
        // the gateway's key order: output and output_text between other fields
        const shown = (status: string, extra: Record<string, unknown> = {}) => ({
          id: 'resp_1',
          object: 'response',
          status,
          output,
          output_text: text,
          usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
          ...extra,
        })
        const running = () =>
          store.createResponse(responseRecord('resp_1', { status: 'in_progress' }), [], { owner: 'x', expiresAt: Date.now() + 60_000 })
        const read = async () => JSON.stringify((await store.getResponse('default', 'resp_1'))!.response)

        test('finished by finishResponse, created whole, or updated: each reads back as written', async () => {
          const response = shown('completed')
          await running()
          await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, output)
          expect(await read()).toBe(JSON.stringify(response))
          expect(await store.getOutputItems('default', 'resp_1')).toEqual(output)

          const whole = { ...shown('incomplete'), id: 'resp_w' }
          await store.createResponse(responseRecord('resp_w', { status: 'incomplete', response: whole }), [], undefined, output)
          expect(JSON.stringify((await store.getResponse('default', 'resp_w'))!.response)).toBe(JSON.stringify(whole))

          const updated = { ...shown('failed'), id: 'resp_u' }
          await store.createResponse(responseRecord('resp_u', { status: 'in_progress' }), [])
          await store.updateResponse('default', 'resp_u', { status: 'failed', response: updated, error: null, completedAt: null }, output)
          expect(JSON.stringify((await store.getResponse('default', 'resp_u'))!.response)).toBe(JSON.stringify(updated))
        })

        test('a cancel of a finished response answers with its whole Response', async () => {
          const response = shown('completed')
          await running()
          await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, output)
          expect(JSON.stringify((await store.cancelResponse('default', 'resp_1', 5))!.response)).toBe(JSON.stringify(response))
        })

        test('an output that is not its items, or an output_text that is not their text, is kept as written', async () => {
          const cases = [
            shown('incomplete', { output: [answer] }), // the items say more (the Response was cut, the items not)
            shown('completed', { output_text: 'something else' }),
            { ...shown('completed'), output_text: undefined }, // no output_text at all
            { id: 'resp_1', status: 'completed', output: output.map((i) => ({ ...i })), output_text: 5 },
            { id: 'resp_1', status: 'completed', content: output }, // not a Responses object
          ]
          for (const [n, response] of cases.entries()) {
            const id = `resp_c${n}`
            const rec = responseRecord(id, { status: 'completed', response: { ...response, id } })
            await store.createResponse(rec, [], undefined, output)
            expect(JSON.stringify((await store.getResponse('default', id))!.response)).toBe(JSON.stringify(rec.response))
          }
        })

        test("a running response's snapshot is kept whole, and a recovered one fails with its output", async () => {
          const snapshot = shown('in_progress')
          await running()
          await store.checkpointResponse('default', 'resp_1', {
            progress: { status: 'in_progress', response: snapshot, outputItems: output },
          })
          expect(await read()).toBe(JSON.stringify(snapshot))
          await store.failInterrupted('interrupted', Date.now() + 120_000)
          const failed = (await store.getResponse('default', 'resp_1'))!.response
          expect(failed).toMatchObject({ status: 'failed', output, output_text: text })
        })

        test("the terminal event of a stored log replays the whole Response, the store's read of it too", async () => {
          const response = shown('completed')
          await running()
          const events = [
            { type: 'response.output_item.done', sequence_number: 1, output_index: 0, item: answer },
            { type: 'response.completed', sequence_number: 2, response },
          ]
          await store.finishResponse('default', 'resp_1', { status: 'completed', response, error: null, completedAt: 1 }, output, {
            events,
          })
          expect((await store.listEvents('resp_1', -1)).map((e) => JSON.stringify(e))).toEqual(events.map((e) => JSON.stringify(e)))
          expect(await read()).toBe(JSON.stringify(response))
        })
      })
    })

    describe('deleteResponse', () => {
      test('deletes the response with its items and events; a second delete finds nothing', async () => {
        await store.createResponse(responseRecord('resp_1'), [message('in_1', 'user', 'q')])
        await store.updateResponse('default', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('out_1', 'assistant', 'a'),
        ])
        await store.appendEvents('resp_1', [{ type: 'response.created', sequence_number: 0 }])
        expect(await store.deleteResponse('default', 'resp_1')).toBe(true)
        expect(await store.getResponse('default', 'resp_1')).toBeNull()
        expect(await store.listInputItems('default', 'resp_1', { limit: 10, order: 'asc' })).toBeNull()
        expect(await store.getOutputItems('default', 'resp_1')).toEqual([])
        expect(await store.listEvents('resp_1', -1)).toEqual([])
        expect(await store.deleteResponse('default', 'resp_1')).toBe(false)
        // the id is free again and nothing of the old response comes back with it
        await store.createResponse(responseRecord('resp_1'), [])
        expect(await store.getOutputItems('default', 'resp_1')).toEqual([])
        expect(await store.listEvents('resp_1', -1)).toEqual([])
      })

      test('another tenant cannot delete a response', async () => {
        await store.createResponse(responseRecord('resp_1', { tenant: 'alice' }), [])
        expect(await store.deleteResponse('bob', 'resp_1')).toBe(false)
        expect(await store.getResponse('alice', 'resp_1')).not.toBeNull()
      })

      test('deleting a response in the middle of a chain ends the chain there', async () => {
        const chainIds = await storeChain(store, { turns: 3 })
        await store.deleteResponse('default', chainIds[1])
        const chain = await store.loadChain('default', chainIds[2])
        expect(chain!.responses.map((r) => r.id)).toEqual([chainIds[2]])
        expect(chain!.responses[0].previousResponseId).toBe(chainIds[1])
      })
    })

    describe('listInputItems', () => {
      const ten = Array.from({ length: 10 }, (_, i) => message(`item_${i}`, 'user', `n${i}`))
      const names = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `item_${from + i}`)
      beforeEach(async () => {
        await store.createResponse(responseRecord('resp_1'), ten)
        await store.updateResponse('default', 'resp_1', { status: 'completed', response: {}, error: null, completedAt: 1 }, [
          message('out_1', 'assistant', 'a'),
        ])
      })
      const list = (opts: Partial<Parameters<Store['listInputItems']>[2]>) =>
        store.listInputItems('default', 'resp_1', { limit: 20, order: 'asc', ...opts })

      test('asc lists input items only, in position order', async () => {
        const page = await list({ order: 'asc' })
        expect(ids(page!.items)).toEqual(names(0, 9))
        expect(page!.hasMore).toBe(false)
      })

      test('desc lists them newest first', async () => {
        expect(ids((await list({ order: 'desc' }))!.items)).toEqual(names(0, 9).reverse())
      })

      test('limit cuts the page and has_more says so; a page that ends exactly at the end has no more', async () => {
        expect(await list({ limit: 3 })).toEqual({ items: ten.slice(0, 3), hasMore: true })
        expect((await list({ limit: 10 }))!.hasMore).toBe(false)
        expect((await list({ limit: 9 }))!.hasMore).toBe(true)
      })

      test('after continues right after the cursor item, in either order', async () => {
        const asc = await list({ after: 'item_2', limit: 3 })
        expect(ids(asc!.items)).toEqual(['item_3', 'item_4', 'item_5'])
        expect(asc!.hasMore).toBe(true)
        const desc = await list({ order: 'desc', after: 'item_7', limit: 3 })
        expect(ids(desc!.items)).toEqual(['item_6', 'item_5', 'item_4'])
        expect(desc!.hasMore).toBe(true)
        const last = await list({ order: 'desc', after: 'item_2', limit: 3 })
        expect(ids(last!.items)).toEqual(['item_1', 'item_0'])
        expect(last!.hasMore).toBe(false)
      })

      test('paging with after visits every item exactly once', async () => {
        for (const order of ['asc', 'desc'] as const) {
          const seen: string[] = []
          let after: string | undefined
          for (;;) {
            const page = await list({ order, limit: 4, after })
            seen.push(...ids(page!.items))
            if (!page!.hasMore) break
            after = seen.at(-1)
          }
          expect(seen).toEqual(order === 'asc' ? names(0, 9) : names(0, 9).reverse())
        }
      })

      test('after the last item is an empty page', async () => {
        expect(await list({ after: 'item_9' })).toEqual({ items: [], hasMore: false })
        expect(await list({ order: 'desc', after: 'item_0' })).toEqual({ items: [], hasMore: false })
      })

      test('before alone gives the page just before the cursor, still in list order', async () => {
        const asc = await list({ before: 'item_7', limit: 3 })
        expect(ids(asc!.items)).toEqual(['item_4', 'item_5', 'item_6'])
        expect(asc!.hasMore).toBe(true)
        const start = await list({ before: 'item_2', limit: 3 })
        expect(ids(start!.items)).toEqual(['item_0', 'item_1'])
        expect(start!.hasMore).toBe(false)
        const desc = await list({ order: 'desc', before: 'item_2', limit: 3 })
        expect(ids(desc!.items)).toEqual(['item_5', 'item_4', 'item_3'])
        expect(desc!.hasMore).toBe(true)
      })

      test('after and before together bound the page on both sides', async () => {
        const page = await list({ after: 'item_2', before: 'item_6' })
        expect(ids(page!.items)).toEqual(['item_3', 'item_4', 'item_5'])
        expect(page!.hasMore).toBe(false)
        const cut = await list({ after: 'item_2', before: 'item_6', limit: 2 })
        expect(ids(cut!.items)).toEqual(['item_3', 'item_4'])
        expect(cut!.hasMore).toBe(true)
      })

      test('an unknown cursor is an invalid_cursor store error naming the parameter', async () => {
        for (const param of ['after', 'before'] as const) {
          const err = await list({ [param]: 'msg_nope' }).catch((e) => e)
          expect(err).toBeInstanceOf(InvalidCursorError)
          expect(err).toMatchObject({
            kind: 'invalid_cursor',
            param,
            itemId: 'msg_nope',
            message: "No item with id 'msg_nope' in this list",
          })
        }
      })

      test('an output item id is not a valid cursor for the input list', async () => {
        expect(await list({ after: 'out_1' }).catch((e) => e)).toBeInstanceOf(InvalidCursorError)
      })

      test('limit 0 returns no items but tells whether there are any', async () => {
        expect(await list({ limit: 0 })).toEqual({ items: [], hasMore: true })
      })

      test('unknown responses and other tenants give null', async () => {
        expect(await store.listInputItems('default', 'nope', { limit: 10, order: 'asc' })).toBeNull()
        expect(await store.listInputItems('bob', 'resp_1', { limit: 10, order: 'asc' })).toBeNull()
      })

      test('a response without input items lists an empty page', async () => {
        await store.createResponse(responseRecord('resp_empty'), [])
        expect(await store.listInputItems('default', 'resp_empty', { limit: 10, order: 'desc' })).toEqual({ items: [], hasMore: false })
      })
    })

    describe('loadChain', () => {
      test('a response without previous_response_id is a chain of one', async () => {
        await store.createResponse(responseRecord('resp_1'), [message('in_1', 'user', 'q')])
        await store.updateResponse('default', 'resp_1', { status: 'completed', response: { done: true }, error: null, completedAt: 2 }, [
          message('out_1', 'assistant', 'a'),
        ])
        const chain = await store.loadChain('default', 'resp_1')
        // every column of the record but its two bodies (types.ts ChainLink)
        const { request: _request, response: _response, ...link } = (await store.getResponse('default', 'resp_1'))!
        expect(chain!.responses).toEqual([link])
        expect(chain!.items).toEqual([message('in_1', 'user', 'q'), message('out_1', 'assistant', 'a')])
      })

      test('a chain of 50 turns loads oldest first, inputs before outputs in each turn', async () => {
        const chainIds = await storeChain(store, { turns: 50, inputsPerTurn: 2, outputsPerTurn: 2 })
        const chain = await store.loadChain('default', chainIds[49])
        expect(chain!.responses.map((r) => r.id)).toEqual(chainIds)
        const expected = chainIds.flatMap((id) => [`${id}_in_0`, `${id}_in_1`, `${id}_out_0`, `${id}_out_1`])
        expect(ids(chain!.items)).toEqual(expected)
        expect(chain!.items[2]).toEqual(message('resp_0_out_0', 'assistant', 'turn 0 output 0'))
        expect(chain!.responses[49].previousResponseId).toBe(chainIds[48])
        expect(chain!.responses.every((r) => r.status === 'completed')).toBe(true)
      })

      test('asking for the middle of a chain loads only up to that response', async () => {
        const chainIds = await storeChain(store, { turns: 10 })
        const chain = await store.loadChain('default', chainIds[4])
        expect(chain!.responses.map((r) => r.id)).toEqual(chainIds.slice(0, 5))
        expect(chain!.items).toHaveLength(10)
      })

      test('items are ordered by position, not by insertion', async () => {
        const inputs = Array.from({ length: 12 }, (_, i) => message(`in_${i}`, 'user', String(i)))
        await store.createResponse(responseRecord('resp_1'), inputs)
        expect(ids((await store.loadChain('default', 'resp_1'))!.items)).toEqual(ids(inputs))
      })

      test('a chain of 1000 items loads completely and in order', async () => {
        const chainIds = await storeChain(store, { turns: 500, inputsPerTurn: 1, outputsPerTurn: 1 })
        const chain = await store.loadChain('default', chainIds[499])
        expect(chain!.responses).toHaveLength(500)
        expect(chain!.items).toHaveLength(1000)
        expect(ids(chain!.items)).toEqual(chainIds.flatMap((id) => [`${id}_in_0`, `${id}_out_0`]))
      }, 30_000) // storing the 500 turns is 1,000 write transactions: a network round trip each on PostgreSQL

      test('unknown ids and other tenants give null', async () => {
        await storeChain(store, { turns: 2, tenant: 'alice' })
        expect(await store.loadChain('alice', 'nope')).toBeNull()
        expect(await store.loadChain('bob', 'resp_1')).toBeNull()
      })

      test("a chain never crosses into another tenant's responses", async () => {
        await store.createResponse(responseRecord('resp_a', { tenant: 'alice' }), [message('secret', 'user', 'alice only')])
        await store.createResponse(responseRecord('resp_b', { tenant: 'bob', previousResponseId: 'resp_a' }), [
          message('mine', 'user', 'bob'),
        ])
        const chain = await store.loadChain('bob', 'resp_b')
        expect(chain!.responses.map((r) => r.id)).toEqual(['resp_b'])
        expect(ids(chain!.items)).toEqual(['mine'])
      })

      test('a chain whose oldest link is unknown stops there', async () => {
        await store.createResponse(responseRecord('resp_2', { previousResponseId: 'resp_gone' }), [message('in', 'user', 'x')])
        const chain = await store.loadChain('default', 'resp_2')
        expect(chain!.responses.map((r) => r.id)).toEqual(['resp_2'])
      })
    })

    describe('events', () => {
      beforeEach(async () => {
        await store.createResponse(responseRecord('resp_1', { status: 'in_progress', background: true }), [])
      })
      const ev = (n: number) => ({ type: n === 0 ? 'response.created' : 'response.output_text.delta', sequence_number: n, delta: `d${n}` })

      test('events come back in sequence order, across appends', async () => {
        await store.appendEvents('resp_1', [ev(0), ev(1), ev(2)])
        await store.appendEvents('resp_1', [ev(4), ev(3)])
        expect(await store.listEvents('resp_1', -1)).toEqual([ev(0), ev(1), ev(2), ev(3), ev(4)])
      })

      test('afterSeq returns only later events', async () => {
        await store.appendEvents('resp_1', [ev(0), ev(1), ev(2), ev(3)])
        expect(await store.listEvents('resp_1', 1)).toEqual([ev(2), ev(3)])
        expect(await store.listEvents('resp_1', 3)).toEqual([])
        expect(await store.listEvents('resp_1', 0)).toEqual([ev(1), ev(2), ev(3)])
      })

      test('a sequence number cannot be stored twice for a response, and a failed append stores nothing', async () => {
        await store.appendEvents('resp_1', [ev(0)])
        await expect(store.appendEvents('resp_1', [ev(1), ev(0)])).rejects.toThrow()
        expect(await store.listEvents('resp_1', -1)).toEqual([ev(0)])
      })

      test('events of different responses are kept apart', async () => {
        await store.createResponse(responseRecord('resp_2'), [])
        await store.appendEvents('resp_1', [ev(0)])
        await store.appendEvents('resp_2', [ev(0), ev(1)])
        expect(await store.listEvents('resp_1', -1)).toHaveLength(1)
        expect(await store.listEvents('resp_2', -1)).toHaveLength(2)
        expect(await store.listEvents('resp_unknown', -1)).toEqual([])
      })

      test('a response created with its first events starts its log in the same write; a failed create stores neither', async () => {
        const lease = { owner: 'gw-1', expiresAt: Date.now() + 60_000 }
        await store.createResponse(responseRecord('resp_2', { status: 'in_progress' }), [message('m_in', 'user', 'hi')], lease, [], [ev(0)])
        expect(await store.listEvents('resp_2', -1)).toEqual([ev(0)])
        expect((await store.getResponse('default', 'resp_2'))?.status).toBe('in_progress')
        await store.appendEvents('resp_2', [ev(1), ev(2)])
        expect(await store.listEvents('resp_2', -1)).toEqual([ev(0), ev(1), ev(2)])
        // the id is taken: nothing of the second create is kept, its event neither
        await expect(store.createResponse(responseRecord('resp_2'), [], lease, [], [{ ...ev(0), delta: 'other' }])).rejects.toThrow()
        expect(await store.listEvents('resp_2', -1)).toEqual([ev(0), ev(1), ev(2)])
      })

      test('hasEvents tells whether a response has a log', async () => {
        expect(await store.hasEvents('resp_1')).toBe(false)
        await store.appendEvents('resp_1', [ev(0)])
        expect(await store.hasEvents('resp_1')).toBe(true)
        expect(await store.hasEvents('resp_unknown')).toBe(false)
      })

      test('a streamed answer replays event by event, exactly as appended, from any point (runs of deltas included)', async () => {
        const delta = (n: number, item: string) => ({
          type: 'response.output_text.delta',
          item_id: item,
          output_index: 0,
          content_index: 0,
          delta: ` w${n}`,
          logprobs: [],
          sequence_number: n,
        })
        const log = [
          ev(0),
          ...Array.from({ length: 40 }, (_, i) => delta(i + 1, 'msg_a')),
          { type: 'response.output_text.done', item_id: 'msg_a', text: 'all', sequence_number: 41 },
          ...Array.from({ length: 5 }, (_, i) => delta(i + 42, i < 3 ? 'msg_b' : 'msg_c')),
          { ...delta(47, 'msg_c'), logprobs: [{ token: 'x' }] },
          delta(48, 'msg_c'),
        ]
        await store.appendEvents('resp_1', log.slice(0, 20))
        await store.appendEvents('resp_1', log.slice(20))
        // byte for byte, key order included: a replay is what the client was sent
        const json = (events: unknown[]) => events.map((e) => JSON.stringify(e))
        expect(json(await store.listEvents('resp_1', -1))).toEqual(json(log))
        for (const after of [0, 1, 10, 19, 20, 39, 40, 41, 43, 46, 47, 48])
          expect(json(await store.listEvents('resp_1', after))).toEqual(json(log.slice(after + 1)))
      })

      test('deltas alike but for the order of their keys are not merged into one run: each replays in its own key order', async () => {
        const delta = (n: number) => ({
          type: 'response.output_text.delta',
          sequence_number: n,
          item_id: 'msg_a',
          output_index: 0,
          content_index: 0,
          delta: ` w${n}`,
        })
        const reordered = (n: number) => {
          const { content_index, ...rest } = delta(n)
          return { content_index, ...rest }
        }
        const log = [delta(1), delta(2), reordered(3), reordered(4), delta(5), delta(6)]
        await store.appendEvents('resp_1', log)
        const json = (events: unknown[]) => events.map((e) => JSON.stringify(e))
        expect(json(await store.listEvents('resp_1', -1))).toEqual(json(log))
        expect(json(await store.listEvents('resp_1', 2))).toEqual(json(log.slice(2)))
      })

      test('events of an unknown (e.g. deleted) response are dropped', async () => {
        await store.appendEvents('resp_unknown', [ev(0)])
        expect(await store.listEvents('resp_unknown', -1)).toEqual([])
      })

      describe("a finished turn's last events, stored with its output and Response", () => {
        const text = 'a long enough answer, '.repeat(20)
        const reasoning = 'thinking it over, '.repeat(10)
        const answer = {
          id: 'msg_a',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
        }
        const thought = { id: 'rs_a', type: 'reasoning', summary: [{ type: 'summary_text', text: reasoning }] }
        const call = {
          id: 'fc_a',
          type: 'function_call',
          call_id: 'call_1',
          name: 'shell',
          arguments: JSON.stringify({ cmd: text }),
          status: 'completed',
        }
        const delta = (n: number, d: string) => ({
          type: 'response.output_text.delta',
          sequence_number: n,
          item_id: 'msg_a',
          output_index: 1,
          content_index: 0,
          delta: d,
          logprobs: [],
        })
        const final = { id: 'resp_1', object: 'response', status: 'completed', output: [thought, answer, call], output_text: text }
        // what the live stream sent: deltas, then each finished part, text, item and the terminal event
        const log = [
          { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', status: 'in_progress', output: [] } },
          {
            type: 'response.reasoning_summary_text.done',
            sequence_number: 1,
            item_id: 'rs_a',
            output_index: 0,
            summary_index: 0,
            text: reasoning,
          },
          {
            type: 'response.reasoning_summary_part.done',
            sequence_number: 2,
            item_id: 'rs_a',
            output_index: 0,
            summary_index: 0,
            part: thought.summary[0],
          },
          { type: 'response.output_item.done', sequence_number: 3, output_index: 0, item: thought },
          ...Array.from({ length: 20 }, (_, i) => delta(4 + i, text.slice(i * 22, i * 22 + 22))),
          {
            type: 'response.output_text.done',
            sequence_number: 24,
            item_id: 'msg_a',
            output_index: 1,
            content_index: 0,
            text,
            logprobs: [],
          },
          {
            type: 'response.content_part.done',
            sequence_number: 25,
            item_id: 'msg_a',
            output_index: 1,
            content_index: 0,
            part: answer.content[0],
          },
          { type: 'response.output_item.done', sequence_number: 26, output_index: 1, item: answer },
          {
            type: 'response.function_call_arguments.done',
            sequence_number: 27,
            item_id: 'fc_a',
            output_index: 2,
            arguments: call.arguments,
          },
          { type: 'response.output_item.done', sequence_number: 28, output_index: 2, item: call },
          { type: 'response.completed', sequence_number: 29, response: final },
        ]
        const json = (events: unknown[]) => events.map((e) => JSON.stringify(e))
        const finish = (output: object[], response: object, events: object[]) =>
          store.finishResponse(
            'default',
            'resp_1',
            { status: 'completed', response: response as JsonBodies['response'], error: null, completedAt: 9 },
            output as ItemBody[],
            { events: events as JsonBodies['event'][] },
          )

        test('replay byte for byte, key order included, from any point: the first part streamed, the rest at the end', async () => {
          await store.appendEvents('resp_1', log.slice(0, 10))
          // copies, as a store reading them back would have them: the values are compared, not the objects
          const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v))
          await finish(copy(final.output), copy(final), log.slice(10))
          expect(json(await store.listEvents('resp_1', -1))).toEqual(json(log))
          for (let after = 0; after < log.length; after++)
            expect(json(await store.listEvents('resp_1', after))).toEqual(json(log.slice(after + 1)))
        })

        test('an event whose item was not stored as it was sent (cut from the output, or different) replays as sent', async () => {
          // the size limit left the call out of the stored output, and the stored answer's text differs from the event's
          const stored = { ...answer, content: [{ ...answer.content[0], text: `${text}!` }] }
          await finish([thought, stored], { ...final, output: [thought, stored] }, log)
          expect(json(await store.listEvents('resp_1', -1))).toEqual(json(log))
          expect(json(await store.listEvents('resp_1', 26))).toEqual(json(log.slice(27)))
        })

        test("the first events' Response repeats what the final one gives (instructions, tools): replayed byte for byte, a value that differs as it was", async () => {
          const instructions = 'You are a coding agent in a terminal. '.repeat(8)
          const tools = [
            { type: 'function', name: 'shell', description: 'Runs a command. '.repeat(8), parameters: { type: 'object' }, strict: false },
          ]
          const first = { id: 'resp_1', object: 'response', status: 'in_progress', instructions, tools, output: [], usage: null }
          const end = { ...first, status: 'completed', output: [answer], output_text: text }
          const events = [
            { type: 'response.created', sequence_number: 0, response: first },
            // another turn's instructions: not the final Response's, kept as they are
            { type: 'response.in_progress', sequence_number: 1, response: { ...first, instructions: `${instructions}!` } },
            { type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: answer },
            { type: 'response.completed', sequence_number: 3, response: end },
          ]
          const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v))
          await finish(copy([answer]), copy(end), copy(events))
          expect(json(await store.listEvents('resp_1', -1))).toEqual(json(events))
          expect(json(await store.listEvents('resp_1', 0))).toEqual(json(events.slice(1)))
        })

        test('a streamed response stored whole once it has ended, with its whole log: the same replay, from any point', async () => {
          const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v))
          const rec = responseRecord('resp_w', { response: copy(final) as JsonBodies['response'] })
          await store.createResponse(rec, [], undefined, copy(final.output) as ItemBody[], copy(log) as JsonBodies['event'][])
          expect(JSON.stringify((await store.getResponse('default', 'resp_w'))!.response)).toBe(JSON.stringify(final))
          expect(json(await store.listEvents('resp_w', -1))).toEqual(json(log))
          for (let after = 0; after < log.length; after++)
            expect(json(await store.listEvents('resp_w', after))).toEqual(json(log.slice(after + 1)))
        })

        test('a deleted response takes its log with it, pointers and all', async () => {
          await finish(final.output, final, log)
          expect(await store.deleteResponse('default', 'resp_1')).toBe(true)
          expect(await store.listEvents('resp_1', -1)).toEqual([])
        })
      })
    })

    describe('failInterrupted', () => {
      test('queued and in_progress responses become failed, consistently in columns and response object', async () => {
        await store.createResponse(responseRecord('resp_q', { status: 'queued', tenant: 'alice' }), [])
        await store.createResponse(responseRecord('resp_p', { status: 'in_progress' }), [])
        await store.createResponse(responseRecord('resp_done', { status: 'completed' }), [])
        await store.createResponse(responseRecord('resp_cancelled', { status: 'cancelled' }), [])
        const failed = await store.failInterrupted('interrupted by restart', 1234)
        expect(failed.sort()).toEqual(['resp_p', 'resp_q'])
        const error = { code: 'server_error', message: 'interrupted by restart' }
        const q = await store.getResponse('alice', 'resp_q')
        expect(q).toMatchObject({ status: 'failed', error, completedAt: 1234, updatedAt: 1234 })
        expect(q!.response).toMatchObject({ id: 'resp_q', object: 'response', status: 'failed', error })
        expect((await store.getResponse('default', 'resp_p'))!.response).toMatchObject({ status: 'failed', error })
        expect(await store.getResponse('default', 'resp_done')).toEqual(responseRecord('resp_done'))
        expect((await store.getResponse('default', 'resp_cancelled'))!.status).toBe('cancelled')
        expect(await store.failInterrupted('again', 5678)).toEqual([])
      })

      test('with nothing unfinished it returns no ids', async () => {
        expect(await store.failInterrupted('x', 1)).toEqual([])
      })
    })

    describe('conversations', () => {
      test('a created conversation reads back; other tenants and unknown ids read null', async () => {
        const rec = { id: 'conv_1', tenant: 'alice', metadata: { topic: 'demo' }, createdAt: 10, updatedAt: 11 }
        await store.createConversation(rec, [message('msg_1', 'user', 'hello')])
        expect(await store.getConversation('alice', 'conv_1')).toEqual(rec)
        expect(await store.getConversation('bob', 'conv_1')).toBeNull()
        expect(await store.getConversation('alice', 'conv_nope')).toBeNull()
      })

      test('creating a conversation twice fails', async () => {
        const rec = { id: 'conv_1', tenant: 'default', metadata: {}, createdAt: 1, updatedAt: 1 }
        await store.createConversation(rec, [])
        await expect(store.createConversation(rec, [])).rejects.toThrow()
      })

      test('a response may belong to a conversation', async () => {
        await store.createConversation({ id: 'conv_1', tenant: 'default', metadata: {}, createdAt: 1, updatedAt: 1 }, [])
        await store.createResponse(responseRecord('resp_1', { conversationId: 'conv_1' }), [])
        expect((await store.getResponse('default', 'resp_1'))!.conversationId).toBe('conv_1')
      })
    })

    describe('conversation items', () => {
      const conv = (id: string, tenant = 'default') => ({ id, tenant, metadata: { k: 'v' }, createdAt: 10, updatedAt: 10 })
      const list = (id: string, opts: Partial<Parameters<Store['listConversationItems']>[2]> = {}, tenant = 'default') =>
        store.listConversationItems(tenant, id, { limit: 100, order: 'asc', ...opts })

      test('update replaces metadata and bumps updatedAt; unknown, deleted and other tenants give null', async () => {
        await store.createConversation(conv('conv_1'), [])
        expect(await store.updateConversation('default', 'conv_1', { n: '1' }, 20)).toEqual({
          ...conv('conv_1'),
          metadata: { n: '1' },
          updatedAt: 20,
        })
        expect(await store.updateConversation('bob', 'conv_1', {}, 30)).toBeNull()
        expect(await store.updateConversation('default', 'conv_nope', {}, 30)).toBeNull()
        await store.deleteConversation('default', 'conv_1', 40)
        expect(await store.updateConversation('default', 'conv_1', {}, 50)).toBeNull()
      })

      test('delete hides the conversation and its items everywhere; a second delete finds nothing', async () => {
        await store.createConversation(conv('conv_1'), [message('m1', 'user', 'a')])
        expect(await store.deleteConversation('bob', 'conv_1', 2)).toBe(false)
        expect(await store.deleteConversation('default', 'conv_1', 2)).toBe(true)
        expect(await store.deleteConversation('default', 'conv_1', 3)).toBe(false)
        expect(await store.getConversation('default', 'conv_1')).toBeNull()
        expect(await list('conv_1')).toBeNull()
        expect(await store.getConversationItem('default', 'conv_1', 'm1')).toBeNull()
        expect(await store.addConversationItems('default', 'conv_1', [message('m2', 'user', 'b')], 4)).toEqual({
          ok: false,
          reason: 'not_found',
        })
        expect(await store.deleteConversationItem('default', 'conv_1', 'm1', 4)).toBe(false)
      })

      test('items list in order and append at the end, also after deletions', async () => {
        await store.createConversation(conv('conv_1'), [message('m1', 'user', 'a'), message('m2', 'assistant', 'b')])
        expect(await store.addConversationItems('default', 'conv_1', [message('m3', 'user', 'c')], 20)).toEqual({
          ok: true,
          items: [message('m3', 'user', 'c')],
        })
        expect(await store.deleteConversationItem('default', 'conv_1', 'm3', 21)).toBe(true)
        expect(await store.deleteConversationItem('default', 'conv_1', 'm3', 21)).toBe(false)
        await store.addConversationItems('default', 'conv_1', [message('m4', 'user', 'd'), message('m5', 'user', 'e')], 22)
        expect(ids((await list('conv_1'))!.items)).toEqual(['m1', 'm2', 'm4', 'm5'])
        expect(ids((await list('conv_1', { order: 'desc', limit: 2 }))!.items)).toEqual(['m5', 'm4'])
        expect(await list('conv_1', { after: 'm2', limit: 1 })).toEqual({ items: [message('m4', 'user', 'd')], hasMore: true })
        expect((await store.getConversation('default', 'conv_1'))!.updatedAt).toBe(22)
      })

      test('an unknown cursor is an invalid_cursor store error naming the parameter', async () => {
        await store.createConversation(conv('conv_1'), [message('m1', 'user', 'a')])
        expect(await list('conv_1', { after: 'nope' }).catch((e) => e)).toMatchObject({ kind: 'invalid_cursor', param: 'after' })
      })

      test('get one item; unknown items, conversations and tenants give null', async () => {
        await store.createConversation(conv('conv_1', 'alice'), [message('m1', 'user', 'a')])
        expect(await store.getConversationItem('alice', 'conv_1', 'm1')).toEqual(message('m1', 'user', 'a'))
        expect(await store.getConversationItem('alice', 'conv_1', 'nope')).toBeNull()
        expect(await store.getConversationItem('bob', 'conv_1', 'm1')).toBeNull()
        expect(await list('conv_1', {}, 'bob')).toBeNull()
      })

      test('conversation items are not input items of any response', async () => {
        await store.createConversation(conv('conv_1'), [message('m1', 'user', 'a')])
        await store.createResponse(responseRecord('resp_1', { conversationId: 'conv_1' }), [message('in_1', 'user', 'q')])
        expect(ids((await store.listInputItems('default', 'resp_1', { limit: 10, order: 'asc' }))!.items)).toEqual(['in_1'])
        expect(ids((await list('conv_1'))!.items)).toEqual(['m1'])
      })
    })

    describe('conversation turns', () => {
      const live = () => ({ owner: 'test/1/a', expiresAt: Date.now() + 60_000 })
      const turn = (id: string, overrides: Partial<ResponseRecord> = {}) =>
        responseRecord(id, { status: 'in_progress', conversationId: 'conv_1', completedAt: null, ...overrides })
      const done = (status: ResponseRecord['status']) => ({
        status,
        response: { status },
        error: null,
        completedAt: status === 'completed' ? 5 : null,
      })
      beforeEach(async () => {
        await store.createConversation({ id: 'conv_1', tenant: 'default', metadata: {}, createdAt: 1, updatedAt: 1 }, [
          message('h1', 'user', 'history'),
        ])
      })

      test('a turn reads the history under the lock; a second turn is refused with the holder until the first ends', async () => {
        expect(await store.startConversationTurn(turn('resp_1'), [message('in_1', 'user', 'q')], live())).toEqual({
          ok: true,
          history: [message('h1', 'user', 'history')],
        })
        expect((await store.getResponse('default', 'resp_1'))!.conversationId).toBe('conv_1')
        expect(await store.startConversationTurn(turn('resp_2'), [], live())).toEqual({ ok: false, reason: 'locked', holder: 'resp_1' })
        expect(await store.getResponse('default', 'resp_2')).toBeNull()
        expect(await store.addConversationItems('default', 'conv_1', [message('x', 'user', 'x')], 2)).toEqual({
          ok: false,
          reason: 'locked',
          holder: 'resp_1',
        })
        const result = await store.finishResponse('default', 'resp_1', done('completed'), [message('out_1', 'assistant', 'a')], {
          conversationItems: [message('in_1', 'user', 'q'), message('out_1', 'assistant', 'a')],
        })
        expect(result).toEqual({ status: 'completed', appended: true })
        expect(ids((await store.listConversationItems('default', 'conv_1', { limit: 10, order: 'asc' }))!.items)).toEqual([
          'h1',
          'in_1',
          'out_1',
        ])
        const next = await store.startConversationTurn(turn('resp_2'), [], live())
        expect(next.ok && ids(next.history)).toEqual(['h1', 'in_1', 'out_1'])
      })

      test('unknown, deleted and other tenants’ conversations are not found', async () => {
        expect(await store.startConversationTurn(turn('resp_1', { conversationId: 'conv_nope' }), [], live())).toEqual({
          ok: false,
          reason: 'not_found',
        })
        expect(await store.startConversationTurn(turn('resp_1', { tenant: 'bob' }), [], live())).toEqual({ ok: false, reason: 'not_found' })
        await store.deleteConversation('default', 'conv_1', 2)
        expect(await store.startConversationTurn(turn('resp_1'), [], live())).toEqual({ ok: false, reason: 'not_found' })
      })

      test('a turn that ends without conversation items releases the lock and appends nothing', async () => {
        await store.startConversationTurn(turn('resp_1'), [], live())
        expect(await store.finishResponse('default', 'resp_1', done('failed'), [])).toEqual({ status: 'failed', appended: false })
        expect(ids((await store.listConversationItems('default', 'conv_1', { limit: 10, order: 'asc' }))!.items)).toEqual(['h1'])
        expect((await store.startConversationTurn(turn('resp_2'), [], live())).ok).toBe(true)
      })

      test('a holder whose lease expired, or that was cancelled, no longer holds the conversation', async () => {
        await store.startConversationTurn(turn('resp_1'), [], { owner: 'gone/1/x', expiresAt: Date.now() - 1 })
        expect((await store.startConversationTurn(turn('resp_2', { background: true }), [], live())).ok).toBe(true)
        await store.cancelResponse('default', 'resp_2', 3)
        expect((await store.startConversationTurn(turn('resp_3'), [], live())).ok).toBe(true)
      })

      test('an overtaken turn (its lease expired and another took over) appends nothing when it ends', async () => {
        await store.startConversationTurn(turn('resp_1'), [], { owner: 'slow/1/x', expiresAt: Date.now() - 1 })
        await store.startConversationTurn(turn('resp_2'), [], live())
        const late = await store.finishResponse('default', 'resp_1', done('completed'), [], {
          conversationItems: [message('late', 'user', 'late')],
        })
        expect(late).toEqual({ status: 'completed', appended: false })
        // and it did not release the newer turn's lock
        expect(await store.startConversationTurn(turn('resp_3'), [], live())).toEqual({ ok: false, reason: 'locked', holder: 'resp_2' })
        expect(ids((await store.listConversationItems('default', 'conv_1', { limit: 10, order: 'asc' }))!.items)).toEqual(['h1'])
      })

      test('a conversation deleted during the turn gets nothing appended', async () => {
        await store.startConversationTurn(turn('resp_1'), [], live())
        await store.deleteConversation('default', 'conv_1', 2)
        expect(
          await store.finishResponse('default', 'resp_1', done('completed'), [], { conversationItems: [message('x', 'user', 'x')] }),
        ).toEqual({ status: 'completed', appended: false })
      })
    })

    describe('running turns: checkpoint, finish, cancel', () => {
      const running = (id: string, overrides: Partial<ResponseRecord> = {}) =>
        responseRecord(id, { status: 'in_progress', background: true, completedAt: null, ...overrides })
      const lease = (expiresAt: number, owner = 'test/1/a') => ({ owner, expiresAt })

      test('checkpoint returns the status; a progress snapshot replaces status, object and output items', async () => {
        await store.createResponse(running('resp_1', { status: 'queued' }), [message('in_1', 'user', 'q')], lease(Date.now() + 60_000))
        expect(await store.checkpointResponse('default', 'resp_1', {})).toBe('queued')
        const snap = {
          status: 'in_progress' as const,
          response: { id: 'resp_1', status: 'in_progress' },
          outputItems: [message('o1', 'assistant', 'par')],
        }
        expect(await store.checkpointResponse('default', 'resp_1', { progress: snap })).toBe('in_progress')
        expect(await store.getResponse('default', 'resp_1')).toMatchObject({ status: 'in_progress', response: snap.response })
        expect(ids(await store.getOutputItems('default', 'resp_1'))).toEqual(['o1'])
        expect(await store.checkpointResponse('default', 'nope', {})).toBeNull()
        expect(await store.checkpointResponse('bob', 'resp_1', { progress: snap })).toBeNull()
      })

      test('a renewed lease keeps recovery away; an expired one does not', async () => {
        await store.createResponse(running('resp_1'), [], lease(1_000))
        await store.createResponse(running('resp_2'), [], lease(1_000))
        await store.checkpointResponse('default', 'resp_1', { lease: lease(5_000) })
        expect(await store.failInterrupted('gone', 2_000)).toEqual(['resp_2'])
        expect((await store.getResponse('default', 'resp_1'))!.status).toBe('in_progress')
        expect(await store.failInterrupted('gone', 6_000)).toEqual(['resp_1'])
      })

      test('recovery also fails unexpired turns whose owner is known dead, and only those', async () => {
        const future = Date.now() + 60_000
        await store.createResponse(running('resp_dead'), [], lease(future, 'host/1/dead'))
        await store.createResponse(running('resp_alive'), [], lease(future, 'host/2/alive'))
        expect(await store.failInterrupted('gone', Date.now(), { alive: (owner) => owner.endsWith('alive') })).toEqual(['resp_dead'])
        expect((await store.getResponse('default', 'resp_alive'))!.status).toBe('in_progress')
      })

      test('recovery ends the event log of a failed turn with response.failed; a turn without events gets none', async () => {
        await store.createResponse(running('resp_1'), [], lease(1))
        await store.createResponse(running('resp_2'), [], lease(1))
        await store.appendEvents('resp_1', [
          { type: 'response.created', sequence_number: 0 },
          { type: 'response.in_progress', sequence_number: 1 },
        ])
        await store.failInterrupted('the gateway stopped', 10)
        const events = await store.listEvents('resp_1', -1)
        expect(events.map((e) => [e.sequence_number, e.type])).toEqual([
          [0, 'response.created'],
          [1, 'response.in_progress'],
          [2, 'response.failed'],
        ])
        expect(events[2].response).toMatchObject({
          id: 'resp_1',
          status: 'failed',
          error: { code: 'server_error', message: 'the gateway stopped' },
        })
        expect(await store.listEvents('resp_2', -1)).toEqual([])
      })

      test('finish stores status, object, output and the last events in one go', async () => {
        await store.createResponse(running('resp_1'), [], lease(Date.now() + 60_000))
        await store.appendEvents('resp_1', [{ type: 'response.created', sequence_number: 0 }])
        const r = await store.finishResponse(
          'default',
          'resp_1',
          { status: 'completed', response: { done: true }, error: null, completedAt: 9 },
          [message('o', 'assistant', 'x')],
          {
            events: [
              { type: 'response.output_text.delta', sequence_number: 1 },
              { type: 'response.completed', sequence_number: 2 },
            ],
          },
        )
        expect(r).toEqual({ status: 'completed', appended: false })
        expect(await store.getResponse('default', 'resp_1')).toMatchObject({
          status: 'completed',
          response: { done: true },
          completedAt: 9,
        })
        expect((await store.listEvents('resp_1', -1)).map((e) => e.sequence_number)).toEqual([0, 1, 2])
        // a finished response stays as it is
        expect(
          await store.finishResponse('default', 'resp_1', { status: 'failed', response: {}, error: null, completedAt: null }, []),
        ).toEqual({ status: 'completed', appended: false })
        expect(
          await store.finishResponse('default', 'nope', { status: 'failed', response: {}, error: null, completedAt: null }, []),
        ).toEqual({ status: null, appended: false })
      })

      test('a failing finish (duplicate event) writes nothing', async () => {
        await store.createResponse(running('resp_1'), [], lease(Date.now() + 60_000))
        await store.appendEvents('resp_1', [{ type: 'response.created', sequence_number: 0 }])
        await expect(
          store.finishResponse(
            'default',
            'resp_1',
            { status: 'completed', response: {}, error: null, completedAt: 1 },
            [message('o', 'assistant', 'x')],
            { events: [{ type: 'x', sequence_number: 0 }] },
          ),
        ).rejects.toThrow()
        expect((await store.getResponse('default', 'resp_1'))!.status).toBe('in_progress')
        expect(await store.getOutputItems('default', 'resp_1')).toEqual([])
      })

      test('cancel marks a running response cancelled in columns and object; checkpoints then report it and cannot undo it', async () => {
        await store.createResponse(running('resp_1'), [], lease(Date.now() + 60_000))
        const rec = await store.cancelResponse('default', 'resp_1', 77)
        expect(rec).toMatchObject({ status: 'cancelled', updatedAt: 77, response: { id: 'resp_1', status: 'cancelled' } })
        const snap = { status: 'in_progress' as const, response: { status: 'in_progress' }, outputItems: [] }
        expect(await store.checkpointResponse('default', 'resp_1', { progress: snap, lease: lease(Date.now() + 60_000) })).toBe('cancelled')
        expect((await store.getResponse('default', 'resp_1'))!.status).toBe('cancelled')
        // recovery leaves it alone
        expect(await store.failInterrupted('x', Date.now() + 1e9)).toEqual([])
      })

      test('a cancelled response accepts the runner’s final cancelled output, and nothing else', async () => {
        await store.createResponse(running('resp_1'), [], lease(Date.now() + 60_000))
        await store.cancelResponse('default', 'resp_1', 1)
        expect(
          await store.finishResponse(
            'default',
            'resp_1',
            { status: 'completed', response: { status: 'completed' }, error: null, completedAt: 2 },
            [message('o', 'assistant', 'all')],
          ),
        ).toEqual({ status: 'cancelled', appended: false })
        expect(await store.getOutputItems('default', 'resp_1')).toEqual([])
        expect(
          await store.finishResponse(
            'default',
            'resp_1',
            { status: 'cancelled', response: { status: 'cancelled', partial: true }, error: null, completedAt: null },
            [message('o', 'assistant', 'part')],
          ),
        ).toEqual({ status: 'cancelled', appended: false })
        expect(await store.getResponse('default', 'resp_1')).toMatchObject({ status: 'cancelled', response: { partial: true } })
        expect(ids(await store.getOutputItems('default', 'resp_1'))).toEqual(['o'])
      })

      test('cancel of an ended response changes nothing; unknown ids and other tenants give null', async () => {
        await store.createResponse(responseRecord('resp_done', { background: true }), [])
        expect(await store.cancelResponse('default', 'resp_done', 5)).toEqual(responseRecord('resp_done', { background: true }))
        expect(await store.cancelResponse('default', 'nope', 5)).toBeNull()
        expect(await store.cancelResponse('bob', 'resp_done', 5)).toBeNull()
      })
    })

    describe('retention', () => {
      const DAY = 86_400_000
      const NOW = 1_700_000_000_000 + 100 * DAY
      const ev = (n: number) => ({ type: 'response.output_text.delta', sequence_number: n })
      /** a finished response created `age` days before NOW, with an input and an output item and two events */
      async function finished(id: string, ageDays: number, status: 'completed' | 'failed' = 'completed') {
        const at = NOW - ageDays * DAY
        await store.createResponse(responseRecord(id, { status: 'in_progress', createdAt: at, updatedAt: at, completedAt: null }), [
          message(`${id}_in`, 'user', 'q'),
        ])
        await store.appendEvents(id, [ev(0), ev(1)])
        await store.finishResponse('default', id, { status, response: { id, status }, error: null, completedAt: at }, [
          message(`${id}_out`, 'assistant', 'a'),
        ])
      }

      test('pruneResponses deletes finished responses created before the cutoff, with their items and events, in batches', async () => {
        await finished('resp_old1', 40)
        await finished('resp_old2', 35, 'failed')
        await finished('resp_old3', 31)
        await finished('resp_new', 1)
        expect(await store.pruneResponses(NOW - 30 * DAY, 2)).toBe(2)
        expect(await store.pruneResponses(NOW - 30 * DAY, 2)).toBe(1)
        expect(await store.pruneResponses(NOW - 30 * DAY, 2)).toBe(0)
        for (const id of ['resp_old1', 'resp_old2', 'resp_old3']) {
          expect(await store.getResponse('default', id)).toBeNull()
          expect(await store.listEvents(id, -1)).toEqual([])
          expect(await store.listInputItems('default', id, { limit: 10, order: 'asc' })).toBeNull()
        }
        expect(await store.getResponse('default', 'resp_new')).not.toBeNull()
        expect(ids(await store.getOutputItems('default', 'resp_new'))).toEqual(['resp_new_out'])
      })

      test('pruneResponses never deletes a queued or in_progress response, however old', async () => {
        const old = NOW - 90 * DAY
        await store.createResponse(
          responseRecord('resp_running', { status: 'in_progress', createdAt: old, updatedAt: old, completedAt: null }),
          [],
          { owner: 'x', expiresAt: NOW + 1000 },
        )
        await store.createResponse(
          responseRecord('resp_queued', { status: 'queued', createdAt: old, updatedAt: old, completedAt: null, background: true }),
          [],
        )
        expect(await store.pruneResponses(NOW - DAY, 100)).toBe(0)
        expect((await store.getResponse('default', 'resp_running'))?.status).toBe('in_progress')
        expect((await store.getResponse('default', 'resp_queued'))?.status).toBe('queued')
      })

      test('pruneEventLogs drops only the logs of responses finished before the cutoff; the responses stay', async () => {
        await finished('resp_a', 3)
        await finished('resp_b', 2)
        await finished('resp_c', 0.5)
        const at = NOW - 5 * DAY
        await store.createResponse(
          responseRecord('resp_running', { status: 'in_progress', createdAt: at, updatedAt: at, completedAt: null }),
          [],
          { owner: 'x', expiresAt: NOW + 1000 },
        )
        await store.appendEvents('resp_running', [ev(0)])
        expect(await store.pruneEventLogs(NOW - DAY, 1)).toEqual({ responses: 1, events: 2 })
        expect(await store.pruneEventLogs(NOW - DAY, 10)).toEqual({ responses: 1, events: 2 })
        expect(await store.pruneEventLogs(NOW - DAY, 10)).toEqual({ responses: 0, events: 0 })
        expect(await store.hasEvents('resp_a')).toBe(false)
        expect(await store.hasEvents('resp_b')).toBe(false)
        expect(await store.hasEvents('resp_c')).toBe(true)
        expect(await store.hasEvents('resp_running')).toBe(true)
        expect((await store.getResponse('default', 'resp_a'))?.status).toBe('completed')
        expect(ids(await store.getOutputItems('default', 'resp_a'))).toEqual(['resp_a_out'])
      })

      test('pruneConversations deletes old conversations that are deleted or empty, and keeps those with items or recent use', async () => {
        const old = NOW - 40 * DAY
        const conv = (id: string, at: number) => ({ id, tenant: 'default', metadata: {}, createdAt: at, updatedAt: at })
        await store.createConversation(conv('conv_empty', old), [])
        await store.createConversation(conv('conv_items', old), [message('m1', 'user', 'keep me')])
        await store.createConversation(conv('conv_deleted', old), [message('m2', 'user', 'gone')])
        await store.deleteConversation('default', 'conv_deleted', old + 1)
        await store.createConversation(conv('conv_recent', NOW - DAY), [])
        expect(await store.pruneConversations(NOW - 30 * DAY, 100)).toBe(2)
        expect(await store.getConversation('default', 'conv_empty')).toBeNull()
        expect(await store.getConversation('default', 'conv_items')).not.toBeNull()
        expect(await store.getConversation('default', 'conv_recent')).not.toBeNull()
        expect(await store.pruneConversations(NOW - 30 * DAY, 100)).toBe(0)
      })

      test('pruneOnce applies --retention-days and --event-log-retention-hours batch by batch', async () => {
        for (let i = 0; i < 7; i++) await finished(`resp_old${i}`, 10 + i)
        await finished('resp_day', 2)
        await finished('resp_fresh', 0.01)
        await store.createConversation(
          { id: 'conv_empty', tenant: 'default', metadata: {}, createdAt: NOW - 20 * DAY, updatedAt: NOW - 20 * DAY },
          [],
        )
        let pauses = 0
        const r = await pruneOnce(store, { retentionDays: 7, eventLogRetentionHours: 24 }, NOW, {
          batch: 3,
          pause: async () => void pauses++,
        })
        expect(r).toMatchObject({ responses: 7, conversations: 1, eventLogs: 1, events: 2 })
        expect(pauses).toBeGreaterThanOrEqual(2) // 7 responses in batches of 3
        expect(await store.getResponse('default', 'resp_day')).not.toBeNull()
        expect(await store.hasEvents('resp_day')).toBe(false)
        expect(await store.hasEvents('resp_fresh')).toBe(true)
        // unset --retention-days keeps every response; event logs still go
        await finished('resp_ancient', 400)
        const keep = await pruneOnce(store, { retentionDays: null, eventLogRetentionHours: 24 }, NOW)
        expect(keep).toMatchObject({ responses: 0, conversations: 0, eventLogs: 1 })
        expect(await store.getResponse('default', 'resp_ancient')).not.toBeNull()
      })
    })

    test('ping answers while the store is open', async () => {
      await store.ping()
    })
  })
}
