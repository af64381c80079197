// The real Codex CLI (`codex exec`) editing a file with its freeform apply_patch tool through the
// gateway, on both upstream adapters: the model (scripted, behind the fake upstream) sees apply_patch
// as a function with one string argument, Codex gets a custom_tool_call it can run, and the patch's
// result reaches the model as a function_call_output.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Wire } from '../support/cassette'
import { runCodex } from '../support/codex'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+hello from apply_patch\n*** End Patch\n'

/** The function calls in a request's history, whatever its wire format. */
function toolResults(req: RecordedRequest): { name: string; args: string }[] {
  if (Array.isArray(req.body.input))
    return req.body.input.filter((i: any) => i.type === 'function_call').map((i: any) => ({ name: i.name, args: i.arguments }))
  return req.body.messages.flatMap((m: any) =>
    (m.tool_calls ?? []).map((c: any) => ({ name: c.function.name, args: c.function.arguments })),
  )
}
const outputs = (req: RecordedRequest): string[] =>
  Array.isArray(req.body.input)
    ? req.body.input.filter((i: any) => i.type === 'function_call_output').map((i: any) => String(i.output))
    : req.body.messages.filter((m: any) => m.role === 'tool').map((m: any) => String(m.content))
const toolNames = (req: RecordedRequest): string[] => (req.body.tools ?? []).map((t: any) => t.name ?? t.function?.name)

/** The scripted model: apply the patch; once its output is back, answer. */
function patchThenAnswer(req: RecordedRequest): TurnScript {
  if (!toolNames(req).includes('apply_patch')) return { text: 'apply_patch is not declared' }
  if (outputs(req).length) return { text: 'The file is in place.' }
  return { functionCalls: [{ name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) }] }
}

const sides = {} as Record<Wire, { up: FakeUpstream; gw: TestGateway; path: string }>

beforeAll(async () => {
  for (const wire of ['responses', 'chat'] as const) {
    const up = startFakeUpstream({ defaultReply: patchThenAnswer })
    const gw = await startGateway({ upstream: up.url, env: { AGENTGATE_UPSTREAM_API: wire } })
    sides[wire] = { up, gw, path: wire === 'chat' ? '/v1/chat/completions' : '/v1/responses' }
  }
})
afterAll(async () => {
  for (const s of Object.values(sides)) {
    await s.gw.stop()
    await s.up.stop()
  }
})

describe.each([['responses'], ['chat']] as [Wire][])('Codex with --upstream-api %s', (wire) => {
  test('applies a patch through the freeform apply_patch tool and finishes the turn', async () => {
    const { up, gw, path } = sides[wire]
    const before = up.requestsTo(path).length
    // With an auth command Codex reads the gateway's catalog, whose apply_patch_tool_type is freeform.
    const run = await runCodex({ baseURL: gw.baseURL, model: 'test-model', prompt: 'Create hello.txt', timeoutMs: 60_000 })
    try {
      expect(run.timedOut).toBe(false)
      expect(run.exitCode).toBe(0)
      expect(existsSync(join(run.cwd, 'hello.txt'))).toBe(true)
      expect(readFileSync(join(run.cwd, 'hello.txt'), 'utf8')).toBe('hello from apply_patch\n')
      const [first, second] = up.requestsTo(path).slice(before)
      // The upstream only ever saw function tools; apply_patch among them.
      expect(first!.body.tools.every((t: any) => t.type === 'function')).toBe(true)
      expect(toolNames(first!)).toContain('apply_patch')
      // Codex's next request carried the custom call and its output; the upstream got them as a function call and its output.
      expect(toolResults(second!)).toEqual([{ name: 'apply_patch', args: JSON.stringify({ input: PATCH }) }])
      expect(outputs(second!).join('\n')).toContain('hello.txt')
      expect(run.stdout + run.stderr).toContain('The file is in place.')
    } finally {
      run.cleanup()
    }
  }, 90_000)
})
