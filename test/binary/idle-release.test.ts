// The idle release in the shipped binary: after its start and after traffic, once --idle-release-ms pass with nothing
// in flight, the gateway collects its heap and drops its compiled code (src/idle-release.ts); what it serves
// afterwards — recompiled from the embedded bytecode — must be as it was. The watch's rules (when it runs, not while anything is in flight) are in test/idle-release.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { parseSse } from '../support/sse'
import { waitFor } from '../support/wait'
import { openSocket, socketTurn } from '../support/ws-client'

let upstream: FakeUpstream
let home: string
let gw: RunningBinary

beforeAll(async () => {
  upstream = startFakeUpstream({ models: [{ id: 'test-model', max_model_len: 32768 }] })
  const binary = (await ensureBinary()).path
  home = mkdtempSync(join(tmpdir(), 'agentgate-idle-'))
  gw = await startBinary(binary, ['--port', '0', '--upstream', upstream.url, '--log-level', 'debug', '--idle-release-ms', '200'], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTGATE_HOME: home },
    timeoutMs: 20_000,
  })
}, 300_000)

afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
  if (home) rmSync(home, { recursive: true, force: true })
})

const releaseLines = () =>
  gw
    .stderr()
    .split('\n')
    .filter((l) => l.includes('gave memory back after idle'))

/** One request of each kind the gateway serves, each checked for what it answered. */
async function everyKind(round: number) {
  const post = (path: string, body: unknown) =>
    fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  expect(((await (await fetch(`${gw.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id)).toContain('test-model')

  upstream.queue({ text: `json answer ${round}` })
  const json = (await (await post('/v1/responses', { model: 'test-model', input: 'hi' })).json()) as any
  expect(json.status).toBe('completed')
  expect(json.output[0].content[0].text).toBe(`json answer ${round}`)

  upstream.queue({ text: `streamed answer ${round}` })
  const events = parseSse(
    await (await post('/v1/responses', { model: 'test-model', input: 'hi', stream: true, previous_response_id: json.id })).text(),
  )
  const done = events.find((e) => e.type === 'response.completed')
  expect(done.response.output[0].content[0].text).toBe(`streamed answer ${round}`)
  expect(
    events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join(''),
  ).toBe(`streamed answer ${round}`)
  // the chain is read back from the store
  expect(upstream.requestsTo('/v1/responses').at(-1)!.body.input).toHaveLength(3)

  upstream.queue({ text: `chat answer ${round}` })
  const chat = (await (
    await post('/v1/chat/completions', { model: 'test-model', messages: [{ role: 'user', content: 'hi' }] })
  ).json()) as any
  expect(chat.choices[0].message.content).toBe(`chat answer ${round}`)

  upstream.queue({ text: `socket answer ${round}` })
  const frame = await socketTurn(gw.url, { input: 'hi' })
  expect(frame.type).toBe('response.completed')
  expect(frame.response.output[0].content[0].text).toBe(`socket answer ${round}`)
}

describe('the compiled binary, once idle', () => {
  test('gives back what its start left, then memory once after traffic, and serves every kind of request as before afterwards', async () => {
    // started and left alone: what the start left is given back, once, before any request
    await waitFor('the start release line', () => gw.stderr().includes('gave back what the start left'), 10_000)
    expect(releaseLines()).toHaveLength(0)
    // a socket open across the release, its session waiting for its next frame meanwhile
    const socket = await openSocket(gw.url)
    upstream.queue({ text: 'before the release' })
    socket.create({ input: 'hi' })
    expect((await socket.terminal(1)).response.output[0].content[0].text).toBe('before the release')
    await everyKind(1)
    await waitFor('the release line', () => releaseLines().length === 1, 10_000)
    expect(JSON.parse(releaseLines()[0])).toMatchObject({ level: 'debug', idle_ms: 200 })
    await everyKind(2)
    upstream.queue({ text: 'after the release' })
    socket.create({ input: 'hi again' })
    expect((await socket.terminal(2)).response.output[0].content[0].text).toBe('after the release')
    socket.close()
    // the minimum interval (30 s) holds the next release back
    await Bun.sleep(1_000)
    expect(releaseLines()).toHaveLength(1)
  }, 60_000)
})
