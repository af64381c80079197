// The interface every upstream adapter implements: take a stateless Responses request (full input,
// store:false) and yield Responses-API stream events as the upstream produced them, in batches: the events of one
// read of the upstream's body travel together (one await per network chunk, not per event — a chunk of a fast
// upstream carries hundreds of deltas). The turn engine normalises them (ids, sequence numbers, final object);
// adapters only translate wire formats.

import type { UpstreamEvent } from '../schema/events'
import type { DeltaRun } from './delta-run'

/** The events an adapter yields: the union in schema/events.ts. */
export type { UpstreamEvent }

/** What an adapter's batches hold: events, and runs of text deltas kept as the upstream's bytes (delta-run.ts). */
export type UpstreamElement = UpstreamEvent | DeltaRun

export interface UpstreamAdapter {
  readonly name: string
  /**
   * Streams one model turn as batches of events in order (never an empty batch) — or, given `opts.step`, as what the
   * step makes of each batch. Throws ApiError (502/504/4xx) when the upstream refuses before streaming.
   */
  stream<O = UpstreamElement>(body: Record<string, unknown>, opts: StreamOptions<O>): AsyncIterable<O[]>
}

/**
 * What the caller does with each batch, run inside the adapter's own loop (sse.ts translatedBatches) instead of in a
 * generator of the caller's around it: a token-by-token upstream sends one event per chunk, and every generator layer
 * a chunk passes through costs it a hop of its own (~0.5 µs a token).
 */
export interface BatchStep<O, E = UpstreamElement> {
  /**
   * The batch as it is yielded; an empty result is not yielded. The batch array is the adapter's loop's, emptied and
   * filled again for the next chunk unless it is the result itself: nothing else may keep it, only its elements.
   */
  map(batch: E[]): O[]
  /** After each batch (yielded or not): a write to wait for before the next read, or undefined. */
  after(): Promise<unknown> | undefined
  /** Looked at after each batch: true ends the stream there (nothing more is read, nor given by the translation's end). */
  done(): boolean
}

export interface StreamOptions<O = UpstreamElement> {
  /** what each batch becomes (see BatchStep); without it the batches are yielded as they are (O is UpstreamElement) */
  step?: BatchStep<O>
  signal: AbortSignal
  headers?: Record<string, string>
  /**
   * Nobody watches this turn's events as they come (a JSON answer): the upstream is asked for its whole answer
   * (stream:false), as a client of the model server itself would ask. One JSON body instead of an event per token is
   * a fraction of the work (bench/turn-cpu.ts json), and the events are then made from it. An upstream that streams
   * anyway is read as a stream.
   */
  whole?: boolean
}

/** What bounds a generation stream: its line length, its total bytes (--max-stream-bytes). */
export interface StreamLimits {
  maxSseLineBytes: number
  maxStreamBytes: number
}
