// Crash safety of the compiled binary: 50 concurrent streamed turns, SIGKILL mid-way, restart on the
// same database. Every turn the gateway acknowledged is either completed with all its items or
// failed/incomplete with a reason; the database is intact; chains made before the crash still work.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { copyBinaryAlone, ensureBinary, startBinary, type RunningBinary } from '../support/binary'
import { startFakeUpstream, type FakeUpstream, type RecordedRequest, type TurnScript } from '../support/fake-upstream'

const TURNS = 50

/** "fast …" prompts finish at once; "slow …" ones stream for seconds. */
function byPrompt(req: RecordedRequest): TurnScript {
  const last = JSON.stringify(req.body.input.at(-1))
  if (last.includes('slow')) return { text: Array.from({ length: 200 }, (_, i) => `word${i}`).join(' '), delayMs: 30 }
  return { text: `answer to ${last.includes('chain') ? 'chain' : 'fast'}` }
}

let up: FakeUpstream
let dir: string
let binPath: string
let home: string

beforeAll(async () => {
  await ensureBinary()
  const copy = copyBinaryAlone()
  dir = copy.dir
  binPath = copy.path
  home = join(dir, 'home')
  mkdirSync(home)
  up = startFakeUpstream({ defaultReply: byPrompt })
}, 300_000)
afterAll(async () => {
  await up.stop()
  rmSync(dir, { recursive: true, force: true })
})

const start = () =>
  startBinary(binPath, ['--port', '0', '--upstream', up.url, '--log-level', 'warn'], {
    cwd: dir,
    env: { HOME: home, AGENTGATE_HOME: join(home, '.agentgate'), PATH: process.env.PATH },
  })

async function post(gw: RunningBinary, body: unknown) {
  return fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}

/** Reads an SSE response until the response id shows; keeps reading in the background. */
async function startStream(gw: RunningBinary, prompt: string): Promise<{ id: string; finished: Promise<string | null> }> {
  const res = await post(gw, { model: 'test-model', input: prompt, stream: true })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!/"id":"resp_[0-9a-f]+"/.test(text)) {
    const r = await reader.read()
    if (r.done) throw new Error(`stream ended before response.created: ${text}`)
    text += decoder.decode(r.value, { stream: true })
  }
  const id = text.match(/"id":"(resp_[0-9a-f]+)"/)![1]
  const finished = (async () => {
    try {
      for (;;) {
        const r = await reader.read()
        if (r.done) break
        text += decoder.decode(r.value, { stream: true })
      }
    } catch {}
    return text.match(/event: (response\.(completed|failed|incomplete))/)?.[1] ?? null
  })()
  return { id, finished }
}

describe('kill -9 in the middle of 50 streamed turns', () => {
  test('after a restart every turn is terminal with a reason, items intact, the database passes integrity_check, old chains continue', async () => {
    let gw = await start()
    // A chain made before the crash.
    const c1 = (await (await post(gw, { model: 'test-model', input: 'chain one' })).json()) as any
    const c2 = (await (await post(gw, { model: 'test-model', input: 'chain two', previous_response_id: c1.id })).json()) as any
    expect(c2.status).toBe('completed')

    const streams = await Promise.all(Array.from({ length: TURNS }, (_, i) => startStream(gw, i % 2 ? `slow ${i}` : `fast ${i}`)))
    // Let the fast half finish, then kill while the slow half is mid-stream.
    const fastEnds = await Promise.all(streams.filter((_, i) => i % 2 === 0).map((s) => s.finished))
    expect(fastEnds.every((e) => e === 'response.completed')).toBe(true)
    await Bun.sleep(300)
    process.kill(gw.pid, 'SIGKILL')
    await gw.stop(1000)

    gw = await start()
    try {
      let completed = 0
      let interrupted = 0
      for (const [i, s] of streams.entries()) {
        const r = (await (await fetch(`${gw.url}/v1/responses/${s.id}`)).json()) as any
        expect(r.id).toBe(s.id)
        if (r.status === 'completed') {
          completed++
          expect(r.output_text).toBe(i % 2 ? Array.from({ length: 200 }, (_, k) => `word${k}`).join(' ') : 'answer to fast')
          const items = (await (await fetch(`${gw.url}/v1/responses/${s.id}/input_items`)).json()) as any
          expect(items.data).toHaveLength(1)
        } else {
          interrupted++
          expect(['failed', 'incomplete']).toContain(r.status)
          expect(r.error?.message ?? r.incomplete_details?.reason).toBeTruthy()
        }
      }
      expect(completed).toBeGreaterThanOrEqual(TURNS / 2)
      expect(interrupted).toBeGreaterThan(0)
      expect(completed + interrupted).toBe(TURNS)

      // The chain from before the crash continues, with its full history.
      const before = up.requestsTo('/v1/responses').length
      const c3 = (await (await post(gw, { model: 'test-model', input: 'chain three', previous_response_id: c2.id })).json()) as any
      expect(c3.status).toBe('completed')
      const sent = up.requestsTo('/v1/responses')[before].body.input.map((x: any) => x.content[0].text)
      expect(sent).toEqual(['chain one', 'answer to chain', 'chain two', 'answer to chain', 'chain three'])
    } finally {
      await gw.stop()
    }
    const db = new Database(join(home, '.agentgate', 'agentgate.db'), { readonly: true })
    try {
      expect(db.query('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' })
    } finally {
      db.close()
    }
  }, 120_000)
})
