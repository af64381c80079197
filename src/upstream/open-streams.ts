// How many upstream event streams this process is reading now: the turn engine's (upstream/sse.ts, from the answer's
// headers until the reader is closed) and the pass-through's (client.ts withIdleTimeout, the same span). The upstream
// client reads it when a stream is asked for, to choose which HTTP client carries it (client.ts OURS_STREAMS_BELOW).
// One count for the process: what it stands for is how many streams the one serving thread relays, whichever client
// or route opened them.

let open = 0

export const openUpstreamStreams = {
  get count(): number {
    return open
  },
  /** A stream began to be read; returns the function that counts it closed (once, however often it is called). */
  opened(): () => void {
    open++
    let counted = true
    return () => {
      if (counted) open--
      counted = false
    }
  },
}
