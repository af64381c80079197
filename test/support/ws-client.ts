// A WebSocket client for tests of /v1/responses: opens (bounded), sends frames, keeps every frame it receives,
// waits (bounded) for the one a test wants or for a turn's terminal frame, and tells how the socket closed.

/** The frames that end a turn on the socket (a refused response.create ends with an `error` frame). */
export const TERMINAL_TYPES = ['response.completed', 'response.failed', 'response.incomplete', 'error']
export const isTerminal = (f: any) => TERMINAL_TYPES.includes(f?.type)

export type SocketClient = Awaited<ReturnType<typeof openSocket>>

/**
 * Opens a WebSocket on the gateway at `url` (its root, http://…) and resolves once it is open; rejects when the
 * upgrade fails or it does not open within `timeoutMs`.
 */
export async function openSocket(url: string, opts: { path?: string; headers?: Record<string, string>; timeoutMs?: number } = {}) {
  const { path = '/v1/responses', headers, timeoutMs = 5000 } = opts
  // Bun's WebSocket takes upgrade headers as a second argument the DOM typings do not know.
  const ws = headers ? new WebSocket(url.replace('http', 'ws') + path, { headers } as any) : new WebSocket(url.replace('http', 'ws') + path)
  const frames: any[] = []
  const texts: string[] = []
  const listeners = new Set<() => void>()
  let closedWith: { code: number; reason: string } | null = null
  ws.onmessage = (m) => {
    texts.push(String(m.data))
    frames.push(JSON.parse(String(m.data)))
    for (const l of [...listeners]) l()
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.onclose = (e) => {
      resolve((closedWith = { code: e.code, reason: e.reason }))
      for (const l of [...listeners]) l()
    }
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebSocket ${path} did not open within ${timeoutMs} ms`)), timeoutMs)
    ws.onopen = () => {
      clearTimeout(timer)
      resolve()
    }
    ws.onerror = () => {
      clearTimeout(timer)
      reject(new Error(`WebSocket ${path} failed to open`))
    }
  })
  const types = () => frames.map((f) => f.type).join(',')

  /** Resolves with what `found` returns once it is truthy (checked now and on every frame); bounded; fails if the socket closes first. */
  const when = <T>(found: () => T | undefined | false, what: string, ms: number) =>
    new Promise<T>((resolve, reject) => {
      const done = (err: Error | null, v?: T) => {
        clearTimeout(timer)
        listeners.delete(check)
        err ? reject(err) : resolve(v as T)
      }
      const check = () => {
        const v = found()
        if (v) return done(null, v)
        if (closedWith) done(new Error(`the socket closed (${closedWith.code}) before ${what}; got ${types()}`))
      }
      const timer = setTimeout(() => done(new Error(`no ${what} within ${ms} ms; got ${types()}`)), ms)
      listeners.add(check)
      check()
    })

  return {
    ws,
    /** every frame received so far, parsed, in order */
    frames,
    /** the same frames as the text they came as */
    texts,
    /** how the socket closed (resolves when it does) */
    closed,
    /** sends a frame: an object as JSON; a string or bytes as they are */
    send: (frame: unknown) => ws.send(typeof frame === 'string' || ArrayBuffer.isView(frame) ? (frame as string) : JSON.stringify(frame)),
    /** sends a response.create for test-model with `body` */
    create: (body: Record<string, unknown>) => ws.send(JSON.stringify({ type: 'response.create', model: 'test-model', ...body })),
    /** the first frame since the socket opened that matches `pred` (already received or still to come) */
    next: (pred: (f: any) => boolean, ms = 5000, what = 'matching frame') => when(() => frames.find(pred), what, ms),
    /** resolves once `cond` holds (checked now and at every frame), with what it returned */
    until: <T>(cond: () => T | undefined | false, what: string, ms = 5000) => when(cond, what, ms),
    /** the `nth` terminal frame since the socket opened (see TERMINAL_TYPES) */
    terminal: (nth = 1, ms = 5000) => when(() => frames.filter(isTerminal)[nth - 1], `terminal frame #${nth}`, ms),
    close: () => ws.close(),
  }
}

/** Runs one response.create on a fresh socket and returns its terminal frame; the socket is closed after. */
export async function socketTurn(url: string, body: Record<string, unknown>, opts: { headers?: Record<string, string>; ms?: number } = {}) {
  const s = await openSocket(url, { headers: opts.headers })
  try {
    s.create(body)
    return await s.terminal(1, opts.ms)
  } finally {
    s.close()
  }
}

/** How a WebSocket upgrade with these headers ends: it opens, or errors or closes first (bounded). */
export function upgradeOutcome(url: string, headers: Record<string, string>, ms = 5000): Promise<'open' | 'error' | 'closed'> {
  const ws = new WebSocket(url.replace('http', 'ws') + '/v1/responses', { headers } as any)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the upgrade neither opened nor failed within ${ms} ms`)), ms)
    const end = (outcome: 'open' | 'error' | 'closed') => {
      clearTimeout(timer)
      if (outcome === 'open') ws.close()
      resolve(outcome)
    }
    ws.onopen = () => end('open')
    ws.onerror = () => end('error')
    ws.onclose = () => end('closed')
  })
}
