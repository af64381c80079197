// Cassettes: upstream exchanges kept as JSON under test/fixtures/cassettes/<wire>/<name>.json — the
// request the gateway sent and the upstream's answer frame by frame — replayed by the fake upstream.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CassetteReply, Reply } from './fake-upstream'

export type Wire = 'responses' | 'chat'

export interface CassetteExchange {
  /** what the client sent the gateway for this turn (first turn of a session; later turns are built from outputs) */
  client: Record<string, any>
  /** what the gateway sent the upstream */
  request: { method: 'POST'; path: string; body: Record<string, any> }
  response: CassetteReply['cassette']
}

export interface Cassette {
  name: string
  wire: Wire
  description: string
  /** where the wire format comes from */
  source: string
  exchanges: CassetteExchange[]
}

/** Every scenario exists in both wire formats. */
export const CASSETTES = ['plain-text', 'reasoning', 'function-call', 'parallel-function-calls', 'codex-session', 'length'] as const
export type CassetteName = (typeof CASSETTES)[number]

export const CASSETTE_DIR = join(import.meta.dir, '..', 'fixtures', 'cassettes')

export function loadCassette(wire: Wire, name: CassetteName): Cassette {
  return JSON.parse(readFileSync(join(CASSETTE_DIR, wire, `${name}.json`), 'utf8'))
}

/** The fake upstream's replies for a cassette, one per exchange, in order. */
export function cassetteReplies(c: Cassette, opts: { delayMs?: number } = {}): Reply[] {
  return c.exchanges.map((e) => ({ cassette: { ...e.response, ...(opts.delayMs ? { delayMs: opts.delayMs } : {}) } }))
}
