// A WebSocket keeps its chain in memory, its items settled (src/store/settled-items.ts): what each item gives the
// upstream — its upstream form, its JSON, its share of the token estimate — is computed once and reused by every
// later turn. These tests hold each socket turn's upstream request to the one the same request gets over HTTP,
// where the history is read from the store or sent inline (fresh objects, nothing reused): they must be the same
// request as the chain grows, diverges, changes its instructions and tools, is truncated, compacted, or unstored.
import { describe, expect, test } from 'bun:test'
import type { FakeUpstream, TurnScript } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'
import { modelCalls, UPSTREAM_APIS } from '../support/upstream-view'
import { openSocket, type SocketClient } from '../support/ws-client'

const WINDOW = 1500

const fn = (name: string) => ({ type: 'function', name, parameters: { type: 'object', properties: {} }, strict: false })
const TOOLS = [fn('shell'), { type: 'custom', name: 'apply_patch', description: 'Edits files.' }]
const INSTRUCTIONS = 'You are a coding agent.'
let ids = 0
/** Input items carry their own ids, so the same request can be sent twice (its HTTP twin with store:false). */
const user = (text: string) => ({ id: `msg_in${++ids}`, type: 'message', role: 'user', content: [{ type: 'input_text', text }] })
const output = (callId: string, text: string) => ({ id: `fco_in${++ids}`, type: 'function_call_output', call_id: callId, output: text })
const customOutput = (callId: string, text: string) => ({
  id: `ctco_in${++ids}`,
  type: 'custom_tool_call_output',
  call_id: callId,
  output: text,
})
const words = (tag: string, n: number) => `${tag} ${'lorem '.repeat(n).trim()}`

for (const api of UPSTREAM_APIS) {
  /** A socket on `gw`, and its turns compared with their HTTP twins. */
  function twins(up: () => FakeUpstream, gw: () => TestGateway) {
    let socket: SocketClient
    let terminals = 0
    const calls = () => modelCalls(up(), api)
    return {
      async open() {
        socket = await openSocket(gw().url)
        terminals = 0
      },
      close: () => socket.close(),
      /** One turn on the socket: the response, and the model calls it made (their bodies). */
      async onSocket(body: Record<string, unknown>, ...replies: TurnScript[]) {
        up().queue(...replies)
        const from = calls().length
        socket.create(body)
        const frame = await socket.terminal(++terminals)
        expect(frame.type).toBe('response.completed')
        return {
          response: frame.response,
          sent: calls()
            .slice(from)
            .map((c) => c.body),
        }
      },
      /**
       * The same request over HTTP, unstored (so its input ids can repeat) and streamed as a socket's turn is (a JSON
       * turn would ask the upstream for its whole answer): the model calls it made.
       */
      async overHttp(body: Record<string, unknown>, ...replies: TurnScript[]) {
        up().queue(...replies)
        const from = calls().length
        const res = await fetch(`${gw().baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', ...body, store: false, stream: true }),
        })
        expect(res.status).toBe(200)
        expect(await res.text()).toContain('event: response.completed')
        return calls()
          .slice(from)
          .map((c) => c.body)
      },
      /** A turn on the socket whose model calls are exactly its HTTP twin's; the socket's response. */
      async same(body: Record<string, unknown>, ...replies: TurnScript[]) {
        const { response, sent } = await this.onSocket(body, ...replies)
        expect(await this.overHttp(body, ...replies)).toEqual(sent)
        return response
      },
    }
  }

  describe(`upstream API ${api}: a socket's chain (stored) sends what HTTP sends`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    useGateway(
      {
        upstream: {
          models: [
            { id: 'test-model', max_model_len: 32768 },
            { id: 'small-model', max_model_len: WINDOW },
          ],
        },
        gateway: { env: { AGENTGATE_UPSTREAM_API: api } },
      },
      (s) => ({ up, gw } = s),
    )
    const t = twins(
      () => up,
      () => gw,
    )
    const callIn = (r: any, type: string) => r.output.find((o: any) => o.type === type)

    test('as the chain grows, with tool calls, custom tools, reasoning (sealed too), nulls, and instructions and tools that change', async () => {
      await t.open()
      const base = { instructions: INSTRUCTIONS, tools: TOOLS }
      let r = await t.same(
        { ...base, input: [user('look around')] },
        { reasoning: 'I should list files.', functionCalls: [{ name: 'shell', arguments: '{"cmd":"ls"}', call_id: 'call_a' }] },
      )
      r = await t.same(
        { ...base, previous_response_id: r.id, input: [output('call_a', 'a.txt\nb.txt')] },
        { functionCalls: [{ name: 'apply_patch', arguments: '{"input":"*** Begin Patch"}', call_id: 'call_b' }] },
      )
      expect(callIn(r, 'custom_tool_call')).toBeDefined()
      // Codex resends reasoning with explicit nulls; sealed reasoning comes back as the client got it.
      r = await t.same(
        {
          ...base,
          include: ['reasoning.encrypted_content'],
          previous_response_id: r.id,
          input: [
            customOutput('call_b', 'Done!'),
            { id: `rs_in${++ids}`, type: 'reasoning', summary: [], content: null, encrypted_content: null },
          ],
        },
        { reasoning: 'Now test it.', functionCalls: [{ name: 'shell', arguments: '{"cmd":"test"}', call_id: 'call_c' }] },
      )
      expect(callIn(r, 'reasoning').encrypted_content).toStartWith('ags1.')
      // New instructions and a tool renamed: the same items, given to the model as this request says.
      const changed = { instructions: 'You are terse.', tools: [fn('shell'), { type: 'custom', name: 'edit' }] }
      r = await t.same({ ...changed, previous_response_id: r.id, input: [output('call_c', 'ok')] }, { text: 'All good.' })
      r = await t.same({ ...base, previous_response_id: r.id, input: [user('and now?')] }, { text: 'Nothing left.' })
      const last = await t.onSocket({ previous_response_id: r.id, input: [user('bye')] }, { text: 'bye' })
      // The whole chain went up: 5 turns of history and the new message.
      expect(JSON.stringify(last.sent)).toContain('look around')
      expect(JSON.stringify(last.sent)).toContain('Nothing left.')
      t.close()
    })

    test('a turn chained onto an earlier response of the socket, then the chain goes on from the branch', async () => {
      await t.open()
      const turns: any[] = [await t.same({ input: [user('one')] }, { text: 'a1' })]
      for (const word of ['two', 'three'])
        turns.push(await t.same({ previous_response_id: turns.at(-1).id, input: [user(word)] }, { text: `a-${word}` }))
      const branch = await t.same({ previous_response_id: turns[0].id, input: [user('two, again')] }, { text: 'b2' })
      await t.same({ previous_response_id: branch.id, input: [user('three, again')] }, { text: 'b3' })
      await t.same({ previous_response_id: turns[2].id, input: [user('four')] }, { text: 'a4' })
      t.close()
    })

    test('truncation "auto" drops the oldest items from the chain the socket keeps, as it does from the stored one', async () => {
      await t.open()
      let r = await t.same({ input: [user(words('start', 50))] }, { text: 'ok' })
      for (let i = 1; i <= 6; i++)
        r = await t.same({ previous_response_id: r.id, input: [user(words(`turn${i}`, 300))] }, { text: `answer ${i}` })
      const body = { model: 'small-model', truncation: 'auto', previous_response_id: r.id, input: [user('short')] }
      const { sent } = await t.onSocket(body, { text: 'fits' })
      const [http] = await t.overHttp(body, { text: 'fits' })
      expect(http).toEqual(sent[0])
      // Dropped, indeed: the first message is gone.
      expect(JSON.stringify(sent[0])).not.toContain('start lorem')
      t.close()
    })

    test('a compaction in the chain: the compacting turn and the turns after it', async () => {
      await t.open()
      let r = await t.same({ input: [user('fix the bug')] }, { text: 'fixed it' })
      r = await t.same({ previous_response_id: r.id, input: [{ type: 'compaction_trigger' }] }, { text: 'the user wanted a bug fixed' })
      expect(r.output.map((o: any) => o.type)).toEqual(['compaction'])
      r = await t.same({ previous_response_id: r.id, input: [user('now the tests')] }, { text: 'tests pass' })
      await t.same({ previous_response_id: r.id, input: [user('and lint')] }, { text: 'clean' })
      t.close()
    })
  })

  describe(`upstream API ${api}: a socket's unstored chain sends what a stateless request with the whole history sends`, () => {
    let up: FakeUpstream
    let gw: TestGateway
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api, AGENTGATE_WS_FORCE_STORE: 'false' } } }, (s) => ({ up, gw } = s))
    const t = twins(
      () => up,
      () => gw,
    )

    test('store:false turns, diverging onto earlier responses of the socket', async () => {
      await t.open()
      /** response id → the whole history after that response, as the client would send it inline */
      const inline = new Map<string, unknown[]>()
      const turn = async (prev: string | null, input: unknown[], reply: TurnScript) => {
        const history = prev ? inline.get(prev)! : []
        const body = { store: false, instructions: INSTRUCTIONS, tools: TOOLS, input }
        const { response, sent } = await t.onSocket({ ...body, ...(prev ? { previous_response_id: prev } : {}) }, reply)
        expect(await t.overHttp({ ...body, input: [...history, ...input] }, reply)).toEqual(sent)
        inline.set(response.id, [...history, ...input, ...response.output])
        return response.id as string
      }
      const first = await turn(null, [user('one')], { functionCalls: [{ name: 'shell', arguments: '{}', call_id: 'call_1' }] })
      const second = await turn(first, [output('call_1', 'out 1')], { text: 'two' })
      await turn(second, [user('three')], { text: 'three' })
      // Back to the first turn: its call answered differently.
      const other = await turn(first, [output('call_1', 'another out')], { text: 'other' })
      await turn(other, [user('on the branch')], { text: 'branch' })
      await turn(second, [user('three, again')], { text: 'again' })
      t.close()
    })
  })
}
