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
      /** Sends a turn whose end the test reads itself (nextTerminal). */
      create: (body: Record<string, unknown>) => socket.create(body),
      nextTerminal: () => socket.terminal(++terminals),
      /** One turn on the socket: the response, and the model calls it made (their bodies, parsed and as sent). */
      async onSocket(body: Record<string, unknown>, ...replies: TurnScript[]) {
        up().queue(...replies)
        const from = calls().length
        socket.create(body)
        const frame = await socket.terminal(++terminals)
        expect(frame.type).toBe('response.completed')
        const made = calls().slice(from)
        return { response: frame.response, sent: made.map((c) => c.body), raw: made.map((c) => c.text) }
      },
      /**
       * The same request over HTTP, unstored (so its input ids can repeat) and streamed as a socket's turn is (a JSON
       * turn would ask the upstream for its whole answer): the model calls it made.
       */
      async overHttpCalls(body: Record<string, unknown>, ...replies: TurnScript[]) {
        up().queue(...replies)
        const from = calls().length
        const res = await fetch(`${gw().baseURL}/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'test-model', ...body, store: false, stream: true }),
        })
        expect(res.status).toBe(200)
        expect(await res.text()).toContain('event: response.completed')
        return calls().slice(from)
      },
      /**
       * A turn on the socket whose model calls are exactly its HTTP twin's, byte for byte (the socket's are written
       * from what its chain keeps, the twin's from fresh objects); the socket's response.
       */
      async same(body: Record<string, unknown>, ...replies: TurnScript[]) {
        const { response, sent, raw } = await this.onSocket(body, ...replies)
        const http = await this.overHttpCalls(body, ...replies)
        expect(http.map((c) => c.body)).toEqual(sent)
        expect(http.map((c) => c.text)).toEqual(raw)
        return response
      },
    }
  }

  /** Twins on a gateway of their own (inside a describe), with these settings besides the upstream API. */
  function twinsOn(env: Record<string, string>) {
    let up: FakeUpstream
    let gw: TestGateway
    useGateway({ gateway: { env: { AGENTGATE_UPSTREAM_API: api, ...env } } }, (s) => ({ up, gw } = s))
    return twins(
      () => up,
      () => gw,
    )
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

    test('a turn that fails: the chain goes on from the turn before it, and from the failed one (read from the store)', async () => {
      await t.open()
      let r = await t.same({ input: [user('one')] }, { functionCalls: [{ name: 'shell', arguments: '{}', call_id: 'call_f1' }] })
      r = await t.same({ previous_response_id: r.id, input: [output('call_f1', 'out')] }, { text: 'two' })
      up.queue({ fault: 'status', status: 500 })
      t.create({ previous_response_id: r.id, input: [user('this one fails')] })
      const failed = await t.nextTerminal()
      expect(failed.type).toBe('response.failed')
      // The socket keeps no chain for a failed turn: a turn chained onto it reads its history from the store.
      const onFailed = await t.same({ previous_response_id: failed.response.id, input: [user('after the failure')] }, { text: 'f' })
      r = await t.same({ previous_response_id: r.id, input: [user('three')] }, { text: 'three' })
      r = await t.same({ previous_response_id: r.id, input: [user('four')] }, { text: 'four' })
      await t.same({ previous_response_id: onFailed.id, input: [user('back on the other one')] }, { text: 'g' })
      t.close()
    })

    test('a reconnect, and a second socket on the same chain: each goes on from what it reads or keeps', async () => {
      await t.open()
      let r = await t.same({ input: [user('one')] }, { text: 'a1' })
      for (const word of ['two', 'three']) r = await t.same({ previous_response_id: r.id, input: [user(word)] }, { text: word })
      t.close()
      // A new socket: its first turn reads the chain from the store (fresh objects), then keeps it.
      await t.open()
      const other = twins(
        () => up,
        () => gw,
      )
      await other.open()
      let mine = r
      let theirs = r
      for (const word of ['four', 'five', 'six']) {
        mine = await t.same({ previous_response_id: mine.id, input: [user(`mine ${word}`)] }, { text: `m ${word}` })
        theirs = await other.same({ previous_response_id: theirs.id, input: [user(`theirs ${word}`)] }, { text: `t ${word}` })
      }
      // Each socket on the other's chain (stored: read from the store), then on its own again.
      await t.same({ previous_response_id: theirs.id, input: [user('crossed')] }, { text: 'x' })
      await other.same({ previous_response_id: mine.id, input: [user('crossed too')] }, { text: 'y' })
      await t.same({ previous_response_id: mine.id, input: [user('mine again')] }, { text: 'z' })
      t.close()
      other.close()
    })

    test('truncation "auto" drops the oldest items from the chain the socket keeps, as it does from the stored one', async () => {
      await t.open()
      let r = await t.same({ input: [user(words('start', 50))] }, { text: 'ok' })
      for (let i = 1; i <= 6; i++)
        r = await t.same({ previous_response_id: r.id, input: [user(words(`turn${i}`, 300))] }, { text: `answer ${i}` })
      const body = { model: 'small-model', truncation: 'auto', previous_response_id: r.id, input: [user('short')] }
      const { sent, raw } = await t.onSocket(body, { text: 'fits' })
      const [http] = await t.overHttpCalls(body, { text: 'fits' })
      expect(http!.body).toEqual(sent[0])
      expect(http!.text).toBe(raw[0]!)
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

  describe(`upstream API ${api}: a socket's chain at --max-history-items`, () => {
    const t = twinsOn({ AGENTGATE_MAX_HISTORY_ITEMS: '6' })

    test('a turn past the limit is refused; the socket goes on from an earlier response, as HTTP does', async () => {
      await t.open()
      const turns = [await t.same({ input: [user('one')] }, { text: 'a1' })]
      // 2, 4, 6, then 8 items of history: the fourth turn is the last the limit lets through
      for (const word of ['two', 'three', 'four'])
        turns.push(await t.same({ previous_response_id: turns.at(-1).id, input: [user(word)] }, { text: word }))
      t.create({ previous_response_id: turns.at(-1).id, input: [user('five')] })
      const refused = await t.nextTerminal()
      expect(refused.type).toBe('error')
      expect(refused.status).toBe(400)
      expect(refused.code).toBe('context_length_exceeded')
      await t.same({ previous_response_id: turns[2].id, input: [user('four, again')] }, { text: 'again' })
      await t.same({ previous_response_id: turns[1].id, input: [user('three, again')] }, { text: 'and again' })
      t.close()
    })
  })

  describe(`upstream API ${api}: a socket's unstored chain sends what a stateless request with the whole history sends`, () => {
    const t = twinsOn({ AGENTGATE_WS_FORCE_STORE: 'false' })

    test('store:false turns, diverging onto earlier responses of the socket', async () => {
      await t.open()
      /** response id → the whole history after that response, as the client would send it inline */
      const inline = new Map<string, unknown[]>()
      const turn = async (prev: string | null, input: unknown[], reply: TurnScript) => {
        const history = prev ? inline.get(prev)! : []
        const body = { store: false, instructions: INSTRUCTIONS, tools: TOOLS, input }
        const { response, sent, raw } = await t.onSocket({ ...body, ...(prev ? { previous_response_id: prev } : {}) }, reply)
        const http = await t.overHttpCalls({ ...body, input: [...history, ...input] }, reply)
        expect(http.map((c) => c.body)).toEqual(sent)
        expect(http.map((c) => c.text)).toEqual(raw)
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
