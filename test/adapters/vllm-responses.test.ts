// vLLM's /v1/responses stream evened out to the OpenAI event contract (src/upstream/index.ts).
import { describe, expect, test } from 'bun:test'
import { ResponsesStreamFixer } from '../../src/upstream/vllm-events'

function fix(events: any[]): any[] {
  const f = new ResponsesStreamFixer()
  return [...events.flatMap((e) => f.accept(e)), ...f.end()]
}

const msgDone = {
  type: 'response.output_item.done',
  output_index: 0,
  item: { id: 'm', type: 'message', role: 'assistant', status: 'completed', content: [], summary: [] },
}

describe('ResponsesStreamFixer', () => {
  test('response.completed with status incomplete → response.incomplete, the cut-off item marked incomplete', () => {
    const out = fix([
      msgDone,
      { type: 'response.completed', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } },
    ])
    expect(out.map((e) => e.type)).toEqual(['response.output_item.done', 'response.incomplete'])
    expect(out[0].item.status).toBe('incomplete')
  })

  test('a completed run keeps its events and item statuses, in order', () => {
    const added = {
      type: 'response.output_item.added',
      output_index: 1,
      item: { id: 'f', type: 'function_call', name: 'f', arguments: '', status: 'in_progress' },
    }
    const out = fix([msgDone, added, { type: 'response.completed', response: { status: 'completed' } }])
    expect(out.map((e) => e.type)).toEqual(['response.output_item.done', 'response.output_item.added', 'response.completed'])
    expect(out[0].item).toEqual({ id: 'm', type: 'message', role: 'assistant', status: 'completed', content: [] })
  })

  test.each([
    ['response.reasoning_part.added', 'response.content_part.added'],
    ['response.reasoning_part.done', 'response.content_part.done'],
  ])('%s → %s', (from, to) => {
    expect(fix([{ type: from, item_id: 'r', output_index: 0, content_index: 0, part: { type: 'reasoning_text', text: '' } }])[0].type).toBe(
      to,
    )
  })

  test("stray keys go: a message's summary, a Harmony call's event fields, an announced item's nulls", () => {
    const out = fix([
      {
        type: 'response.output_item.added',
        output_index: 0,
        item: { id: 'r', type: 'reasoning', summary: [], content: null, encrypted_content: null, status: 'in_progress' },
      },
      {
        type: 'response.output_item.done',
        output_index: 1,
        item: {
          id: null,
          type: 'function_call',
          name: 'f',
          call_id: 'c',
          arguments: '{}',
          status: 'completed',
          item_id: 'fc_1',
          output_index: 1,
          sequence_number: -1,
        },
      },
    ])
    expect(out[0].item).toEqual({ id: 'r', type: 'reasoning', summary: [], status: 'in_progress' })
    expect(out[1].item).toEqual({ id: null, type: 'function_call', name: 'f', call_id: 'c', arguments: '{}', status: 'completed' })
  })
})
