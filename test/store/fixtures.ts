// Builders for store records in tests and benchmarks: readable defaults, override what a test is about.
import type { Bodies, ItemBody, ResponseRecord, Store } from '../../src/store/types'

/** The bodies store tests keep: any JSON (the store must keep whatever it is given, byte for byte). */
export interface JsonBodies extends Bodies {
  request: Record<string, unknown>
  response: Record<string, unknown>
  event: { type: string; sequence_number: number; [key: string]: unknown }
}
/** A store as its tests drive it: the gateway's store, its bodies seen as plain JSON. */
export type JsonStore = Store<JsonBodies>

export function responseRecord(id: string, overrides: Partial<ResponseRecord<JsonBodies>> = {}): ResponseRecord<JsonBodies> {
  const status = overrides.status ?? 'completed'
  return {
    id,
    tenant: 'default',
    status,
    model: 'test-model',
    request: { model: 'test-model', input: `input of ${id}` },
    response: { id, object: 'response', status, output: [] },
    error: null,
    previousResponseId: null,
    conversationId: null,
    background: false,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    completedAt: status === 'completed' ? 1_700_000_000_500 : null,
    requestId: null,
    ...overrides,
  }
}

export function message(id: string, role: 'user' | 'assistant', text: string): ItemBody {
  return role === 'user'
    ? { id, type: 'message', role, content: [{ type: 'input_text', text }] }
    : { id, type: 'message', role, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] }
}

/**
 * Stores a chain of `turns` responses linked by previous_response_id, each with `inputsPerTurn` input items and
 * one output item. Returns the ids, oldest first.
 */
export async function storeChain(
  store: JsonStore,
  opts: { turns: number; inputsPerTurn?: number; outputsPerTurn?: number; tenant?: string; prefix?: string },
): Promise<string[]> {
  const { turns, inputsPerTurn = 1, outputsPerTurn = 1, tenant = 'default', prefix = 'resp' } = opts
  const ids: string[] = []
  for (let t = 0; t < turns; t++) {
    const id = `${prefix}_${t}`
    const inputs = Array.from({ length: inputsPerTurn }, (_, i) => message(`${id}_in_${i}`, 'user', `turn ${t} input ${i}`))
    const outputs = Array.from({ length: outputsPerTurn }, (_, i) => message(`${id}_out_${i}`, 'assistant', `turn ${t} output ${i}`))
    const previousResponseId = ids.at(-1) ?? null
    // request and response carry their items, as the real ones do (so loads parse realistic amounts of JSON)
    const request = { model: 'test-model', input: inputs, previous_response_id: previousResponseId, store: true }
    const createdAt = 1_700_000_000_000 + t
    await store.createResponse(responseRecord(id, { tenant, status: 'in_progress', request, previousResponseId, createdAt }), inputs)
    const response = {
      id,
      object: 'response',
      created_at: Math.floor(createdAt / 1000),
      status: 'completed',
      model: 'test-model',
      output: outputs,
      previous_response_id: previousResponseId,
      usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 },
    }
    await store.updateResponse(tenant, id, { status: 'completed', response, error: null, completedAt: createdAt }, outputs)
    ids.push(id)
  }
  return ids
}
