// The gateway's database on a real, small filesystem (tmpfs) that fills up: new requests get a clear 503
// storage_unavailable, every open stream gets its terminal event, and the turns the full disk interrupted are stored
// as failed as soon as there is space again. SQLite has its file there; PostgreSQL a tablespace holding the test
// database (its WAL stays on the server's own disk, so the server itself keeps running and answers 53100).
// Needs root to mount the tmpfs; skipped with a message otherwise.
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'
import { openSocket } from '../support/ws-client'
import { waitFor } from '../support/wait'
import { postgresServer, withDatabase } from '../support/postgres'
import { mountSmallDisk, smallDiskUnavailable, type SmallDisk } from '../support/small-disk'
import { sseEvents } from '../support/sse'

const unavailable = smallDiskUnavailable()
if (unavailable) console.warn(`SKIP test/store/disk-full.test.ts: ${unavailable}`)
const pg = unavailable ? null : await postgresServer()
const pgSkip = pg && 'skip' in pg ? pg.skip : null
if (pgSkip) console.warn(`SKIP test/store/disk-full.test.ts on PostgreSQL: ${pgSkip}`)

/** A turn that streams for several seconds unless it is stopped: the disk fills while it runs. */
const LONG = { text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), delayMs: 25 }

let disk: SmallDisk
let up: FakeUpstream
let gw: TestGateway
/** fills the disk under the gateway's database */
let fill: () => void

const post = (path: string, body: unknown) =>
  fetch(`${gw.baseURL}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

async function storedStatus(id: string) {
  return (await gw.store.getResponse('default', id))?.status
}

/**
 * The stored row becomes failed with storage_unavailable once the disk has space again. Until then it is as the turn's
 * start left it: in_progress — or, for a JSON turn (stored whole at its end, engine/turn-start.ts), not there at all.
 */
async function expectFailedOnceFreed(id: string, until: 'in_progress' | 'absent' = 'in_progress') {
  expect(await storedStatus(id)).toBe(until === 'absent' ? undefined : until)
  disk.free()
  const rec = await waitFor(
    `${id} stored as failed`,
    async () => {
      const r = await gw.store.getResponse('default', id)
      return r?.status === 'failed' ? r : null
    },
    10_000,
  )
  expect(rec.error).toMatchObject({ code: 'storage_unavailable', message: expect.stringContaining('storage is full or failing') })
  expect(rec.response).toMatchObject({ status: 'failed', error: { code: 'storage_unavailable' } })
  return rec
}

function expectStorageFailed(e: any) {
  expect(e).toMatchObject({
    type: 'response.failed',
    response: { status: 'failed', error: { code: 'storage_unavailable', message: expect.stringContaining('storage is full or failing') } },
  })
}

/** The test database in a tablespace on the small disk: its tables and indexes live there. */
async function postgresOn(dir: string, adminUrl: string) {
  const name = `agentgate_full_${crypto.randomUUID().slice(0, 8)}`
  const location = join(dir, 'tablespace')
  mkdirSync(location)
  Bun.spawnSync(['chown', '-R', 'postgres:', dir]) // the server's OS user owns a tablespace's directory
  const admin = new SQL(adminUrl, { max: 1 })
  await admin.unsafe(`CREATE TABLESPACE ${name} LOCATION '${location}'`)
  await admin.unsafe(`CREATE DATABASE ${name} TABLESPACE ${name}`)
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await admin.unsafe(`DROP TABLESPACE IF EXISTS ${name}`)
      await admin.close()
    },
  }
}

describe.skipIf(unavailable !== null).each(['sqlite', 'postgres'] as const)('the database (%s) on a disk that fills up', (dialect) => {
  const skip = dialect === 'postgres' && pgSkip !== null
  let dropDatabase = async () => {}
  beforeAll(async () => {
    if (skip) return
    disk = mountSmallDisk(8 << 20)
    up = startFakeUpstream()
    let env: Record<string, string> = {}
    if (dialect === 'postgres') {
      const db = await postgresOn(disk.dir, (pg as { adminUrl: string }).adminUrl)
      env = { AGENTGATE_DATABASE_URL: db.url }
      dropDatabase = db.drop
    }
    // store: 'sqlite' keeps test/support/gateway.ts from making a database of its own; PostgreSQL's URL is in env.
    gw = await startGateway({ upstream: up.url, dir: disk.dir, logLevel: 'warn', store: 'sqlite', env })
    expect(gw.store.dialect).toBe(dialect)
    if (dialect === 'sqlite') expect(gw.config.db.startsWith(disk.dir)).toBe(true)
    fill = () => disk.fill(dialect === 'sqlite' ? { sqlite: gw.config.db } : undefined)
  })
  afterEach(() => {
    if (!skip) disk.free()
  })
  afterAll(async () => {
    if (skip) return
    await gw.stop()
    await up?.stop()
    await dropDatabase()
    disk?.unmount()
  })
  // Bounded waits inside; the time limit only stops a hang on a busy machine.
  const it = skip ? test.skip : test

  // First in the file: on PostgreSQL a table whose last page has room takes a row without growing, full disk or not.
  it('a new request while the disk is full is a 503 storage_unavailable in the error shape, over HTTP and WebSocket', async () => {
    fill()
    for (const [path, body] of [
      ['/responses', { model: 'test-model', input: 'hello' }],
      ['/responses', { model: 'test-model', input: 'hello', stream: true }],
      ['/responses', { model: 'test-model', input: 'hello', background: true }],
      ['/conversations', { items: [] }],
    ] as const) {
      const res = await post(path, body)
      expect({ path, body, status: res.status }).toEqual({ path, body, status: 503 })
      expect(await res.json()).toEqual({
        error: {
          message: expect.stringContaining("The gateway's storage is full or failing"),
          type: 'server_error',
          param: null,
          code: 'storage_unavailable',
        },
      })
    }
    const ws = await openSocket(gw.url)
    ws.create({ input: 'hello' })
    expect(await ws.next(() => true, 10_000, 'a frame')).toMatchObject({
      type: 'error',
      status: 503,
      error: { type: 'server_error', code: 'storage_unavailable' },
    })
    ws.close()
    // Reading still works on a full disk.
    expect((await fetch(`${gw.baseURL}/models`)).status).toBe(200)
  }, 20_000)

  it('a streamed turn running when the disk fills ends with response.failed, and is stored failed once there is space', async () => {
    up.queue(LONG)
    const stream = sseEvents(await post('/responses', { model: 'test-model', input: 'stream', stream: true }))
    await stream.until((e) => e.type === 'response.output_text.delta')
    fill()
    const events = await stream.toEnd()
    expectStorageFailed(events.at(-1))
    await expectFailedOnceFreed(events[0].response.id)
  }, 20_000)

  it('a background stream and a resume stream of it both end with response.failed; the acknowledged response ends failed', async () => {
    up.queue(LONG)
    const created = sseEvents(await post('/responses', { model: 'test-model', input: 'background', background: true, stream: true }))
    await created.until((e) => e.type === 'response.output_text.delta')
    const id = created.events[0].response.id
    const resumed = sseEvents(await fetch(`${gw.baseURL}/responses/${id}?stream=true`))
    await resumed.until((e) => e.type === 'response.output_text.delta')
    fill()
    expectStorageFailed((await created.toEnd()).at(-1))
    const resumedEvents = await resumed.toEnd()
    expectStorageFailed(resumedEvents.at(-1))
    // The resume stream is the whole log, once each, in order.
    expect(resumedEvents.map((e) => e.sequence_number)).toEqual(resumedEvents.map((_, i) => i))
    await expectFailedOnceFreed(id)
  }, 20_000)

  it('a WebSocket turn running when the disk fills ends with a response.failed frame', async () => {
    up.queue(LONG)
    const ws = await openSocket(gw.url)
    ws.create({ input: 'socket' })
    await ws.next((f) => f.type === 'response.output_text.delta', 10_000)
    fill()
    expectStorageFailed(await ws.terminal(1, 10_000))
    ws.close()
    await expectFailedOnceFreed(ws.frames[0].response.id)
  }, 20_000)

  it('a JSON turn that cannot be stored at its end is a 503 storage_unavailable, and is stored failed once there is space', async () => {
    // Several pages of text that does not compress: storing it needs new space, on either database.
    up.queue({ text: Array.from({ length: 2000 }, () => crypto.randomUUID().slice(0, 8)).join(' '), chunks: 4, delayMs: 100 })
    const calls = up.requestsTo('/v1/responses').length
    const answer = post('/responses', { model: 'test-model', input: 'json' })
    await waitFor('the upstream call', async () => up.requestsTo('/v1/responses').length > calls, 10_000)
    fill()
    const res = await answer
    expect(res.status).toBe(503)
    const body = (await res.json()) as any
    expect(body.error).toMatchObject({ type: 'server_error', code: 'storage_unavailable' })
    expect(body.error.message).toMatch(/\(response resp_[0-9a-z]+ is stored as failed once the storage takes writes again\)$/)
    const id = body.error.message.match(/resp_[0-9a-z]+/)?.[0]
    expect(id).toBeString()
    await expectFailedOnceFreed(id, 'absent')
  }, 20_000)
})
