// The turn engine's contract: what it is built from (EngineDeps), what a turn is asked with (TurnOptions), what
// it hands back (Turn), and why an edge may stop one (TurnStop). Re-exported by engine/turn.ts.
import type { DeltaRun } from '../upstream/delta-run'
import type { ApiError } from '../errors'
import type { IdSource } from '../ids'
import type { Logger } from '../log'
import type { GatewayMetrics } from '../metrics'
import type { ResponseEvent } from '../schema/events'
import type { ResponseObjectT } from '../schema/responses'
import type { Sealer } from '../sealing/sealer'
import type { StoreUnavailableError } from '../store/errors'
import type { ItemBody, Store } from '../store/types'
import type { SpanContext, Tracer } from '../tracing/span'
import type { UpstreamAdapter } from '../upstream/adapter'
import type { ContextWindows } from '../upstream/context-window'
import type { Tokenizer } from '../upstream/tokenize'
import type { McpServers } from '../mcp'
import type { WebSearchProvider } from '../websearch'
import type { Drain } from './drain'
import type { TurnLimits } from './limits'
import type { ToolBounds } from './tool-rounds'
import type { UnstoredEnds } from './unstored'

export interface EngineDeps {
  store: Store
  adapter: UpstreamAdapter
  clock: () => number
  ids: IdSource
  logger: Logger
  /** time to first token, upstream stream failures, tokens and turns by status, active turns (src/metrics) */
  metrics?: GatewayMetrics
  /** the process identity on leases of running turns (engine/lease.ts); PROCESS_OWNER unless a test says otherwise */
  owner?: string
  /** history length and stored response size (engine/limits.ts); none unless given */
  limits?: TurnLimits
  /** where the ends of turns the failing storage could not take are retried (engine/unstored.ts); one of its own unless given */
  unstored?: UnstoredEnds
  /** graceful shutdown (engine/drain.ts): refuses new turns once it began, and can stop the running ones */
  drain?: Drain
  /** spans for the turn, its upstream call, its store transactions and tool calls (src/tracing); none when unset */
  tracer?: Tracer | null
  /** set by createTurnEngine: the hosted tools already warned about */
  warnedTools?: Set<string>
  /** seals and opens encrypted_content (src/sealing) */
  sealer: Sealer
  /** the upstream's tokenizer, for input token counts (upstream/tokenize.ts); estimates without one */
  tokenizer?: Tokenizer
  /** the models' context windows, for truncation (upstream/context-window.ts); nothing is checked without */
  windows?: ContextWindows
  /** MCP servers (src/mcp): `{"type":"mcp"}` tools are run by the gateway; left out of the model request without */
  mcp?: McpServers
  /** the web search provider (src/websearch): web_search tools are run by the gateway; left out without one */
  webSearch?: WebSearchProvider | null
  /** rounds, per-call timeout and concurrency of gateway-run tool calls (engine/tool-rounds.ts); defaults without */
  toolBounds?: ToolBounds
}

/**
 * Why an edge aborted a turn's signal, when it is not a client going away: a cancel (POST …/cancel) ends the turn as
 * cancelled, a shutdown as failed. Any other abort reason ends it as incomplete (client_disconnected). The engine
 * itself stops a turn whose storage failed (kind 'storage'): it ends as failed with storage_unavailable.
 */
export class TurnStop {
  constructor(
    readonly kind: 'cancelled' | 'shutdown' | 'storage',
    readonly error?: StoreUnavailableError,
  ) {}
}

export interface TurnOptions {
  tenant: string
  /** store even when the request says store:false (WebSocket mode, so Codex chains resolve) */
  forceStore?: boolean
  /** keep the event log of this turn (streamed turns, for resume) */
  recordEvents?: boolean
  /**
   * The edge answers with the end of the turn only (a JSON answer, not in the background): nobody sees its events as
   * they come, so the upstream is asked for its whole answer at once (UpstreamAdapter's `whole`).
   */
  answerOnly?: boolean
  /** aborting stops the upstream call; the response is kept as incomplete */
  signal?: AbortSignal
  /** the edge request's id: sent upstream as x-request-id and kept with the stored response */
  requestId?: string
  /**
   * Chains kept outside the store (a WebSocket's unstored turns): the full item list of a response
   * by id. Consulted before the store when resolving previous_response_id.
   */
  localChains?: ReadonlyMap<string, ItemBody[]>
  /** the span (or remote context) the turn's span is a child of: the edge request's */
  parentSpan?: SpanContext | null
}

/** What a turn's batches hold: its events, and runs of text deltas standing for theirs. */
export type TurnEvent = ResponseEvent | DeltaRun

/**
 * Where a consumer of batches takes them as they are made (a streaming edge's writer, http/sse.ts), instead of having
 * them yielded: written from inside the upstream adapter's loop, the batches of a token-by-token stream skip a hop
 * through two async generators and the consumer's await each.
 */
export interface BatchSink<E> {
  /** Takes a batch (never empty); a promise when the writer pushes back: no more is read until it settles. */
  write(batch: E[]): Promise<unknown> | undefined
}

export interface Turn {
  readonly id: string
  readonly stored: boolean
  /** The Response as it stands: in_progress until batches() has finished, then final. */
  readonly response: ResponseObjectT
  /** Why the turn failed, when it failed: the error an HTTP edge answers with. */
  readonly failure: ApiError | null
  /** Created with background:true: starts queued, and is meant to run detached from any request (engine/background.ts). */
  readonly background: boolean
  /** The x-request-id of the request that created it (TurnOptions.requestId), for log lines about it. */
  readonly requestId?: string | null
  /**
   * Runs the turn: its events in order, in batches (those one read of the upstream brought travel together; never an
   * empty batch). Single use. Stopping the iteration early ends the turn as incomplete. A run of text deltas comes as
   * one element (upstream/delta-run.ts): the SSE writer copies its bytes; `spelledOut` gives its events one by one.
   * Given a sink, the batches of the model's stream go to it instead (the others are yielded), in order with the
   * yielded ones: the sink is written only while the consumer waits for the next batch, after writing the last.
   */
  batches(sink?: BatchSink<TurnEvent>): AsyncGenerator<TurnEvent[]>
  /**
   * History, input and output of this turn, in order: what a later turn chained on it sees. Settled
   * (src/store/settled-items.ts): a chain kept in memory is read again by every later turn.
   */
  transcript(): ItemBody[]
}
