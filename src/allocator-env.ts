// How long Bun's allocator (mimalloc, behind everything outside the JavaScript heap: fetch's and the server's buffers,
// typed arrays' bytes, SQLite) keeps memory it has freed before giving the pages back to the kernel. Bun's default is
// 100 ms. A streamed turn allocates and frees hundreds of KiB of buffers (the upstream's chunks, the frames written to
// the client), and under load most of it was given back (madvise) before the next turn asked for it again, which then
// faulted every page in anew (zeroed by the kernel): a 1,000-delta SSE turn took ~80–140 page faults, and the gateway
// spent about as much CPU in the kernel as in its own code. Kept 5 s, the freed pages are reused instead: ~5–40 faults
// a turn, and (bench/burst-breakdown.ts, 2 rounds on a busy 2-core box) the gateway's CPU per stream about halved, every
// thread's (main, Bun's HTTP client thread, the allocator's scavenger) lower.
//
// What it costs: up to 5 s of freed memory stays resident after a burst. The idle release (idle-release.ts) still
// gives it back 1 s after traffic ends: its full collection has mimalloc purge at once what is free by then, whatever
// the delay — so the store frees its caches before it (gateway.ts), or they stay resident for the delay. Like
// Bun's fetch cap (fetch-cap.ts), mimalloc reads the variable once when the process starts, so serve sets it by its
// re-execution, and only when the operator has not.

export const PURGE_DELAY_VARIABLE = 'MIMALLOC_PURGE_DELAY'

/** ms that serve's allocator keeps freed memory before giving it back, unless the operator set the variable. */
export const SERVE_PURGE_DELAY_MS = 5_000
