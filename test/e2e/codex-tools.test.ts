// The real Codex CLI (0.169, `codex exec`) doing a multi-turn tool session through the gateway, over
// HTTP + SSE and over WebSocket. The scripted model asks for a shell command; Codex runs it in a temp
// dir and sends the output back; the model answers. Over WebSocket every turn must land in the store,
// chained by previous_response_id, with the tool call and its output.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCodex } from '../support/codex'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const MARKER = 'hello-from-agentgate-tool'

/** The scripted model: first a shell call, then — once its output comes back — a final answer. */
function shellThenAnswer(req: RecordedRequest): TurnScript {
  const input: any[] = req.body.input
  const output = input.findLast((i) => i.type === 'function_call_output')
  if (output) return { text: `The command printed: ${String(output.output).includes(MARKER) ? MARKER : 'something else'}` }
  return {
    functionCalls: [
      { name: 'exec_command', arguments: JSON.stringify({ cmd: `echo ${MARKER} > out.txt && cat out.txt`, yield_time_ms: 2000 }) },
    ],
  }
}

let up: FakeUpstream
let gw: TestGateway

beforeAll(async () => {
  up = startFakeUpstream({ defaultReply: shellThenAnswer })
  gw = await startGateway({ upstream: up.url })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

for (const websockets of [false, true]) {
  describe(`Codex over ${websockets ? 'WebSocket' : 'HTTP + SSE'}`, () => {
    test('runs a shell tool call and finishes the turn with the model’s answer', async () => {
      const before = up.requestsTo('/v1/responses').length
      const logsBefore = gw.logs.length
      const run = await runCodex({
        baseURL: gw.baseURL,
        model: 'test-model',
        prompt: 'Write the marker to out.txt and show it',
        websockets,
        timeoutMs: 60_000,
      })
      try {
        expect(run.timedOut).toBe(false)
        expect(run.exitCode).toBe(0)
        // The tool really ran in Codex's working directory.
        expect(existsSync(join(run.cwd, 'out.txt'))).toBe(true)
        expect(readFileSync(join(run.cwd, 'out.txt'), 'utf8').trim()).toBe(MARKER)
        expect(run.stdout + run.stderr).toContain(`The command printed: ${MARKER}`)

        const calls = up.requestsTo('/v1/responses').slice(before)
        expect(calls).toHaveLength(2)
        // The second model call sees the whole story: the call and its output, after the user's prompt.
        const types = calls[1].body.input.map((i: any) => i.type)
        expect(types.slice(-2)).toEqual(['function_call', 'function_call_output'])
        expect(calls[1].body.input.at(-1).output).toContain(MARKER)

        const logs = gw.logs.slice(logsBefore).map((l) => JSON.parse(l))
        expect(logs.filter((l) => l.level === 'error')).toEqual([])
        if (websockets) {
          // One socket for the whole session: no reconnects.
          expect(logs.filter((l) => l.msg === 'websocket opened')).toHaveLength(1)
          expect(calls[0].headers.upgrade).toBeUndefined()
        }
      } finally {
        run.cleanup()
      }
    }, 90_000)
  })
}

describe('what the store holds after a Codex WebSocket session', () => {
  test('every turn, chained by previous_response_id, with the tool call and its output', async () => {
    const run = await runCodex({
      baseURL: gw.baseURL,
      model: 'test-model',
      prompt: 'Write the marker to out.txt and show it',
      websockets: true,
      timeoutMs: 60_000,
    })
    try {
      expect(run.exitCode).toBe(0)
      // Walk back from the newest stored response.
      const final = gw.logs
        .map((l) => JSON.parse(l))
        .filter((l) => l.msg === 'turn finished' && l.stored)
        .at(-1)
      expect(final).toBeDefined()
      const chain = await gw.store.loadChain('default', final.response_id)
      expect(chain).not.toBeNull()
      const responses = chain!.responses
      // prewarm (no output) → tool call turn → answer turn
      expect(responses.length).toBe(3)
      expect((await gw.store.getResponse('default', responses[0].id))!.response.output).toEqual([])
      expect(responses.map((r) => r.status)).toEqual(['completed', 'completed', 'completed'])
      for (let i = 1; i < responses.length; i++) expect(responses[i].previousResponseId).toBe(responses[i - 1].id)
      const items = chain!.items.map((i) => i.type)
      expect(items).toContain('function_call')
      expect(items).toContain('function_call_output')
      const call = chain!.items.find((i) => i.type === 'function_call')!
      const out = chain!.items.find((i) => i.type === 'function_call_output')!
      expect(out.call_id).toBe(call.call_id)
      expect(String(out.output)).toContain(MARKER)
    } finally {
      run.cleanup()
    }
  }, 90_000)
})
