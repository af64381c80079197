// --max-stream-bytes: the bound on the bytes one generation answer of the upstream (the model's stream) may carry;
// the turn fails like on any broken stream when it is passed, and the upstream connection is cancelled. SSE streams
// are counted as they are parsed (sse.ts); an answer that comes as one JSON body instead is read here.
import { ApiError } from '../errors'

/** 502 upstream_stream_too_large: what a generation answer over `maxBytes` fails with. */
export function streamTooLarge(maxBytes: number): ApiError {
  return new ApiError(
    502,
    `the upstream stream was longer than ${maxBytes} bytes (--max-stream-bytes); the turn was stopped there`,
    'upstream_error',
    'upstream_stream_too_large',
  )
}

/** 502 upstream_bad_response: a generation answer with no body (an event stream) or an empty one (a whole answer). */
export function emptyAnswer(): ApiError {
  return ApiError.badGateway('upstream answered with an empty body', 'upstream_bad_response')
}

/** A body read whole, up to `maxBytes`; null (the rest of it cancelled) when it is larger. */
export async function readCapped(res: Response, maxBytes: number): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array()
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let seen = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return Buffer.concat(chunks)
      seen += value.byteLength
      if (seen > maxBytes) return null
      chunks.push(value)
    }
  } finally {
    reader.cancel().catch(() => {})
  }
}

/**
 * A whole (non-SSE) answer body parsed as JSON, read up to `maxBytes`; null when it is not JSON. An answer without a
 * body (none, or empty) is a 502 upstream_bad_response.
 */
export async function readLimitedJson(res: Response, maxBytes: number): Promise<unknown> {
  let text: string
  // A body whose length is declared (and not compressed: the declared length would not bound what it unpacks to) is
  // checked against the bound up front and read natively in one go, without a stream reader and a copy per chunk —
  // nor a look at res.body, which makes Bun build a JS stream for it (1–3 µs of the serving thread per turn).
  const declared = res.headers.get('content-length')
  if (declared !== null && !res.headers.has('content-encoding')) {
    if (Number(declared) > maxBytes) {
      res.body?.cancel().catch(() => {})
      throw streamTooLarge(maxBytes)
    }
    text = await res.text()
  } else {
    const bytes = await readCapped(res, maxBytes)
    if (bytes === null) throw streamTooLarge(maxBytes)
    text = new TextDecoder().decode(bytes)
  }
  if (text === '') throw emptyAnswer()
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
