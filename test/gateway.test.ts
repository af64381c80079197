// createGateway is the one composition root: the binary (cli.ts serve, the Codex launcher) and the tests' gateway
// (test/support/gateway.ts) are built by it, so the tests run the production start-up — recovery included.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore } from '../src/store'
import { startFakeUpstream, type FakeUpstream } from './support/fake-upstream'
import { startGateway } from './support/gateway'

let up: FakeUpstream
let dir: string

beforeAll(() => {
  up = startFakeUpstream()
  dir = mkdtempSync(join(tmpdir(), 'agentgate-gateway-'))
})

afterAll(async () => {
  await up?.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('a turn a previous process left in_progress is failed by the time the test gateway answers (recovery at start)', async () => {
  // A finished turn, stored by a first gateway, turned into one whose process went away mid-turn.
  const first = await startGateway({ upstream: up.url, dir })
  up.queue({ text: 'template' })
  const created = (await (
    await fetch(`${first.url}/v1/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'x' }),
    })
  ).json()) as { id: string }
  const template = (await first.store.getResponse('default', created.id))!
  await first.stop({ keepDir: true })
  const store = await openStore(first.config)
  const id = 'resp_00000000000000000000000000interr'
  const now = Date.now()
  await store.createResponse(
    {
      ...template,
      id,
      status: 'in_progress',
      background: true,
      createdAt: now,
      updatedAt: now,
      completedAt: null,
      response: { ...template.response, id, status: 'in_progress', output: [], completed_at: null, usage: null },
    },
    [],
  )
  await store.close()

  const second = await startGateway({ upstream: up.url, dir })
  try {
    const res = await fetch(`${second.url}/v1/responses/${id}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string; error: { message: string } | null }
    expect(body.status).toBe('failed')
    expect(body.error?.message).toContain('stopped while this response was running')
  } finally {
    await second.stop({ keepDir: true })
  }
})

test('the CLI (cli.ts) and the tests build the gateway through createGateway; only gateway.ts wires createApp', () => {
  const read = (p: string) => readFileSync(join(import.meta.dir, '..', p), 'utf8')
  const wiring = (file: string) => ({
    file,
    createGateway: read(file).includes('createGateway('),
    createApp: read(file).includes('createApp('),
  })
  expect(['src/cli.ts', 'test/support/gateway.ts'].map(wiring)).toEqual([
    { file: 'src/cli.ts', createGateway: true, createApp: false },
    { file: 'test/support/gateway.ts', createGateway: true, createApp: false },
  ])
  expect(wiring('src/gateway.ts').createApp).toBe(true)
})
