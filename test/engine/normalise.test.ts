// The event normaliser, table-driven: upstream events in, gateway events out.
import { describe, expect, test } from 'bun:test'
import { EventNormaliser, GrowingText, normaliseItem } from '../../src/engine/normalise'
import { sequentialIds } from '../../src/ids'
import { DELTA_RUN, type DeltaRun } from '../../src/upstream/delta-run'
import { vllmResponseEvents, type TurnScript } from '../support/fake-upstream'

/** Events as these tests read them: any field of any event (the tests check values, not types). */
type Loose = { type: string; [key: string]: any }

function run(events: any[]) {
  const n = new EventNormaliser(sequentialIds())
  const out: Loose[] = events.flatMap((e) => n.accept(e))
  return { n, out }
}

/** A run of one delta as the adapter hands it over (upstream/delta-run.ts): the upstream's item id and indexes. */
function runOfOne(itemId: string, text: string, part = 0): DeltaRun {
  const bytes = new TextEncoder().encode(text)
  return {
    type: DELTA_RUN,
    sequence_number: -1,
    item_id: itemId,
    output_index: 0,
    content_index: part,
    bytes,
    spans: [0, bytes.length],
    texts: null,
  }
}

describe('EventNormaliser', () => {
  test('absorbs the upstream lifecycle events and keeps the outcome', () => {
    const { n, out } = run(
      vllmResponseEvents({ model: 'm' }, { text: 'hi', usage: { input_tokens: 3, output_tokens: 1, cached_tokens: 2 } }),
    )
    expect(out.map((e) => e.type)).not.toContain('response.created')
    expect(out.map((e) => e.type)).not.toContain('response.completed')
    expect(n.outcome).toEqual({
      status: 'completed',
      usage: {
        input_tokens: 3,
        input_tokens_details: { cached_tokens: 2 },
        output_tokens: 1,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 4,
      },
      incomplete_details: null,
      error: null,
    })
  })

  test.each<[string, TurnScript, string[]]>([
    ['text', { text: 'a b' }, ['msg_000001']],
    ['reasoning then text', { reasoning: 'think', text: 'ok' }, ['rs_000001', 'msg_000002']],
    [
      'two parallel calls',
      {
        functionCalls: [
          { name: 'f', arguments: '{}' },
          { name: 'g', arguments: '{"x":1}' },
        ],
      },
      ['fc_000001', 'fc_000002'],
    ],
  ])('%s: gateway ids replace the upstream ones everywhere, in output order', (_name, script, ids) => {
    const { n, out } = run(vllmResponseEvents({}, script))
    expect(n.output().map((i) => i.id)).toEqual(ids)
    for (const e of out) {
      if ('item_id' in e) expect(ids).toContain(e.item_id as string)
      if ('item' in e) expect((e.item as any).id).toBe(ids[e.output_index as number])
      // call_id is the model's correlation id and stays; every item id is ours
      expect(JSON.stringify(e).replace(/"call_id":"[^"]*"/g, '')).not.toContain('vllm')
    }
  })

  test('sequence numbers are the gateway’s, contiguous, whatever the upstream sent', () => {
    const n = new EventNormaliser(sequentialIds())
    const first = n.event({ type: 'response.created', response: {} as any })
    const events = vllmResponseEvents({}, { text: 'x y z' }).map((e) => ({ ...e, sequence_number: 1000 + e.sequence_number }))
    const out = events.flatMap((e) => n.accept(e))
    expect([first, ...out].map((e) => e.sequence_number)).toEqual(Array.from({ length: out.length + 1 }, (_, i) => i))
  })

  test('output_text parts and deltas always carry annotations and logprobs', () => {
    const { out, n } = run([
      { type: 'response.output_item.added', output_index: 0, item: { id: 'u1', type: 'message', role: 'assistant', content: [] } },
      { type: 'response.content_part.added', item_id: 'u1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } },
      { type: 'response.output_text.delta', item_id: 'u1', output_index: 0, content_index: 0, delta: 'hi' },
      {
        type: 'response.output_item.done',
        output_index: 0,
        item: { id: 'u1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi' }] },
      },
    ])
    expect(out[1].part).toEqual({ type: 'output_text', text: '', annotations: [], logprobs: [] })
    expect(out[2].logprobs).toEqual([])
    expect((n.output()[0] as any).content[0]).toEqual({ type: 'output_text', text: 'hi', annotations: [], logprobs: [] })
  })

  test('an item cut off before output_item.done is rebuilt from its deltas and marked incomplete', () => {
    const events = vllmResponseEvents({}, { reasoning: 'let me think', functionCalls: [{ name: 'f', arguments: '{"a":1}' }] })
    // stop right after the first argument delta
    const cut = events.findIndex((e) => e.type === 'response.function_call_arguments.delta') + 1
    const { n } = run(events.slice(0, cut))
    const [reasoning, call] = n.output()
    expect(reasoning).toMatchObject({ type: 'reasoning', status: 'completed', content: [{ type: 'reasoning_text', text: 'let me think' }] })
    expect(call).toMatchObject({ type: 'function_call', status: 'incomplete', name: 'f' })
    expect((call as any).arguments.length).toBeGreaterThan(0)
    expect('{"a":1}'.startsWith((call as any).arguments)).toBe(true)
    expect(n.outcome).toBeNull()
  })

  test.each([1, 31, 32, 33, 64, 100])('a message cut off after %i text deltas is rebuilt with all of their text, in order', (count) => {
    const text = Array.from({ length: count }, (_, i) => `w${i} `).join('')
    const events = vllmResponseEvents({}, { text, chunks: count })
    const cut = events.findIndex((e) => e.type === 'response.output_text.done')
    const { n } = run(events.slice(0, cut))
    expect(n.output()[0]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text }] })
  })

  test.each([
    [
      'response.failed with an error',
      { type: 'response.failed', response: { error: { code: 'server_error', message: 'boom' } } },
      { code: 'server_error', message: 'upstream error: boom' },
    ],
    ['an error event', { type: 'error', code: 'overloaded', message: 'busy' }, { code: 'overloaded', message: 'upstream error: busy' }],
    [
      'an error event with nested error',
      { type: 'error', error: { message: 'nested' } },
      { code: 'upstream_error', message: 'upstream error: nested' },
    ],
  ])('%s → failed outcome', (_name, ev, error) => {
    const { n } = run([ev])
    expect(n.outcome).toMatchObject({ status: 'failed', error })
  })

  test('response.incomplete keeps the reason', () => {
    const { n } = run([
      {
        type: 'response.incomplete',
        response: { incomplete_details: { reason: 'content_filter' }, usage: { input_tokens: 1, output_tokens: 2 } },
      },
    ])
    expect(n.outcome).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' } })
  })

  test('items only listed in the final object still become output', () => {
    const { n } = run([
      {
        type: 'response.completed',
        response: { output: [{ id: 'x', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'only here' }] }] },
      },
    ])
    expect(n.output()).toEqual([
      {
        id: 'msg_000001',
        type: 'message',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'only here', annotations: [], logprobs: [] }],
      },
    ])
  })

  test('unknown events without an item pass through, renumbered', () => {
    const { out } = run([{ type: 'response.something_new', sequence_number: 77, detail: 1 }])
    expect(out).toEqual([{ type: 'response.something_new', sequence_number: 0, detail: 1 }])
  })

  test("runs of text deltas go to their part's text, whichever part the run before went to", () => {
    const n = new EventNormaliser(sequentialIds())
    const delta = (part: number, text: string) => runOfOne('u1', text, part)
    const plain = (part: number, text: string) => ({
      type: 'response.output_text.delta',
      item_id: 'u1',
      output_index: 0,
      content_index: part,
      delta: text,
    })
    const events = [
      {
        type: 'response.output_item.added',
        output_index: 0,
        item: { id: 'u1', type: 'message', role: 'assistant', status: 'in_progress', content: [] },
      },
      delta(0, 'a'),
      delta(0, 'b'),
      delta(1, 'x'),
      delta(0, 'c'),
      plain(0, 'd'),
      delta(0, 'e'),
      plain(1, 'y'),
      delta(1, 'z'),
    ]
    for (const e of events) n.accept(e as never)
    // cut off before its done: the item is rebuilt from each part's text
    expect(n.output().map((i) => (i.content as any).map((p: any) => p.text))).toEqual([['abcde', 'xyz']])
  })

  test('normaliseItem leaves non-message items alone', () => {
    const item = { id: 'fc_1', type: 'function_call', name: 'f', arguments: '{}', call_id: 'c' }
    expect(normaliseItem(item)).toBe(item)
  })
})

describe('EventNormaliser across model rounds (gateway-run tools)', () => {
  const round = (s: TurnScript) => vllmResponseEvents({ model: 'm' }, s)

  test('a second upstream stream continues the first: output indexes and sequence numbers go on, items are matched afresh', () => {
    const n = new EventNormaliser(sequentialIds())
    const first: Loose[] = round({ text: 'one' }).flatMap((e) => n.accept(e))
    expect(n.outcome?.status).toBe('completed')
    n.nextRound()
    expect(n.outcome).toBeNull()
    // The upstream numbers the second stream's items from 0 again (and the events from 0).
    const second: Loose[] = round({ text: 'two' }).flatMap((e) => n.accept(e))
    const all = [...first, ...second]
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_, i) => i))
    expect(second.filter((e) => 'output_index' in e).every((e) => e.output_index === 1)).toBe(true)
    expect(n.output().map((i) => [i.id, (i.content as any)[0].text])).toEqual([
      ['msg_000001', 'one'],
      ['msg_000002', 'two'],
    ])
  })

  test("runs of text deltas go to their item however they are matched: by the upstream's id, and afresh in the next round", () => {
    const n = new EventNormaliser(sequentialIds())
    const delta = (itemId: string, text: string) => runOfOne(itemId, text)
    const added = (id: string, index: number) => ({
      type: 'response.output_item.added',
      output_index: index,
      item: { id, type: 'message', role: 'assistant', status: 'in_progress', content: [] },
    })
    const first: Loose[] = [added('u1', 0), delta('u1', 'a'), delta('u1', 'b'), added('u2', 1), delta('u2', 'c'), delta('u1', 'd')].flatMap(
      (e) => n.accept(e as never),
    )
    const runs = first.filter((e) => e.type === DELTA_RUN)
    expect(runs.map((r) => [r.item_id, r.output_index, r.sequence_number])).toEqual([
      ['msg_000001', 0, 1],
      ['msg_000001', 0, 2],
      ['msg_000002', 1, 4],
      ['msg_000001', 0, 5],
    ])
    n.nextRound()
    // The next round reuses the id u1 without announcing it: not the first round's item (no item to place it on).
    const second: Loose[] = n.accept(delta('u1', 'e') as never)
    expect(second).toEqual([{ type: 'response.output_text.delta', sequence_number: 6, content_index: 0, delta: 'e', logprobs: [] }])
    expect(n.output().map((i) => (i.content as any)[0]?.text)).toEqual(['abd', 'c'])
  })

  test("a gateway-run call's done is held until the gateway finishes it; its progress events carry its id and index", () => {
    const n = new EventNormaliser(sequentialIds())
    const item = { id: 'u1', type: 'mcp_call', server_label: 's', name: 't', arguments: '{}', output: null, error: null }
    const out: Loose[] = [
      ...n.accept({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress' } }),
      ...n.accept({ type: 'response.output_item.done', output_index: 0, item: { ...item, status: 'in_progress' } }),
    ]
    expect(out.map((e) => e.type)).toEqual(['response.output_item.added'])
    const held = n.heldItems(0)
    expect(held.map((h) => [h.index, h.item.id, h.item.type])).toEqual([[0, 'mcp_000001', 'mcp_call']])
    const progress: Loose = n.itemEventAt(0, 'response.mcp_call.completed')
    const done: Loose = n.finishItemAt(0, { ...held[0]!.item, output: 'ok', status: 'completed' })
    expect(progress).toEqual({ type: 'response.mcp_call.completed', sequence_number: 1, item_id: 'mcp_000001', output_index: 0 })
    expect(done).toMatchObject({ type: 'response.output_item.done', sequence_number: 2, output_index: 0, item: { output: 'ok' } })
    expect(n.heldItems(0)).toEqual([])
  })

  test("the gateway's own items take the next index; the upstream's follow them", () => {
    const n = new EventNormaliser(sequentialIds())
    const list = { id: 'mcpl_1', type: 'mcp_list_tools', server_label: 's', tools: [], error: null }
    const { index, events } = n.openOwnItem(list)
    expect(index).toBe(0)
    expect((events[0] as Loose).item).toEqual(list)
    n.finishItemAt(0, { ...list, tools: [{ name: 't' }] })
    const out: Loose[] = round({ text: 'hi' }).flatMap((e) => n.accept(e))
    expect(out.find((e) => e.type === 'response.output_item.added')!.output_index).toBe(1)
    expect(n.output().map((i) => i.type)).toEqual(['mcp_list_tools', 'message'])
  })
})

describe('GrowingText', () => {
  test.each([0, 1, 31, 32, 33, 65, 1000])('%i pieces read back as their concatenation, at any point', (count) => {
    const t = new GrowingText()
    let expected = ''
    for (let i = 0; i < count; i++) {
      t.add(`${i},`)
      expected += `${i},`
      if (i % 7 === 0) expect(t.text()).toBe(expected)
    }
    expect(t.text()).toBe(expected)
  })
})
