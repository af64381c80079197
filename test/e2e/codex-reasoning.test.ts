// The real Codex CLI over HTTP (store:false, the whole history resent every request, include:
// ["reasoning.encrypted_content"]) keeps the model's reasoning across the turns of a tool loop: the
// gateway hands out sealed reasoning, Codex sends it back, and the upstream's second call carries the
// reasoning that led to the tool call — never the gateway's token.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { runCodex } from '../support/codex'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const MARKER = 'sealed-reasoning-marker'
const REASONING = 'The user wants the marker echoed; I will run one shell command.'

function reasonThenAnswer(req: RecordedRequest): TurnScript {
  const input: any[] = req.body.input
  if (input.some((i) => i.type === 'function_call_output')) return { text: 'Done.' }
  return {
    reasoning: REASONING,
    functionCalls: [{ name: 'exec_command', arguments: JSON.stringify({ cmd: `echo ${MARKER}`, yield_time_ms: 2000 }) }],
  }
}

let up: FakeUpstream
let gw: TestGateway
beforeAll(async () => {
  up = startFakeUpstream({ defaultReply: reasonThenAnswer })
  gw = await startGateway({ upstream: up.url })
})
afterAll(async () => {
  await gw.stop()
  await up.stop()
})

test('Codex over HTTP keeps its reasoning across a tool call through sealed encrypted_content', async () => {
  const before = up.requestsTo('/v1/responses').length
  const logsBefore = gw.logs.length
  const run = await runCodex({ baseURL: gw.baseURL, model: 'test-model', prompt: 'Echo the marker', websockets: false, timeoutMs: 60_000 })
  try {
    expect(run.timedOut).toBe(false)
    expect(run.exitCode).toBe(0)
    const calls = up.requestsTo('/v1/responses').slice(before)
    expect(calls).toHaveLength(2)
    expect(calls[0]!.body.store).toBe(false)
    expect(calls[0]!.body.include).toContain('reasoning.encrypted_content')
    const second: any[] = calls[1]!.body.input
    const reasoning = second.filter((i) => i.type === 'reasoning')
    expect(reasoning).toHaveLength(1)
    expect(reasoning[0].content).toEqual([{ type: 'reasoning_text', text: REASONING }])
    // The reasoning sits right before the call it led to.
    expect(second.slice(-3).map((i) => i.type)).toEqual(['reasoning', 'function_call', 'function_call_output'])
    expect(JSON.stringify(calls[1]!.body)).not.toContain('ags1.')
    const logs = gw.logs.slice(logsBefore).map((l) => JSON.parse(l))
    expect(logs.filter((l) => l.level === 'error' || l.code === 'invalid_encrypted_content')).toEqual([])
  } finally {
    run.cleanup()
  }
}, 90_000)
