// Text deltas are copied through as the upstream's bytes (src/upstream/delta-run.ts) when they have the one plain
// shape that allows it; every other delta is parsed as before. Whichever way a delta goes, the client gets the same
// bytes: each SSE frame is `event: <type>` and JSON.stringify of the event the gateway numbered, and a replay from the
// store is the same text. These tests write the upstream's stream byte by byte (escapes, non-ASCII, fields in other
// orders, chunk boundaries anywhere) and read the gateway's answer as text.
import { describe, expect, test } from 'bun:test'
import type { CassetteReply, FakeUpstream } from '../support/fake-upstream'
import type { TestGateway } from '../support/gateway'
import { useGateway } from '../support/suite'

const ITEM = 'msg_up_1'
const ITEM2 = 'msg_up_2'

type Ev = { type: string; sequence_number: number; [k: string]: any }

const frame = (e: object | string) => {
  const data = typeof e === 'string' ? e : JSON.stringify(e)
  const type = typeof e === 'string' ? JSON.parse(e).type : (e as { type: string }).type
  return `event: ${type}\ndata: ${data}\n\n`
}

const message = (id: string, text: string | null) => ({
  id,
  type: 'message',
  role: 'assistant',
  status: text === null ? 'in_progress' : 'completed',
  content: text === null ? [] : [{ type: 'output_text', text, annotations: [] }],
})

const upstreamResponse = (status: string, output: object[]) => ({
  id: 'resp_up',
  object: 'response',
  model: 'test-model',
  status,
  output,
  usage: status === 'completed' ? { input_tokens: 3, output_tokens: 5, total_tokens: 8 } : null,
})

/** A delta's data line as a vLLM-like server writes it (OpenAI's field order), the delta's JSON string as given. */
const deltaLine = (deltaJson: string, item = ITEM, index = 0) =>
  `{"type":"response.output_text.delta","item_id":"${item}","output_index":${index},"content_index":0,"delta":${deltaJson},"logprobs":[],"sequence_number":7}`

/** A whole upstream stream of one message item whose deltas are these data lines, and the item's text. */
function streamOf(lines: string[], text: string): string {
  return [
    frame({ type: 'response.created', response: upstreamResponse('in_progress', []) }),
    frame({ type: 'response.in_progress', response: upstreamResponse('in_progress', []) }),
    frame({ type: 'response.output_item.added', output_index: 0, item: message(ITEM, null) }),
    frame({
      type: 'response.content_part.added',
      item_id: ITEM,
      output_index: 0,
      content_index: 0,
      part: { type: 'output_text', text: '', annotations: [] },
    }),
    ...lines.map(frame),
    frame({ type: 'response.output_text.done', item_id: ITEM, output_index: 0, content_index: 0, text }),
    frame({
      type: 'response.content_part.done',
      item_id: ITEM,
      output_index: 0,
      content_index: 0,
      part: { type: 'output_text', text, annotations: [] },
    }),
    frame({ type: 'response.output_item.done', output_index: 0, item: message(ITEM, text) }),
    frame({ type: 'response.completed', response: upstreamResponse('completed', [message(ITEM, text)]) }),
  ].join('')
}

/** The frames of an SSE text, each checked to be `event: <type>` + JSON.stringify of its event, byte for byte. */
function framesOf(text: string): Ev[] {
  const frames = text.split('\n\n')
  expect(frames.pop()).toBe('')
  return frames.map((f) => {
    const [event, data, ...rest] = f.split('\n')
    const e = JSON.parse(data!.slice('data: '.length))
    expect([event, data, rest]).toEqual([`event: ${e.type}`, `data: ${JSON.stringify(e)}`, []])
    return e
  })
}

const deltasOf = (events: Ev[]) => events.filter((e) => e.type === 'response.output_text.delta')

/** Texts a delta can carry that JSON.stringify writes with its own escapes only (or none): taken as bytes. */
const PLAIN = ['Hello', ' "quoted"', ' back\\slash', ' new\nline\ttab\r', ' ctl\u0001\u001f\b\f', ' é', ' 😀', ' 中文', ' ', '']
/** The same kind of texts written with escapes JSON.stringify would not write: parsed, as before. */
const ESCAPED: [string, string][] = [
  ['"\\/slash"', '/slash'],
  ['"\\u00e9t\\u00e9"', 'été'],
  ['"\\ud83d\\ude00"', '😀'],
  ['"\\u001F upper-case hex"', '\u001f upper-case hex'],
  ['"\\u0041"', 'A'],
]

describe('text deltas copied through as bytes', () => {
  let up: FakeUpstream
  let gw: TestGateway
  useGateway({ gateway: { logLevel: 'warn' } }, (s) => ({ up, gw } = s))

  const post = async (body: object = {}) => {
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'hi', stream: true, ...body }),
    })
    expect(res.status).toBe(200)
    return res.text()
  }

  /** The gateway's answer to an upstream stream written as these pieces (a pause between them: separate chunks). */
  const answerTo = (pieces: (string | Uint8Array)[], body: object = {}) => {
    up.queue({ cassette: { status: 200, raw: pieces, delayMs: pieces.length > 1 ? 1 : 0 } })
    return post(body)
  }

  const lines = [...PLAIN.map((t) => deltaLine(JSON.stringify(t))), ...ESCAPED.map(([json]) => deltaLine(json))]
  const TEXT = [...PLAIN, ...ESCAPED.map(([, t]) => t)].join('')

  test('escapes, control characters and non-ASCII text reach the client as the JSON of each event, with the right text', async () => {
    const events = framesOf(await answerTo([streamOf(lines, TEXT)]))
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const deltas = deltasOf(events)
    expect(deltas.map((d) => d.delta)).toEqual([...PLAIN, ...ESCAPED.map(([, t]) => t)])
    const added = events.find((e) => e.type === 'response.output_item.added')!
    for (const d of deltas) {
      expect(Object.keys(d)).toEqual(['type', 'sequence_number', 'item_id', 'output_index', 'content_index', 'delta', 'logprobs'])
      expect([d.item_id, d.output_index, d.content_index, d.logprobs]).toEqual([added.item.id, 0, 0, []])
    }
    expect(events.at(-1)!.response.output[0].content[0].text).toBe(TEXT)
  })

  test.each([5, 13, 64])(
    'the upstream stream cut into pieces of %i bytes (through lines and UTF-8 characters) gives the same answer',
    async (size) => {
      const whole = new TextEncoder().encode(streamOf(lines, TEXT))
      const pieces: Uint8Array[] = []
      for (let i = 0; i < whole.length; i += size) pieces.push(whole.slice(i, i + size))
      const reference = framesOf(await answerTo([whole]))
      const events = framesOf(await answerTo(pieces))
      // the same events (but for the ids and times of the response and its item)
      const shape = (es: Ev[]) => es.map((e) => [e.type, e.sequence_number, e.output_index, e.content_index, e.delta])
      expect(shape(events)).toEqual(shape(reference))
      expect(deltasOf(events).map((d) => d.delta)).toEqual([...PLAIN, ...ESCAPED.map(([, t]) => t)])
      expect(events.at(-1)!.response.output[0].content[0].text).toBe(TEXT)
    },
  )

  test('a delta with a field more, or its fields in another order, is streamed as before: its fields in the upstream order', async () => {
    const odd = [
      `{"type":"response.output_text.delta","item_id":"${ITEM}","output_index":0,"content_index":0,"delta":"a","logprobs":[],"obfuscation":"x1"}`,
      `{"type":"response.output_text.delta","item_id":"${ITEM}","output_index":0,"delta":"b","content_index":0}`,
      `{"content_index":0,"delta":"c","item_id":"${ITEM}","logprobs":[],"output_index":0,"sequence_number":9,"type":"response.output_text.delta"}`,
      `{ "type": "response.output_text.delta", "item_id": "${ITEM}", "output_index": 0, "content_index": 0, "delta": "d", "logprobs": [ ] }`,
    ]
    const events = framesOf(await answerTo([streamOf(odd, 'abcd')]))
    const deltas = deltasOf(events)
    expect(deltas.map((d) => d.delta)).toEqual(['a', 'b', 'c', 'd'])
    const plain = ['type', 'sequence_number', 'item_id', 'output_index', 'content_index', 'delta', 'logprobs']
    expect(deltas.map((d) => Object.keys(d))).toEqual([
      [...plain, 'obfuscation'],
      ['type', 'sequence_number', 'item_id', 'output_index', 'delta', 'content_index', 'logprobs'],
      plain,
      plain,
    ])
    expect(deltas[0]!.obfuscation).toBe('x1')
  })

  test('deltas of two items taking turns, with other events between them, keep their order, items and numbers', async () => {
    const part = (id: string, index: number) =>
      frame({
        type: 'response.content_part.added',
        item_id: id,
        output_index: index,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      })
    const d = (t: string, id: string, index: number) => frame(deltaLine(JSON.stringify(t), id, index))
    const text = [
      frame({ type: 'response.created', response: upstreamResponse('in_progress', []) }),
      frame({ type: 'response.output_item.added', output_index: 0, item: message(ITEM, null) }),
      part(ITEM, 0),
      d('a1', ITEM, 0),
      d('a2', ITEM, 0),
      ': keep-alive\n\n',
      d('a3', ITEM, 0),
      frame({ type: 'response.output_item.added', output_index: 1, item: message(ITEM2, null) }),
      part(ITEM2, 1),
      d('b1', ITEM2, 1),
      d('a4', ITEM, 0),
      d('b2', ITEM2, 1),
      frame({
        type: 'response.output_text.annotation.added',
        item_id: ITEM2,
        output_index: 1,
        content_index: 0,
        annotation_index: 0,
        annotation: { type: 'url_citation', url: 'https://example.com', title: 't', start_index: 0, end_index: 1 },
      }),
      d('b3', ITEM2, 1),
      frame({ type: 'response.output_item.done', output_index: 0, item: message(ITEM, 'a1a2a3a4') }),
      frame({ type: 'response.output_item.done', output_index: 1, item: message(ITEM2, 'b1b2b3') }),
      frame({ type: 'response.completed', response: upstreamResponse('completed', [message(ITEM, 'a1a2a3a4'), message(ITEM2, 'b1b2b3')]) }),
    ].join('')
    const events = framesOf(await answerTo([text]))
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
    const [first, second] = events.filter((e) => e.type === 'response.output_item.added').map((e) => e.item.id)
    expect(deltasOf(events).map((e) => [e.delta, e.item_id, e.output_index])).toEqual([
      ['a1', first, 0],
      ['a2', first, 0],
      ['a3', first, 0],
      ['b1', second, 1],
      ['a4', first, 0],
      ['b2', second, 1],
      ['b3', second, 1],
    ])
    const annotation = events.find((e) => e.type === 'response.output_text.annotation.added')!
    expect(annotation.sequence_number).toBe(events.findIndex((e) => e.delta === 'b2') + 1)
    expect(events.at(-1)!.response.output.map((i: any) => i.content[0].text)).toEqual(['a1a2a3a4', 'b1b2b3'])
  })

  test('a stream cut off after a run of deltas keeps the item with the text that came', async () => {
    const text = streamOf(lines, TEXT)
    const cut = text.slice(0, text.indexOf('event: response.output_text.done'))
    const events = framesOf(await answerTo([cut]))
    const last = events.at(-1)!
    expect(last.type).toBe('response.failed')
    expect(last.response.output[0].status).toBe('incomplete')
    expect(last.response.output[0].content[0].text).toBe(TEXT)
    const stored: any = await (await fetch(`${gw.baseURL}/responses/${last.response.id}`)).json()
    expect(stored.output[0].content[0].text).toBe(TEXT)
  })

  test('two streams at once, one read in process: each gets its own bursts of deltas, byte for byte', async () => {
    // A batch holding a run of deltas is written as a buffer of its own (http/sse.ts BatchWriter). A write may keep the
    // buffer it is given rather than copy it: Bun's stream does for an in-process reader (here A's, text()). One buffer
    // reused for every batch (tried: it saves a ~200 KB allocation per burst) garbled A's answer.
    const burst = (tag: string, chunk: number) => Array.from({ length: 300 }, (_, i) => ` ${tag}${chunk}.${i}`)
    const upstream = (tag: string) => {
      const texts = [0, 1, 2, 3].map((c) => burst(tag, c))
      const all = texts.flat()
      const text = all.join('')
      const whole = streamOf(
        all.map((t) => deltaLine(JSON.stringify(t))),
        text,
      )
      // each burst of deltas a chunk of its own (the first with the head, the last with the tail)
      const pieces: string[] = []
      let at = 0
      for (let c = 1; c < 4; c++) {
        const end = whole.indexOf(`event: response.output_text.delta\ndata: ${deltaLine(JSON.stringify(texts[c]![0]!))}`, at)
        pieces.push(whole.slice(at, end))
        at = end
      }
      pieces.push(whole.slice(at))
      return { pieces, all, text }
    }
    const a = upstream('a')
    const b = upstream('b')
    up.queue({ cassette: { status: 200, raw: a.pieces, delayMs: 5 } })
    up.queue({ cassette: { status: 200, raw: b.pieces, delayMs: 5 } })
    const asked = up.requestsTo('/v1/responses').length
    // A in process (app.handle), its answer read as text by the runtime itself, which keeps what is written
    const resA = await gw.app.handle(
      new Request(`${gw.baseURL}/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'test-model', input: 'hi', stream: true }),
      }),
    )
    const textA = resA.text()
    // B starts once A's call has reached the upstream (the cassettes answer in order)
    for (let i = 0; i < 400 && up.requestsTo('/v1/responses').length === asked; i++) await Bun.sleep(5)
    expect(up.requestsTo('/v1/responses').length).toBe(asked + 1)
    const bEvents = framesOf(await post())
    const aEvents = framesOf(await textA)
    for (const [events, side] of [
      [aEvents, a],
      [bEvents, b],
    ] as const) {
      expect(deltasOf(events).map((d) => d.delta)).toEqual(side.all)
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
      expect(events.at(-1)!.response.output[0].content[0].text).toBe(side.text)
    }
  })

  test('a replay from inside a run of deltas (starting_after) is the same text as the stream from there on', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => (i % 5 === 0 ? ` é"${i}"\n😀` : ` w${i}`))
    const sent = await answerTo([
      streamOf(
        [...many.map((t) => deltaLine(JSON.stringify(t))), ...ESCAPED.map(([json]) => deltaLine(json))],
        many.join('') + ESCAPED.map(([, t]) => t).join(''),
      ),
    ])
    const events = framesOf(sent)
    const id = events[0]!.response.id
    expect(await gw.store.listEvents(id, -1)).toEqual(events as never[])
    const frames = sent.split('\n\n')
    for (const k of [5, 150, events.length - 8]) {
      const after = events[k]!.sequence_number
      expect(events[k]!.type).toBe('response.output_text.delta')
      const replay = await (await fetch(`${gw.baseURL}/responses/${id}?stream=true&starting_after=${after}`)).text()
      expect(replay).toBe(frames.slice(k + 1).join('\n\n'))
    }
  })
})

// A delta's whole SSE message (event line, data line, blank line) is a template for the next one (delta-run.ts
// DeltaMatcher.matchMessage): a message that is the same bytes but for its text and number is taken without framing its
// lines. Messages of other shapes between them, and the line limit, must read as the line-by-line framing reads them.
describe('text delta messages taken whole', () => {
  let up: FakeUpstream
  let gw: TestGateway
  const LIMIT = 1024
  useGateway({ gateway: { logLevel: 'warn', env: { AGENTGATE_MAX_SSE_LINE_BYTES: String(LIMIT) } } }, (s) => ({ up, gw } = s))

  /** The stream's events; `seen` is called with what the client has read so far, at each read. */
  const answerTo = async (pieces: NonNullable<CassetteReply['cassette']['raw']>, seen?: (text: string) => void) => {
    up.queue({ cassette: { status: 200, raw: pieces, delayMs: pieces.length > 1 ? 1 : 0 } })
    const res = await fetch(`${gw.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'test-model', input: 'hi', stream: true }),
    })
    expect(res.status).toBe(200)
    let text = ''
    const decoder = new TextDecoder()
    for await (const bytes of res.body!) {
      text += decoder.decode(bytes, { stream: true })
      seen?.(text)
    }
    return framesOf(text)
  }
  const TYPE = 'response.output_text.delta'
  const data = (t: string) => deltaLine(JSON.stringify(t))
  /** the same delta message as the ones around it, but for its line ends and lines */
  const shapes: [string, string][] = [
    ['n1', `event: ${TYPE}\ndata: ${data('n1')}\n\n`],
    ['n2', `event: ${TYPE}\ndata: ${data('n2')}\n\n`],
    ['no event line', `data: ${data('no event line')}\n\n`],
    ['n3', `event: ${TYPE}\ndata: ${data('n3')}\n\n`],
    ['crlf1', `event: ${TYPE}\r\ndata: ${data('crlf1')}\r\n\r\n`],
    ['crlf2', `event: ${TYPE}\r\ndata: ${data('crlf2')}\r\n\r\n`],
    ['cr1', `event: ${TYPE}\rdata: ${data('cr1')}\r\r`],
    ['cr2', `event: ${TYPE}\rdata: ${data('cr2')}\r\r`],
    ['n4', `event: ${TYPE}\ndata: ${data('n4')}\n\n`],
    ['id line', `id: 5\nevent: ${TYPE}\ndata: ${data('id line')}\n\n`],
    ['comment', `event: ${TYPE}\n: between\ndata: ${data('comment')}\n\n`],
    ['n5', `event: ${TYPE}\ndata: ${data('n5')}\n\n`],
    // (data lines are joined with a line feed: JSON whitespace between two fields)
    ['two data lines', `event: ${TYPE}\ndata: ${data('two data lines').replace(',"item_id"', '\ndata: ,"item_id"')}\n\n`],
    ['n6', `event: ${TYPE}\ndata: ${data('n6')}\n\n`],
    ['n7', `event: ${TYPE}\ndata: ${data('n7')}\n\n`],
  ]
  const TEXT = shapes.map(([t]) => t).join('')
  /** streamOf with these messages in place of its deltas' */
  const streamWith = (messages: string[]) => {
    const whole = streamOf(['{"type":"response.output_text.delta","item_id":"PLACE"}'], TEXT)
    const place = frame('{"type":"response.output_text.delta","item_id":"PLACE"}')
    return whole.replace(place, messages.join(''))
  }

  test.each([0, 7, 64])(
    'deltas whose messages change shape (event line or not, \\r\\n or \\r line ends, an id line, a comment) read in order, chunks of %i bytes',
    async (size) => {
      const whole = new TextEncoder().encode(streamWith(shapes.map(([, m]) => m)))
      const pieces: Uint8Array[] = []
      if (size === 0) pieces.push(whole)
      else for (let i = 0; i < whole.length; i += size) pieces.push(whole.slice(i, i + size))
      const events = await answerTo(pieces)
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i))
      const added = events.find((e) => e.type === 'response.output_item.added')!
      expect(deltasOf(events).map((d) => [d.delta, d.item_id])).toEqual(shapes.map(([t]) => [t, added.item.id]))
      expect(events.at(-1)!.type).toBe('response.completed')
      expect(events.at(-1)!.response.output[0].content[0].text).toBe(TEXT)
    },
  )

  test('a delta message longer than the line limit whose lines are within it is taken; a data line over it still ends the stream', async () => {
    // text lengths for a data line just within the limit (the message with its event line is over it), then just over
    const within = 't'.repeat(LIMIT - `data: ${data('')}`.length)
    const over = 'o'.repeat(within.length + 1)
    expect(`event: ${TYPE}\ndata: ${data(within)}\n\n`.length).toBeGreaterThan(LIMIT)
    // the short ones last before it: the message the long one is first compared with as a whole is theirs
    const messages = [within, within, 'a', 'b', over, within].map((t) => `event: ${TYPE}\ndata: ${data(t)}\n\n`)
    const text = streamWith(messages)
    // (a line over the limit fails the chunk it ends in: the deltas before it come in chunks of their own)
    const cut = text.indexOf(messages[4]!)
    for (const size of [0, 50]) {
      const whole = new TextEncoder().encode(text)
      const pieces: NonNullable<CassetteReply['cassette']['raw']> = []
      // the long line held back until the client has the four deltas before it: in one read with them, the whole chunk
      // would fail (a 1 ms pause did not keep them apart on a loaded machine)
      const before = Promise.withResolvers<void>()
      const seen = (t: string) => t.split(`event: ${TYPE}\n`).length > 4 && before.resolve()
      if (size === 0) pieces.push(text.slice(0, cut), () => before.promise, text.slice(cut))
      else for (let i = 0; i < whole.length; i += size) pieces.push(whole.slice(i, i + size))
      const events = await answerTo(pieces, seen)
      expect(deltasOf(events).map((d) => d.delta)).toEqual([within, within, 'a', 'b'])
      const last = events.at(-1)!
      expect([size, last.type, last.response.error.code]).toEqual([size, 'response.failed', 'upstream_line_too_long'])
      expect(last.response.output[0].content[0].text).toBe(`${within}${within}ab`)
    }
  })
})
