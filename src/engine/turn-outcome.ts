// How a turn ends: the outcome of a turn the gateway itself stopped (cancel, shutdown, failing storage), a client
// gone, a stream cut short, the items that end a turn of tool rounds, and the terminal event of each end that has one.
import type { ItemBody as OutputItem } from '../schema/responses'
import type { StoreUnavailableError } from '../store/errors'
import type { UpstreamOutcome } from './normalise'
import { TurnStop } from './turn-types'

/** What storageFailed needs of a turn (RunningTurn): it records the failure its edge answers with. */
export interface StorageFailing {
  storageFailure(e: StoreUnavailableError): UpstreamOutcome['error']
}

/** The terminal event of each end that has one. */
export const TERMINAL_TYPE = { completed: 'response.completed', incomplete: 'response.incomplete', failed: 'response.failed' } as const

/** How a turn ended: as the upstream said, or cancelled. */
export type TurnOutcome = Omit<UpstreamOutcome, 'status'> & { status: UpstreamOutcome['status'] | 'cancelled' }

/** An interruption caused by the gateway itself (cancel, shutdown, failing storage) rather than by the client going away. */
export function stopped(signal: AbortSignal, outcome: UpstreamOutcome, turn: StorageFailing): TurnOutcome {
  const reason = signal.reason
  if (!(reason instanceof TurnStop) || outcome.incomplete_details?.reason !== 'client_disconnected') return outcome
  if (reason.kind === 'cancelled') return { status: 'cancelled', usage: null, incomplete_details: null, error: null }
  if (reason.kind === 'storage') return storageFailed(reason.error!, turn)
  return {
    status: 'failed',
    usage: null,
    incomplete_details: null,
    error: { code: 'server_error', message: 'The gateway shut down while this response was running.' },
  }
}

export function isStop(signal: AbortSignal, kind: TurnStop['kind']): boolean {
  return signal.reason instanceof TurnStop && signal.reason.kind === kind
}

export function storageFailed(e: StoreUnavailableError, turn: StorageFailing): UpstreamOutcome {
  return { status: 'failed', usage: null, incomplete_details: null, error: turn.storageFailure(e) }
}

export function interrupted(): UpstreamOutcome {
  return { status: 'incomplete', usage: null, incomplete_details: { reason: 'client_disconnected' }, error: null }
}

export function truncatedStream(): UpstreamOutcome {
  return {
    status: 'failed',
    usage: null,
    incomplete_details: null,
    error: { code: 'upstream_error', message: 'upstream error: the model server closed the stream before the response was complete' },
  }
}

/** Items that end a turn of tool rounds: a call the client runs, or one waiting for the client's approval. */
export function endsTurn(item: OutputItem): boolean {
  switch (item.type) {
    case 'function_call':
    case 'custom_tool_call':
    case 'local_shell_call':
    case 'shell_call':
    case 'mcp_approval_request':
      return true
    default:
      return false
  }
}
