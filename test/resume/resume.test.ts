// Stream resume: GET /v1/responses/{id}?stream=true(&starting_after=N) replays the stored events and follows the
// live ones while the turn runs — for background and for streamed foreground turns. Checked by sequence number:
// exactly the events after N, no gaps, no duplicates.
import { describe, expect, test } from 'bun:test'
import OpenAI from 'openai'
import { rejectionOf } from '../support/errors'
import type { FakeUpstream } from '../support/fake-upstream'
import { collect } from '../support/sse'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'

let up: FakeUpstream
let gw: TestGateway
let client: OpenAI
useGateway({ gateway: { logLevel: 'warn' } }, (s) => ({ up, gw, client } = s))

const SLOW = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'
type Ev = { type: string; sequence_number: number; [k: string]: any }

/** Complete SSE frames in `text` as events (a trailing partial frame is left out). */
function parseFrames(text: string): Ev[] {
  const frames = text.split('\n\n')
  frames.pop()
  return frames.map((f) => {
    const lines = f.split('\n')
    const event = lines.find((l) => l.startsWith('event: '))!.slice(7)
    const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6))
    expect(data.type).toBe(event)
    return data
  })
}

/** Opens a stream with fetch, reads until `enough(events)` says so, then drops the connection. */
async function readThenDisconnect(url: string, init: RequestInit, enough: (events: Ev[]) => boolean): Promise<Ev[]> {
  const ctl = new AbortController()
  const res = await fetch(url, { ...init, signal: ctl.signal })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
    if (enough(parseFrames(text))) break
  }
  ctl.abort()
  return parseFrames(text)
}

const seqs = (events: Ev[]) => events.map((e) => e.sequence_number)
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)
const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
})

describe('resuming a background stream after a disconnect', () => {
  test('starting_after=N gives exactly the events after N; together they are the whole turn, live until it ends', async () => {
    up.queue({ text: SLOW, delayMs: 40 })
    const before = await readThenDisconnect(
      `${gw.baseURL}/responses`,
      post({ model: 'test-model', input: 'resume me', background: true, stream: true }),
      (evs) => evs.filter((e) => e.type === 'response.output_text.delta').length >= 3,
    )
    const id = before[0].response.id
    const n = before.at(-1)!.sequence_number
    expect(seqs(before)).toEqual(range(0, n))
    // still running: the resumed stream replays what it missed, then follows live
    expect((await client.responses.retrieve(id)).status).toBe('in_progress')
    const after = await collect(await client.responses.retrieve(id, { stream: true, starting_after: n }))
    expect(after[0].sequence_number).toBe(n + 1)
    const all = [...before, ...after]
    expect(seqs(all)).toEqual(range(0, all.length - 1))
    expect(after.at(-1)!.type).toBe('response.completed')
    expect(after.at(-1)!.response.output_text ?? after.at(-1)!.response.output[0].content[0].text).toBe(SLOW)
    const deltas = all.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta)
    expect(deltas.join('')).toBe(SLOW)
    // the same events as stored
    expect(all).toEqual((await gw.store.listEvents(id, -1)) as Ev[])
  })

  test('without starting_after the whole log is replayed from sequence number 0', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'replay all', background: true })
    const events = await collect(await client.responses.retrieve(r.id, { stream: true }))
    expect(seqs(events)).toEqual(range(0, events.length - 1))
    expect(events.map((e) => e.type).slice(0, 3)).toEqual(['response.created', 'response.queued', 'response.in_progress'])
    expect(events.at(-1)!.type).toBe('response.completed')
  })

  test("the SDK's responses.stream({ response_id, starting_after }) resumes and yields the final response", async () => {
    up.queue({ text: SLOW, delayMs: 20 })
    const r = await client.responses.create({ model: 'test-model', input: 'sdk resume', background: true })
    const stream = client.responses.stream({ response_id: r.id, starting_after: 4 })
    const seen: number[] = []
    stream.on('event', (e: any) => seen.push(e.sequence_number))
    const final = await stream.finalResponse()
    expect(final.status).toBe('completed')
    expect(final.output_text).toBe(SLOW)
    expect(seen[0]).toBe(5)
    expect(seen).toEqual(range(5, seen.at(-1)!))
  })

  test('a resume after the end of the log is an empty stream; a negative starting_after is the whole log', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'short', background: true })
    const all = await collect(await client.responses.retrieve(r.id, { stream: true, starting_after: -1 }))
    expect(seqs(all)).toEqual(range(0, all.length - 1))
    expect(await collect(await client.responses.retrieve(r.id, { stream: true, starting_after: all.length - 1 }))).toEqual([])
    expect(await collect(await client.responses.retrieve(r.id, { stream: true, starting_after: 10_000 }))).toEqual([])
  })

  test('a cancelled background stream replays up to where it was stopped, and ends', async () => {
    up.queue({ text: SLOW, delayMs: 60 })
    const r = await client.responses.create({ model: 'test-model', input: 'to cancel', background: true })
    await Bun.sleep(250)
    await client.responses.cancel(r.id)
    const events = await collect(await client.responses.retrieve(r.id, { stream: true }))
    expect(seqs(events)).toEqual(range(0, events.length - 1))
    expect(events.map((e) => e.type)).not.toContain('response.completed')
  })
})

describe('resuming foreground streamed turns', () => {
  test('a finished streamed turn replays exactly the events after N', async () => {
    const stream = await client.responses.create({ model: 'test-model', input: 'foreground', stream: true })
    const original = await collect(stream)
    const id = original[0].response.id
    for (const n of [0, 3, original.length - 2]) {
      const resumed = await collect(await client.responses.retrieve(id, { stream: true, starting_after: n }))
      expect(resumed).toEqual(original.slice(n + 1))
    }
  })

  test('a finished turn replays byte for byte what its live stream sent, from every starting_after (inside a run of deltas too)', async () => {
    // reasoning, a text of many deltas and a tool call: the log keeps the deltas as runs and the finished parts, items
    // and Response as pointers to the stored output (src/store/event-runs.ts, event-sources.ts)
    up.queue({
      reasoning: 'Weighing it up: '.repeat(8),
      text: SLOW.repeat(3),
      functionCalls: [{ name: 'shell', arguments: JSON.stringify({ command: ['echo', SLOW] }) }],
      oneWrite: true,
    })
    const res = await fetch(`${gw.baseURL}/responses`, post({ model: 'test-model', input: 'byte for byte', stream: true }))
    const live = await res.text()
    const frames = live.split('\n\n').slice(0, -1)
    const events = parseFrames(live)
    expect(events.at(-1)!.type).toBe('response.completed')
    expect(events.filter((e) => e.type === 'response.output_text.delta').length).toBeGreaterThan(40)
    const id = events[0].response.id
    for (let n = -1; n < events.length; n++) {
      const replay = await fetch(`${gw.baseURL}/responses/${id}?stream=true&starting_after=${n}`)
      expect(replay.status).toBe(200)
      expect({ n, replay: await replay.text() }).toEqual({
        n,
        replay: frames
          .slice(n + 1)
          .map((f) => `${f}\n\n`)
          .join(''),
      })
    }
  })

  test('a long answer, streamed or not: GET gives the Response it ended with, output and output_text included', async () => {
    // the stored Response is the one sent, byte for byte, however long its output (a store that left copies of the
    // output items out of the row would have to fill them back in exactly)
    const text = SLOW.repeat(40)
    up.queue({ text, oneWrite: true })
    const live = parseFrames(
      await (await fetch(`${gw.baseURL}/responses`, post({ model: 'test-model', input: 'long', stream: true }))).text(),
    )
    const ended = live.at(-1)!
    expect(ended.type).toBe('response.completed')
    expect(ended.response.output_text).toBe(text)
    const got = await (await fetch(`${gw.baseURL}/responses/${ended.response.id}`)).json()
    expect(JSON.stringify(got)).toBe(JSON.stringify(ended.response))
    expect((await gw.store.getResponse('default', ended.response.id))?.response.output).toEqual(ended.response.output)

    up.queue({ text })
    const answer = (await (await fetch(`${gw.baseURL}/responses`, post({ model: 'test-model', input: 'long, whole' }))).json()) as Ev
    expect(answer.output_text).toBe(text)
    const again = await (await fetch(`${gw.baseURL}/responses/${answer.id}`)).json()
    expect(JSON.stringify(again)).toBe(JSON.stringify(answer))
  })

  test('a second client can follow a streamed turn while the first one is still reading it', async () => {
    up.queue({ text: SLOW, delayMs: 30 })
    const first = await client.responses.create({ model: 'test-model', input: 'watched', stream: true })
    const it = first[Symbol.asyncIterator]()
    const head: Ev[] = []
    while (head.length < 4) head.push((await it.next()).value)
    const id = head[0].response.id
    const followerDone = collect(await client.responses.retrieve(id, { stream: true, starting_after: 1 }))
    const rest: Ev[] = []
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value)
    const original = [...head, ...rest]
    expect(original.at(-1)!.type).toBe('response.completed')
    expect(await followerDone).toEqual(original.slice(2))
  })

  test('a response that was not streamed has no events: 400 with a clear message', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'plain json' })
    const err = await rejectionOf(client.responses.retrieve(r.id, { stream: true }))
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect(err.error).toMatchObject({ param: 'stream', code: 'stream_not_available' })
    expect(err.error.message).toContain('not streamed')
  })

  test('unknown ids and unstored streamed turns are 404', async () => {
    expect(await rejectionOf(client.responses.retrieve('resp_nope', { stream: true }))).toBeInstanceOf(OpenAI.NotFoundError)
    const events = await collect(await client.responses.create({ model: 'test-model', input: 'not kept', stream: true, store: false }))
    expect(await rejectionOf(client.responses.retrieve(events[0].response.id, { stream: true }))).toBeInstanceOf(OpenAI.NotFoundError)
  })

  test('a starting_after that is not an integer is a 400', async () => {
    const r = await client.responses.create({ model: 'test-model', input: 'x', background: true })
    const res = await fetch(`${gw.baseURL}/responses/${r.id}?stream=true&starting_after=abc`)
    expect(res.status).toBe(400)
    expect(((await res.json()) as any).error.param).toBe('starting_after')
  })
})
