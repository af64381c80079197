// How a finished response's Response object is stored without the answer in it. Its `output` is the response's
// output items, which the same write stores as item rows, and its `output_text` is their text: a 1,000-token answer
// went to the store three times (the item, the Response's output, its output_text) — and a streamed turn's row,
// inserted small at its start, grew by two copies of the answer at its end, in overflow pages SQLite writes whole.
// Stored here, such a Response keeps both fields as null and lists them under OUTPUT_KEY; a read fills them back in
// from the item rows (withOutput), in place, so the object reads back key for key as it was shown.
//
// Only a finished response (its status no longer changes, nor its items) with at least one output item, and only where
// the fields repeat the items exactly: a Response whose output is not the items (any other body kept by a store, a
// value that differs) is stored as it is, and so is every running turn's (recovery rewrites those in SQL, ./sql.ts
// failedEvents). A row stored before this, or stored whole, has no OUTPUT_KEY and reads as it is.

import { sameJson } from './event-sources'
import { outputText } from '../output-text'
import type { ItemBody } from './types'

/** The field of a stored Response listing the fields the read fills from its output items; no Response has it. */
export const OUTPUT_KEY = '_agentgate_output'

type Loose = Record<string, unknown>

/**
 * The Response to store along with its `output` items (in the same write): `output`, and `output_text` when it is
 * their text, null and listed under OUTPUT_KEY. `response` itself when there is nothing to leave out.
 */
export function withoutOutput<R extends object>(response: R, output: readonly ItemBody[]): R {
  const r = response as Loose
  if (output.length === 0 || !Array.isArray(r.output) || !sameJson(r.output, output)) return response
  // (a field set again in a spread keeps its place: the key order stays the Response's)
  if (typeof r.output_text === 'string' && r.output_text === outputText(output))
    return { ...r, output: null, output_text: null, [OUTPUT_KEY]: BOTH } as R
  return { ...r, output: null, [OUTPUT_KEY]: OUTPUT_ONLY } as R
}

const BOTH = ['output', 'output_text']
const OUTPUT_ONLY = ['output']

/** Whether a stored Response left out fields its output items fill (withOutput must be given them). */
export function leftOutOutput(stored: object): boolean {
  return OUTPUT_KEY in stored
}

/** The Response a stored one stands for, given its output items (in position order). */
export function withOutput<R extends object>(stored: R, output: ItemBody[]): R {
  const fields = (stored as Loose)[OUTPUT_KEY] as string[] | undefined
  if (fields === undefined) return stored
  const { [OUTPUT_KEY]: _, ...r } = stored as Loose
  r.output = output
  if (fields.includes('output_text')) r.output_text = outputText(output)
  return r as R
}
