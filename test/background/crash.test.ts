// The compiled binary killed with SIGKILL in the middle of a background turn: after a restart on the same database
// the response is terminal (failed, with a clear error) — never in_progress forever — its event log ends, and its
// conversation is free again. The same for a turn killed while the gateway runs a tool call (a web search).
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startFakeSearxng } from '../support/fake-searxng'

let upstream: FakeUpstream
let binary: string
let home: string
let env: Record<string, string>
const running: RunningBinary[] = []

beforeAll(async () => {
  upstream = startFakeUpstream()
  binary = (await ensureBinary()).path
  home = mkdtempSync(join(tmpdir(), 'agentgate-crash-'))
  env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home }
}, 300_000)

afterAll(async () => {
  for (const b of running) await b.stop(1_000)
  await upstream?.stop()
  if (home) rmSync(home, { recursive: true, force: true })
})

async function start(extra: string[] = []): Promise<RunningBinary> {
  const b = await startBinary(
    binary,
    ['serve', '--port', '0', '--upstream', upstream.url, '--db', join(home, 'shared.db'), '--log-level', 'warn', ...extra],
    { cwd: home, env, timeoutMs: 20_000 },
  )
  running.push(b)
  return b
}

async function api(b: RunningBinary, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(`${b.url}/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  return { status: r.status, body: await r.json() }
}

test('a background turn cut off by SIGKILL is failed with a clear error after the restart', async () => {
  const first = await start()
  const conv = (await api(first, 'POST', '/conversations', {})).body
  upstream.queue({ text: 'a very slow answer that will never be finished because the gateway dies', delayMs: 300 })
  const created = await api(first, 'POST', '/responses', {
    model: 'test-model',
    input: 'long job',
    background: true,
    conversation: conv.id,
  })
  expect(created.status).toBe(200)
  expect(created.body.status).toBe('queued')
  const id = created.body.id

  // Running, with some output streamed, when the process is killed outright.
  const deadline = Date.now() + 10_000
  for (;;) {
    const r = (await api(first, 'GET', `/responses/${id}`)).body
    if (r.status === 'in_progress' && upstream.requestsTo('/v1/responses').length > 0) break
    if (Date.now() > deadline) throw new Error(`never in_progress: ${JSON.stringify(r)}`)
    await Bun.sleep(50)
  }
  await Bun.sleep(400) // a few events streamed and stored
  process.kill(first.pid, 'SIGKILL')
  await first.stop(1_000)
  await Bun.sleep(100)

  const second = await start()
  const after = await api(second, 'GET', `/responses/${id}`)
  expect(after.status).toBe(200)
  expect(after.body.status).toBe('failed')
  expect(after.body.error).toEqual({ code: 'server_error', message: 'The gateway stopped while this response was running.' })
  expect(after.body.background).toBe(true)

  // A resumed stream does not hang: it replays the log, which now ends with response.failed.
  const res = await fetch(`${second.url}/v1/responses/${id}?stream=true`, { signal: AbortSignal.timeout(10_000) })
  const text = await res.text()
  const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1])
  expect(types[0]).toBe('response.created')
  expect(types.at(-1)).toBe('response.failed')

  // Cancel of a response that already ended is a conflict; it stays failed.
  expect((await api(second, 'POST', `/responses/${id}/cancel`)).status).toBe(409)
  expect((await api(second, 'GET', `/responses/${id}`)).body.status).toBe('failed')

  // The conversation the dead turn held is free, and got nothing from it.
  expect((await api(second, 'GET', `/conversations/${conv.id}/items`)).body.data).toEqual([])
  const next = await api(second, 'POST', '/responses', { model: 'test-model', input: 'after the crash', conversation: conv.id })
  expect(next.status).toBe(200)
  expect(next.body.status).toBe('completed')
  expect(second.stderr()).toContain('marked responses left running by a previous process as failed')
}, 60_000)

test('a background turn killed during a web search the gateway runs is failed after the restart, its search shown', async () => {
  const searx = startFakeSearxng({ results: { fault: 'hang' } })
  try {
    const first = await start(['--web-search-url', searx.url])
    upstream.queue({ functionCalls: [{ name: 'web_search', arguments: '{"query":"never answered"}' }] })
    const created = await api(first, 'POST', '/responses', {
      model: 'test-model',
      input: 'search',
      tools: [{ type: 'web_search' }],
      background: true,
    })
    expect(created.status).toBe(200)
    const id = created.body.id
    const deadline = Date.now() + 10_000
    // Searching, and the stored progress snapshot shows it, when the process is killed outright.
    for (;;) {
      const r = (await api(first, 'GET', `/responses/${id}`)).body
      if (searx.searches.length > 0 && r.output?.length > 0) break
      if (Date.now() > deadline) throw new Error(`never searching: ${JSON.stringify(r)}`)
      await Bun.sleep(50)
    }
    process.kill(first.pid, 'SIGKILL')
    await first.stop(1_000)

    const second = await start(['--web-search-url', searx.url])
    const after = (await api(second, 'GET', `/responses/${id}`)).body
    expect(after.status).toBe('failed')
    expect(after.error.message).toBe('The gateway stopped while this response was running.')
    expect(after.output[0]).toMatchObject({ type: 'web_search_call', action: { query: 'never answered' } })
  } finally {
    searx.close()
  }
}, 60_000)
