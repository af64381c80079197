// The pure pieces behind long sessions, table-driven: the sealer (tokens, tenants, purposes, rotation), which
// items truncation may drop together, and how a compaction item stands in for what came before it.
import { describe, expect, test } from 'bun:test'
import { randomBytes } from 'node:crypto'
import { expandCompactions, compactionItem, SUMMARY_PREFIX } from '../../src/engine/compaction'
import { droppableUnits } from '../../src/engine/truncation'
import { createSealer, sealingKey } from '../../src/sealing/sealer'
import type { ItemBody } from '../../src/store/types'

const key = () => sealingKey(randomBytes(32))

describe('sealer', () => {
  const k1 = key()
  const k2 = key()
  const sealer = createSealer([k1])

  test('a token names its key and opens for its tenant and purpose only', () => {
    const token = sealer.seal('alice', 'reasoning', { summary: [], content: [{ type: 'reasoning_text', text: 'x' }] })
    expect(token.split('.')).toHaveLength(3)
    expect(token.split('.')[1]).toBe(k1.id)
    expect(sealer.open('alice', 'reasoning', token)).toEqual({ summary: [], content: [{ type: 'reasoning_text', text: 'x' }] })
    expect(sealer.open('bob', 'reasoning', token)).toBeNull()
    expect(sealer.open('alice', 'compaction', token)).toBeNull()
  })

  test('two seals of the same content differ (random IV)', () => {
    expect(sealer.seal('t', 'compaction', { summary: 's' })).not.toBe(sealer.seal('t', 'compaction', { summary: 's' }))
  })

  test.each([
    ['empty', ''],
    ['another version', 'ags2.abc.def'],
    ['unknown key id', `ags1.${k2.id}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`],
    ['too short', `ags1.${k1.id}.AAAA`],
    ['extra part', `ags1.${k1.id}.AAAA.BBBB`],
  ])('%s does not open', (_, token) => {
    expect(sealer.open('t', 'reasoning', token)).toBeNull()
  })

  test('every bit of a token is authenticated', () => {
    const token = sealer.seal('t', 'reasoning', { summary: [], content: [] })
    const raw = Buffer.from(token.split('.')[2]!, 'base64url')
    for (let i = 0; i < raw.length; i++) {
      const flipped = Buffer.from(raw)
      flipped[i]! ^= 1
      expect(sealer.open('t', 'reasoning', `ags1.${k1.id}.${flipped.toString('base64url')}`)).toBeNull()
    }
  })

  test('rotation: the first key seals, every key opens', () => {
    const old = createSealer([k1]).seal('t', 'compaction', { summary: 'old' })
    const rotated = createSealer([k2, k1])
    expect(rotated.open('t', 'compaction', old)).toEqual({ summary: 'old' })
    expect(rotated.seal('t', 'compaction', { summary: 'new' }).split('.')[1]).toBe(k2.id)
    expect(createSealer([k2]).open('t', 'compaction', old)).toBeNull()
  })
})

const msg = (id: string, role: string): ItemBody => ({ id, type: 'message', role, content: [{ type: 'input_text', text: id }] })
const call = (id: string, callId: string): ItemBody => ({ id, type: 'function_call', call_id: callId, name: 'f', arguments: '{}' })
const out = (id: string, callId: string): ItemBody => ({ id, type: 'function_call_output', call_id: callId, output: 'o' })
const rs = (id: string): ItemBody => ({ id, type: 'reasoning', summary: [] })

describe('droppableUnits', () => {
  test.each([
    [
      'user messages with their answers',
      [msg('u1', 'user'), msg('a1', 'assistant'), msg('u2', 'user'), msg('a2', 'assistant'), msg('u3', 'user')],
      [
        ['u1', 'a1'],
        ['u2', 'a2'],
      ],
    ],
    ['instructions are never dropped', [msg('d', 'developer'), msg('s', 'system'), msg('u1', 'user'), msg('u2', 'user')], [['u1']]],
    [
      'a call with its output and the reasoning before it',
      [msg('u1', 'user'), rs('r1'), call('c1', 'x'), out('o1', 'x'), call('c2', 'y'), out('o2', 'y'), msg('u2', 'user')],
      [['u1'], ['r1', 'c1', 'o1'], ['c2', 'o2']],
    ],
    ['nothing from the latest user message on', [msg('u1', 'user'), call('c1', 'x'), out('o1', 'x')], []],
    ['no user message: nothing', [call('c1', 'x'), out('o1', 'x')], []],
  ] as [string, ItemBody[], string[][]][])('%s', (_, items, expected) => {
    expect(droppableUnits(items).map((u) => u.map((i) => items[i]!.id))).toEqual(expected)
  })
})

describe('expandCompactions', () => {
  const sealer = createSealer([key()])
  let n = 0
  const ids = ((p: string) => `${p}_${++n}`) as any
  const summaryText = (s: string) => `${SUMMARY_PREFIX}\n\n${s}`

  test('without a compaction item nothing changes', () => {
    const items = [msg('u1', 'user'), msg('a1', 'assistant')]
    expect(expandCompactions(items, sealer, 't', (i) => `input.${i}`)).toBe(items)
  })

  test('the last compaction item stands for everything before it but the user messages', () => {
    const first = compactionItem('first', sealer, 't', ids)
    const last = compactionItem('second', sealer, 't', ids)
    const items = [
      msg('u1', 'user'),
      msg('a1', 'assistant'),
      first,
      msg('u2', 'user'),
      call('c', 'x'),
      out('o', 'x'),
      last,
      msg('u3', 'user'),
    ]
    const expanded = expandCompactions(items, sealer, 't', (i) => `input.${i}`)
    expect(expanded.map((i) => (i.type === 'message' ? `${i.role}:${(i.content as any)[0].text}` : i.type))).toEqual([
      'user:u1',
      'user:u2',
      `user:${summaryText('second')}`,
      'user:u3',
    ])
  })

  test('a compaction item of another tenant is a 400 naming it', () => {
    const foreign = compactionItem('s', sealer, 'other', ids)
    expect(() => expandCompactions([msg('u', 'user'), foreign], sealer, 't', (i) => `input.${i}`)).toThrow(
      expect.objectContaining({ status: 400, errorCode: 'invalid_encrypted_content', param: 'input.1.encrypted_content' }),
    )
  })
})
