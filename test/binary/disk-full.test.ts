// The compiled binary with its database on a small tmpfs that fills up, then killed before there is space again: the
// stream it was serving ends with response.failed, new requests get 503 storage_unavailable, and after a restart
// with space the background response it had acknowledged is stored as failed — never lost, never left running.
// Needs root to mount the tmpfs; skipped with a message otherwise.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { copyBinaryAlone, ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../support/small-disk'
import { sseEvents } from '../support/sse'

const unavailable = smallDiskUnavailable()
if (unavailable) console.warn(`SKIP test/binary/disk-full.test.ts: ${unavailable}`)

let disk: SmallDisk
let up: FakeUpstream
let bin: { dir: string; path: string }
let db: string

describe.skipIf(unavailable !== null)('the compiled binary on a disk that fills up', () => {
  beforeAll(async () => {
    await ensureBinary()
    bin = copyBinaryAlone()
    mkdirSync(join(bin.dir, 'home'))
    disk = mountSmallDisk(8 << 20)
    db = join(disk.dir, 'agentgate.db')
    up = startFakeUpstream({ defaultReply: { text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), delayMs: 25 } })
  }, 300_000)
  afterAll(async () => {
    await up?.stop()
    disk?.unmount()
    if (bin) rmSync(bin.dir, { recursive: true, force: true })
  })

  const start = () =>
    startBinary(bin.path, ['--port', '0', '--upstream', up.url, '--db', db, '--log-level', 'warn'], {
      cwd: bin.dir,
      env: { PATH: process.env.PATH, HOME: join(bin.dir, 'home'), AGENTGATE_HOME: join(bin.dir, 'home', '.agentgate') },
    })
  const post = (gw: RunningBinary, body: unknown) =>
    fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

  test('a background stream ends with response.failed, new requests get 503, and after kill -9 and a restart the response is failed', async () => {
    let gw = await start()
    try {
      const stream = sseEvents(await post(gw, { model: 'test-model', input: 'background', background: true, stream: true }))
      await stream.until((e) => e.type === 'response.output_text.delta')
      const id = stream.events[0].response.id
      disk.fill({ sqlite: db })
      expect((await stream.toEnd()).at(-1)).toMatchObject({
        type: 'response.failed',
        response: { id, status: 'failed', error: { code: 'storage_unavailable' } },
      })
      const refused = await post(gw, { model: 'test-model', input: 'more' })
      expect(refused.status).toBe(503)
      expect(((await refused.json()) as any).error).toMatchObject({ type: 'server_error', code: 'storage_unavailable' })
      // The process dies before the disk has space again: its retries of the failed end die with it.
      expect(((await (await fetch(`${gw.url}/v1/responses/${id}`)).json()) as any).status).toBe('in_progress')
      process.kill(gw.pid, 'SIGKILL')
      await gw.stop()
      disk.free()
      gw = await start()
      const after = (await (await fetch(`${gw.url}/v1/responses/${id}`)).json()) as any
      expect(after).toMatchObject({ id, status: 'failed', error: { message: expect.any(String) } })
    } finally {
      await gw.stop()
    }
  }, 60_000)
})
