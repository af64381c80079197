// The HTTP/1.1 client the gateway calls a plain-http upstream with, held to Bun's fetch: every case runs against
// fetch (which defines the expected behaviour) and against each client in CLIENTS, over a scripted raw-TCP server
// (test/support/scripted-server.ts) that sends exactly the bytes a case needs — framing split anywhere, malformed
// heads, closes at chosen moments, a stream far larger than the client reads. Where a client is meant to differ from
// fetch, QUIRKS says so and the case checks each its own way.
import { afterEach, beforeEach, describe, expect, test } from 'bun:test'
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib'
import { fetchCapOf } from '../../src/fetch-cap'
import { createHttp1Fetch } from '../../src/upstream/http1/fetch'
import { type ReceivedRequest, type ScriptedConnection, type ScriptedServer, startScriptedServer } from '../support/scripted-server'

/** fetch's signature as src/upstream/client.ts calls it (Bun's `decompress` included), plus an optional close() of its pool */
type FetchLike = ((url: string, init?: RequestInit & { decompress?: boolean }) => Promise<Response>) & { close?: () => unknown }

/** Where a client is expected to behave other than Bun's fetch (fetch's own values are what it does, measured). */
interface Quirks {
  /** a POST sent on a kept-alive connection the server closes without answering is sent again on a fresh one */
  retriesPostOnStaleConnection: boolean
  /** a response head of 200 KiB (one long header) is accepted; false: rejected, the limit being ~128 KiB */
  acceptsHeadOf200KiB: boolean
  /** calls in flight at once at most (more wait for a slot), or null for no limit */
  maxInFlight: number | null
  /** an abort after the whole body arrived, before it is read, errors the read (fetch); false: the body reads whole */
  abortErrorsReceivedBody: boolean
}

/** Bun's cap on fetch calls in flight in this process (BUN_CONFIG_MAX_HTTP_REQUESTS, 256 unless set) */
const CAP = fetchCapOf(process.env).cap

const CLIENTS: [name: string, make: () => FetchLike, quirks: Quirks][] = [
  // fetch does not resend a POST (ECONNRESET), only GETs; its head limit lies between 1 and 8 MiB
  [
    'fetch',
    () => fetch,
    { retriesPostOnStaleConnection: false, acceptsHeadOf200KiB: true, maxInFlight: CAP, abortErrorsReceivedBody: true },
  ],
  // ours (src/upstream/http1): a POST resent after a stale close, a 128 KiB head, fetch's cap on calls in flight; a
  // call is over once its body is in hand (its abort listener gone): harmless, nobody reads a body after aborting
  [
    'http1',
    () => createHttp1Fetch(),
    { retriesPostOnStaleConnection: true, acceptsHeadOf200KiB: false, maxInFlight: CAP, abortErrorsReceivedBody: false },
  ],
]

/**
 * Cases a client is known to fail: they run as test.failing,
 * so the suite stays green while they fail and a fix shows up as a failure saying to take the case off this list.
 */
const KNOWN_FAILURES: Record<string, string[]> = {
  http1: [
    // fetch takes these; DecompressionStream refuses them ("inflate failed"). Only an upstream that compresses unasked
    // sends them: ours asks for no encoding
    'decompress: true decodes deflate without its zlib wrapper (raw)',
    'decompress: true decodes gzip followed by stray bytes',
  ],
}

const enc = new TextEncoder()
const dec = new TextDecoder()
const MiB = 1024 * 1024

/** `p`, or a failure naming what did not happen within `ms` (a bound, never an assertion on speed) */
function within<T>(p: Promise<T>, what: string | (() => string), ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

/** the error `p` rejects with; fails the test if it resolves */
async function rejection(p: Promise<unknown>, what: string): Promise<Error & { code?: unknown }> {
  try {
    await within(p, what)
  } catch (e) {
    if (e instanceof Error && e.message === `timed out waiting for ${what}`) throw e
    return e as Error & { code?: unknown }
  }
  throw new Error(`${what} resolved; expected it to reject`)
}

/** Bun.sleep for splitting writes into separate reads: the outcome never depends on it, only what a case covers */
const gap = () => Bun.sleep(2)

/** Polls `check` until it holds (bounded). */
async function until(what: string, check: () => boolean, ms = 5_000) {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(5)
  }
}

function head(status: string, headers: string[] = []): string {
  return `HTTP/1.1 ${status}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`
}

const OK = `${head('200 OK', ['Content-Length: 2'])}ok`

/** A server answering every request on every connection with `answer(request, connection)`'s bytes. */
function answering(answer: (r: ReceivedRequest, c: ScriptedConnection) => string | Uint8Array) {
  return async (c: ScriptedConnection) => {
    for (;;) {
      const r = await c.request()
      await c.write(answer(r, c))
    }
  }
}

/** A promise that settles when the test opens it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open = () => {}
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

/** A server answering one request with `parts`, a write each. */
function answerOnce(...parts: (string | Uint8Array)[]) {
  return async (c: ScriptedConnection) => {
    await c.request()
    for (const p of parts) await c.write(p)
  }
}

/** A server answering one request with `bytes`, then closing (FIN). */
function answerThenEnd(bytes: string) {
  return async (c: ScriptedConnection) => {
    await c.request()
    await c.write(bytes)
    c.end()
  }
}

/** A server answering one request with `bytes`, one byte a write, a millisecond apart. */
function byteAtATime(bytes: string) {
  return async (c: ScriptedConnection) => {
    await c.request()
    for (const ch of bytes) {
      await c.write(ch)
      await Bun.sleep(1)
    }
  }
}

/** Reads `body` whole, yielding to the timers after each MiB (calling `everyMiB` there): its length, its last 16 chars. */
async function readSlowly(body: ReadableStream<Uint8Array>, everyMiB = () => {}): Promise<{ got: number; tail: string }> {
  const reader = body.getReader()
  let got = 0
  let tail = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return { got, tail }
    got += value.length
    tail = (tail + dec.decode(value.subarray(-16))).slice(-16)
    if (got % MiB < value.length) {
      everyMiB()
      await Bun.sleep(1)
    }
  }
}

const header = (r: ReceivedRequest, name: string) => r.headers.filter(([n]) => n === name).map(([, v]) => v)

// A chunked answer using what the framing allows: upper-case hex, an extension, an empty-looking data line,
// a trailer after the last chunk.
const CHUNKED = `${head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked'])}5\r\nhello\r\nA;ext=1\r\n, chunked \r\n2\r\n\r\n\r\n0\r\nX-Trailer: t\r\n\r\n`
const CHUNKED_TEXT = 'hello, chunked \r\n'

/** where a split after byte `i` of CHUNKED falls, for the case's name */
function splitLabel(i: number): string {
  const show = (s: string) => JSON.stringify(s).slice(1, -1)
  return `${show(CHUNKED.slice(Math.max(0, i - 6), i))}|${show(CHUNKED.slice(i, i + 6))}`
}

for (const [name, make, quirks] of CLIENTS) {
  describe(name, () => {
    const known = new Set(KNOWN_FAILURES[name] ?? [])
    /** test(), or test.failing() for a case this client is known to fail */
    const it = (title: string, fn: () => Promise<void>, timeout?: number) => (known.has(title) ? test.failing : test)(title, fn, timeout)
    let call: FetchLike
    const servers: ScriptedServer[] = []
    const serve = (script: (c: ScriptedConnection) => unknown) => {
      const s = startScriptedServer(script)
      servers.push(s)
      return s
    }
    beforeEach(() => {
      call = make()
    })
    afterEach(async () => {
      await call.close?.()
      for (const s of servers.splice(0)) {
        s.stop()
        expect(s.errors).toEqual([])
      }
    })

    describe('response bodies', () => {
      it('a content-length body', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Content-Length: 11'])}hello world`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.status).toBe(200)
        expect(await within(r.text(), 'body')).toBe('hello world')
      })

      it('a 1 MiB content-length body of every byte value arrives intact', async () => {
        const body = new Uint8Array(MiB).map((_, i) => (i * 7 + (i >> 8)) & 0xff)
        const s = serve(answerOnce(head('200 OK', [`Content-Length: ${body.length}`]), body))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(new Uint8Array(await within(r.arrayBuffer(), 'body'))).toEqual(body)
      })

      it('a chunked body with an extension, upper-case hex and a trailer', async () => {
        const s = serve(answering(() => CHUNKED))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(await within(r.text(), 'body')).toBe(CHUNKED_TEXT)
      })

      for (let i = 1; i < CHUNKED.length; i++) {
        it(`a chunked answer split after byte ${i} (${splitLabel(i)})`, async () => {
          const s = serve(async (c) => {
            await c.request()
            await c.write(CHUNKED.slice(0, i))
            await gap()
            await c.write(CHUNKED.slice(i))
          })
          const r = await within(call(`${s.url}/x`), 'headers')
          expect(await within(r.text(), 'body')).toBe(CHUNKED_TEXT)
        })
      }

      for (const [framing, answer, text] of [
        ['content-length', `${head('200 OK', ['Content-Type: application/json', 'Content-Length: 11'])}{"a":"bcd"}`, '{"a":"bcd"}'],
        ['chunked', CHUNKED, CHUNKED_TEXT],
      ] as const) {
        it(`one kept connection, a ${framing} answer split after each of its bytes in turn`, async () => {
          const s = serve(async (c) => {
            for (;;) {
              const at = Number((await c.request()).target.slice(1))
              await c.write(answer.slice(0, at))
              await gap()
              await c.write(answer.slice(at))
            }
          })
          for (let i = 1; i < answer.length; i++) {
            expect(await within((await call(`${s.url}/${i}`)).text(), `the answer split after byte ${i}`)).toBe(text)
          }
          expect(s.connections.length).toBe(1)
        }, 20_000)
      }

      it('a chunked answer written one byte at a time', async () => {
        const s = serve(byteAtATime(CHUNKED))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(await within(r.text(), 'body')).toBe(CHUNKED_TEXT)
      })

      it('no length and no chunking: the body is read until the server closes', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write(`${head('200 OK', ['Content-Type: text/plain'])}hello `)
          await gap()
          await c.write('until close')
          c.end()
        })
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(await within(r.text(), 'body')).toBe('hello until close')
      })

      it('an HTTP/1.0 answer without a length is read until close', async () => {
        const s = serve(answerThenEnd('HTTP/1.0 200 OK\r\n\r\nhello 1.0'))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.status).toBe(200)
        expect(await within(r.text(), 'body')).toBe('hello 1.0')
      })

      it('a status line without a reason phrase', async () => {
        const s = serve(answering(() => 'HTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok'))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.status).toBe(200)
        expect(r.statusText).toBe('')
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      it('transfer-encoding chunked wins over a content-length sent with it', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Content-Length: 3', 'Transfer-Encoding: chunked'])}5\r\nhello\r\n0\r\n\r\n`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(await within(r.text(), 'body')).toBe('hello')
      })
    })

    describe('keep-alive', () => {
      it('two sequential requests reuse one connection', async () => {
        const s = serve(answering((r) => `${head('200 OK', ['Content-Length: 2'])}${r.target.slice(-2)}`))
        expect(await within((await call(`${s.url}/r1`)).text(), 'first')).toBe('r1')
        expect(await within((await call(`${s.url}/r2`)).text(), 'second')).toBe('r2')
        expect(s.connections.length).toBe(1)
      })

      it('an answer with connection: close is not reused, even if the server leaves the socket open', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Connection: close', 'Content-Length: 2'])}ok`))
        expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('ok')
        expect(await within((await call(`${s.url}/2`)).text(), 'second')).toBe('ok')
        expect(s.connections.length).toBe(2)
      })

      it('a 204 and a 304 with a content-length end at their head: the connection serves the next request', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write(head('204 No Content'))
          await c.request()
          await c.write(head('304 Not Modified', ['Content-Length: 50']))
          await c.request()
          await c.write(`${head('200 OK', ['Content-Length: 5'])}third`)
        })
        const a = await within(call(`${s.url}/1`), '204')
        expect(a.status).toBe(204)
        expect(await within(a.text(), '204 body')).toBe('')
        const b = await within(call(`${s.url}/2`), '304')
        expect(b.status).toBe(304)
        expect(await within(b.text(), '304 body')).toBe('')
        expect(await within((await call(`${s.url}/3`)).text(), 'third')).toBe('third')
        expect(s.connections.length).toBe(1)
      })

      it('a body left unread and cancelled does not leak into the next answer', async () => {
        const big = 'x'.repeat(256 * 1024)
        const s = serve(answering((r) => (r.target === '/big' ? `${head('200 OK', [`Content-Length: ${big.length}`])}${big}` : OK)))
        const first = await within(call(`${s.url}/big`), 'first')
        await first.body?.cancel()
        expect(await within((await call(`${s.url}/next`)).text(), 'second')).toBe('ok')
      })

      it('200 sequential calls reuse one connection, each with its own answer', async () => {
        const s = serve(answering((r) => `${head('200 OK', [`Content-Length: ${r.target.length}`])}${r.target}`))
        for (let i = 0; i < 200; i++) expect(await within((await call(`${s.url}/${i}`)).text(), `answer ${i}`)).toBe(`/${i}`)
        expect(s.connections.length).toBe(1)
      })

      it('empty bodies (content-length 0, a lone last chunk) leave the connection reusable', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write(head('200 OK', ['Content-Length: 0']))
          await c.request()
          await c.write(`${head('200 OK', ['Transfer-Encoding: chunked'])}0\r\n\r\n`)
          for (;;) {
            await c.request()
            await c.write(OK)
          }
        })
        expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('')
        expect(await within((await call(`${s.url}/2`)).text(), 'second')).toBe('')
        expect(await within((await call(`${s.url}/3`)).text(), 'third')).toBe('ok')
        expect(s.connections.length).toBe(1)
      })

      it('an HTTP/1.0 answer with a content-length is not reused (1.0 closes by default)', async () => {
        const s = serve(answering(() => 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok'))
        expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('ok')
        expect(await within((await call(`${s.url}/2`)).text(), 'second')).toBe('ok')
        expect(s.connections.length).toBe(2)
      })

      it('a reused connection closed after part of the answer → rejects; the request is not sent again', async () => {
        let requests = 0
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            requests++
            if (r.target === '/2') {
              await c.write(head('200 OK', ['Content-Length: 10']).slice(0, 12))
              return c.end()
            }
            await c.write(OK)
          }
        })
        expect(await within((await call(`${s.url}/1`, { method: 'POST', body: 'a' })).text(), 'first')).toBe('ok')
        expect(typeof (await rejection(call(`${s.url}/2`, { method: 'POST', body: 'b' }), 'second')).code).toBe('string')
        expect(requests).toBe(2)
      })

      it('a stale connection whose fresh retry also closes unanswered → rejects after one retry', async () => {
        const seen: string[] = []
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            seen.push(`${c.index}:${r.target}`)
            if (r.target === '/2') return c.end()
            await c.write(OK)
          }
        })
        expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('ok')
        expect((await rejection(call(`${s.url}/2`), 'second')).code).toBe('ECONNRESET')
        expect(seen).toEqual(['0:/1', '0:/2', '1:/2'])
      })

      it('after the server drops every kept connection (a restart), 20 calls at once all succeed', async () => {
        const s = serve(answering((r) => `${head('200 OK', [`Content-Length: ${r.target.length}`])}${r.target}`))
        const wave = (tag: string, init?: RequestInit) =>
          within(
            Promise.all(Array.from({ length: 20 }, async (_, i) => (await call(`${s.url}/${tag}${i}`, init)).text())),
            `wave ${tag}`,
            10_000,
          )
        await wave('a')
        const first = s.connections.slice()
        for (const c of first) c.reset()
        await within(Promise.all(first.map((c) => c.closed)), 'the server to drop its connections')
        expect(await wave('b')).toEqual(Array.from({ length: 20 }, (_, i) => `/b${i}`))
        if (quirks.retriesPostOnStaleConnection) {
          for (const c of s.connections.slice()) c.reset()
          const posted = await wave('c', { method: 'POST', body: '{}' })
          expect(posted).toEqual(Array.from({ length: 20 }, (_, i) => `/c${i}`))
        }
      }, 20_000)

      it('close() closes the kept connections', async () => {
        if (!call.close) return // fetch's pool is the process's
        const s = serve(answering(() => OK))
        await within((await call(`${s.url}/1`)).text(), 'the answer')
        await call.close()
        await within(s.connections[0]!.closed, 'the kept connection to close')
      })

      const firstAnswers: [framing: string, bytes: string][] = [
        ['content-length', OK],
        ['chunked', `${head('200 OK', ['Transfer-Encoding: chunked'])}2\r\nok\r\n0\r\n\r\n`],
      ]
      for (const [framing, first] of firstAnswers) {
        it(`bytes after a ${framing} body are not taken for the next answer`, async () => {
          const s = serve(async (c) => {
            if (c.index === 0) {
              await c.request()
              await c.write(`${first}${head('200 OK', ['Content-Length: 5'])}stale`)
            }
            for (;;) {
              await c.request()
              await c.write(`${head('200 OK', ['Content-Length: 5'])}fresh`)
            }
          })
          expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('ok')
          expect(await within((await call(`${s.url}/2`)).text(), 'second')).toBe('fresh')
        })
      }

      it("a finished call's signal aborted later leaves alone the connection now serving another call", async () => {
        const { opened: more, open: rest } = gate()
        const s = serve(async (c) => {
          await c.request()
          await c.write(OK)
          await c.request()
          await c.write(`${head('200 OK', ['Transfer-Encoding: chunked'])}3\r\none\r\n`)
          await more
          await c.write('3\r\ntwo\r\n0\r\n\r\n')
        })
        const ctl = new AbortController()
        expect(await within((await call(`${s.url}/1`, { signal: ctl.signal })).text(), 'first')).toBe('ok')
        const second = await within(call(`${s.url}/2`), 'second headers')
        const reader = second.body!.getReader()
        expect(dec.decode((await within(reader.read(), 'the first chunk')).value)).toBe('one')
        ctl.abort()
        rest()
        expect(dec.decode((await within(reader.read(), 'the second chunk')).value)).toBe('two')
        expect((await within(reader.read(), 'the end')).done).toBe(true)
        expect(s.connections.length).toBe(1)
      })

      for (const how of ['end', 'reset'] as const) {
        it(`the server closes an idle kept-alive connection (${how}): the next request opens a new one`, async () => {
          const s = serve(async (c) => {
            await c.request()
            await c.write(OK)
            if (c.index === 0) return how === 'end' ? c.end() : c.reset()
          })
          expect(await within((await call(`${s.url}/1`)).text(), 'first')).toBe('ok')
          await within(s.connections[0]!.closed, 'the server to close')
          expect(await within((await call(`${s.url}/2`)).text(), 'second')).toBe('ok')
          expect(s.connections.length).toBe(2)
        })

        for (const method of ['GET', 'POST'] as const) {
          const retried = method === 'GET' || quirks.retriesPostOnStaleConnection
          it(`a ${method} on a reused connection the server closes (${how}) without answering is ${retried ? 'retried on a fresh one' : 'rejected with ECONNRESET'}`, async () => {
            const seen: string[] = []
            const s = serve(async (c) => {
              for (;;) {
                const r = await c.request()
                seen.push(`${c.index}:${r.target}:${dec.decode(r.body)}`)
                if (c.index === 0 && r.target === '/2') return how === 'end' ? c.end() : c.reset()
                await c.write(OK)
              }
            })
            const init = method === 'POST' ? { method, body: 'payload' } : { method }
            expect(await within((await call(`${s.url}/1`, init)).text(), 'first')).toBe('ok')
            const second = call(`${s.url}/2`, init)
            if (retried) {
              expect(await within((await second).text(), 'second')).toBe('ok')
              expect(s.connections.length).toBe(2)
              const body = method === 'POST' ? 'payload' : ''
              expect(seen).toEqual([`0:/1:${body}`, `0:/2:${body}`, `1:/2:${body}`])
            } else {
              expect((await rejection(second, 'second')).code).toBe('ECONNRESET')
            }
          })
        }
      }
    })

    describe('concurrency', () => {
      it('50 requests at once, event streams and JSON mixed, each get their own body — twice over the pooled connections', async () => {
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            const id = r.target.slice(1)
            if (id.startsWith('sse')) {
              await c.write(head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked']))
              for (let k = 0; k < 5; k++) {
                const ev = `data: {"id":"${id}","k":${k}}\n\n`
                const bytes = enc.encode(ev).length
                // the chunk framing and the event in two writes, with other connections' writes between them
                await c.write(`${bytes.toString(16)}\r\n${ev.slice(0, 7)}`)
                await new Promise((resolve) => setImmediate(resolve))
                await c.write(`${ev.slice(7)}\r\n`)
              }
              await c.write('0\r\n\r\n')
            } else {
              const json = JSON.stringify({ id, pad: 'é'.repeat(Number(id.slice(4)) * 10) })
              await c.write(`${head('200 OK', ['Content-Type: application/json', `Content-Length: ${enc.encode(json).length}`])}${json}`)
            }
          }
        })
        for (let wave = 0; wave < 2; wave++) {
          const ids = Array.from({ length: 50 }, (_, i) => (i % 2 ? `sse-${wave}-${i}` : `json${i}-${wave}`))
          const texts = await within(
            Promise.all(ids.map(async (id) => (await call(`${s.url}/${id}`)).text())),
            `wave ${wave} of 50 answers`,
            15_000,
          )
          texts.forEach((t, i) => {
            const id = ids[i]!
            if (id.startsWith('sse')) {
              expect(t).toBe(Array.from({ length: 5 }, (_, k) => `data: {"id":"${id}","k":${k}}\n\n`).join(''))
            } else expect(JSON.parse(t).id).toBe(id)
          })
        }
      }, 20_000)

      it('10,000 chunks of every size, cut at random places into writes, arrive in order and whole', async () => {
        // a seeded generator: the same cuts every run
        let seed = 42
        const rand = (n: number) => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff
          return seed % n
        }
        const events = Array.from({ length: 10_000 }, (_, i) => `data: {"i":${i},"t":"${'é'.repeat(rand(40))}"}\n\n`)
        const framed = enc.encode(
          head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked']) +
            events.map((e) => `${enc.encode(e).length.toString(16)}\r\n${e}\r\n`).join('') +
            '0\r\n\r\n',
        )
        const s = serve(async (c) => {
          await c.request()
          for (let at = 0; at < framed.length; ) {
            const n = 1 + rand(64 * 1024)
            await c.write(framed.subarray(at, at + n))
            at += n
            if (rand(4) === 0) await gap()
          }
        })
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(await within(r.text(), 'the body', 15_000)).toBe(events.join(''))
      }, 20_000)

      it('a call waiting for a slot past the cap, aborted → rejects with the reason; the others complete', async () => {
        const cap = quirks.maxInFlight
        if (cap === null || cap > 1024) return
        let arrived = 0
        const { opened: all, open: release } = gate()
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            arrived++
            await all
            await c.write(`${head('200 OK', [`Content-Length: ${r.target.length}`])}${r.target}`)
          }
        })
        const held = Array.from({ length: cap }, async (_, i) => (await call(`${s.url}/${i}`)).text())
        await until('the calls to fill the cap', () => arrived === cap, 15_000)
        const ctl = new AbortController()
        const waiting = call(`${s.url}/over`, { signal: ctl.signal })
        const reason = new Error('gave up waiting')
        ctl.abort(reason)
        expect(await rejection(waiting, 'the waiting call')).toBe(reason)
        release()
        const texts = await within(Promise.all(held), () => `${cap} answers`, 15_000)
        expect(texts).toEqual(texts.map((_, i) => `/${i}`))
        expect(await within((await call(`${s.url}/after`)).text(), 'a call after them')).toBe('/after')
      }, 30_000)

      it(`300 calls at once: ${quirks.maxInFlight === null ? 'all' : `up to ${quirks.maxInFlight} of them`} in flight together, then the rest`, async () => {
        const calls = 300
        const together = Math.min(calls, quirks.maxInFlight ?? calls)
        let arrived = 0
        const { opened: all, open: release } = gate()
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            if (++arrived === together) release()
            // the first `together` answers wait until that many calls are in; later ones go at once
            if (arrived <= together) await all
            await c.write(`${head('200 OK', [`Content-Length: ${r.target.length}`])}${r.target}`)
          }
        })
        const texts = await within(
          Promise.all(Array.from({ length: calls }, async (_, i) => (await call(`${s.url}/${i}`)).text())),
          () => `${calls} answers (${arrived} calls arrived)`,
          20_000,
        )
        expect(texts).toEqual(texts.map((_, i) => `/${i}`))
      }, 30_000)
    })

    describe('interim and bodiless answers', () => {
      it('a 100 Continue before the answer is skipped', async () => {
        const s = serve(answering(() => `HTTP/1.1 100 Continue\r\n\r\n${OK}`))
        const r = await within(call(`${s.url}/x`, { method: 'POST', body: 'b' }), 'headers')
        expect(r.status).toBe(200)
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      it('a 100 and a 103 in a row, then the answer, all written a byte at a time', async () => {
        const bytes = `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n${OK}`
        const s = serve(byteAtATime(bytes))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.status).toBe(200)
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      it('a 100 Continue and then the server closes → rejects', async () => {
        const s = serve(answerThenEnd('HTTP/1.1 100 Continue\r\n\r\n'))
        expect(typeof (await rejection(call(`${s.url}/x`), 'the call')).code).toBe('string')
      })

      it('a 103 Early Hints with headers is skipped, its headers not merged', async () => {
        const s = serve(answering(() => `HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n${OK}`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.status).toBe(200)
        expect(r.headers.get('link')).toBeNull()
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      for (const status of [301, 302, 303, 307, 308]) {
        it(`a ${status} is returned as it is (redirect: manual)`, async () => {
          const s = serve(answering(() => `${head(`${status} Moved`, ['Location: /elsewhere', 'Content-Length: 5'])}moved`))
          const r = await within(call(`${s.url}/x`, { redirect: 'manual' }), 'headers')
          expect(r.status).toBe(status)
          expect(r.headers.get('location')).toBe('/elsewhere')
          expect(await within(r.text(), 'body')).toBe('moved')
          expect(s.connections.length).toBe(1)
        })
      }
    })

    describe('malformed answers and failed connections', () => {
      const malformed: [string, string][] = [
        ['not HTTP', 'SSH-2.0-OpenSSH_9.6\r\n\r\n'],
        ['binary garbage', '\x00\x01\x02\xff\xfe garbage\r\n\r\n'],
        ['a header line without a colon', `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nno colon here\r\n\r\nok`],
        ['a content-length that is not a number', `${head('200 OK', ['Content-Length: abc'])}abc`],
        ['a negative content-length', `${head('200 OK', ['Content-Length: -1'])}ok`],
        ['two different content-lengths', `${head('200 OK', ['Content-Length: 2', 'Content-Length: 4'])}okok`],
        ['a folded header line (obs-fold)', `${head('200 OK', ['X-A: one', ' two', 'Content-Length: 2'])}ok`],
        ['a space between a header name and its colon', `${head('200 OK', ['X-A : b', 'Content-Length: 2'])}ok`],
        ['an HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok'],
        ['a two-digit status', 'HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok'],
      ]
      for (const [what, bytes] of malformed) {
        it(`${what} → rejects with an Error with a string code`, async () => {
          const s = serve(answering(() => bytes))
          const e = await rejection(call(`${s.url}/x`), 'the call')
          expect(e).toBeInstanceOf(Error)
          expect(typeof e.code).toBe('string')
        })
      }

      it('a header block that never ends is rejected, not buffered without bound', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write('HTTP/1.1 200 OK\r\n')
          const line = `x-filler: ${'b'.repeat(64 * 1024)}\r\n`
          while (!c.isClosed && c.written < 64 * MiB) await c.write(line)
        })
        const e = await rejection(call(`${s.url}/x`), 'the call')
        expect(typeof e.code).toBe('string')
        expect(s.connections[0]!.written).toBeLessThan(64 * MiB)
      })

      it('a 100 KiB response head (one long header) is accepted', async () => {
        const s = serve(answering(() => `${head('200 OK', [`x-big: ${'a'.repeat(100 * 1024)}`, 'Content-Length: 2'])}ok`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.headers.get('x-big')?.length).toBe(100 * 1024)
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      for (const pieces of [1, 8]) {
        const how = pieces === 1 ? 'in one write' : `in ${pieces} writes`
        it(`a 200 KiB response head sent ${how} is ${quirks.acceptsHeadOf200KiB ? 'accepted' : 'rejected'}`, async () => {
          const bytes = `${head('200 OK', [`x-big: ${'a'.repeat(200 * 1024)}`, 'Content-Length: 2'])}ok`
          const s = serve(async (c) => {
            await c.request()
            const size = Math.ceil(bytes.length / pieces)
            for (let at = 0; at < bytes.length; at += size) {
              await c.write(bytes.slice(at, at + size))
              await gap()
            }
          })
          const r = call(`${s.url}/x`)
          if (quirks.acceptsHeadOf200KiB) expect(await within((await r).text(), 'body')).toBe('ok')
          else expect(typeof (await rejection(r, 'the call')).code).toBe('string')
        })
      }

      it('a bad chunk size → the body read rejects', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Transfer-Encoding: chunked'])}zz\r\nabc\r\n0\r\n\r\n`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(typeof (await rejection(r.text(), 'the body')).code).toBe('string')
      })

      it('a chunk size past 2^64 → the body read rejects', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Transfer-Encoding: chunked'])}FFFFFFFFFFFFFFFFFFFF\r\nabc`))
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(typeof (await rejection(r.text(), 'the body')).code).toBe('string')
      })

      for (const how of ['end', 'reset'] as const) {
        it(`the server closes (${how}) before any byte of the answer → rejects with ECONNRESET`, async () => {
          const s = serve(async (c) => {
            await c.request()
            if (how === 'end') c.end()
            else c.reset()
          })
          expect((await rejection(call(`${s.url}/x`), 'the call')).code).toBe('ECONNRESET')
        })
      }

      it('a host that does not resolve → rejects with a string code', async () => {
        const e = await rejection(call('http://agentgate-no-such-host.invalid/x'), 'the call')
        expect(typeof e.code).toBe('string')
      })

      it('connection refused → rejects with ECONNREFUSED', async () => {
        const s = serve(() => {})
        const url = s.url
        s.stop()
        expect((await rejection(call(`${url}/x`), 'the call')).code).toBe('ECONNREFUSED')
      })

      const cut: [string, string][] = [
        ['its content-length is reached', `${head('200 OK', ['Content-Length: 10'])}abc`],
        ['the last chunk', `${head('200 OK', ['Transfer-Encoding: chunked'])}3\r\nabc\r\n`],
        ['the end of a chunk', `${head('200 OK', ['Transfer-Encoding: chunked'])}8\r\nabc`],
        ['a content-length of 10^14 is reached', `${head('200 OK', ['Content-Length: 100000000000000'])}abc`],
        ['the end of a chunk of 2^48 - 1 bytes', `${head('200 OK', ['Transfer-Encoding: chunked'])}FFFFFFFFFFFF\r\nabc`],
      ]
      for (const [what, bytes] of cut) {
        it(`the server closes before ${what} → the body read rejects`, async () => {
          const s = serve(answerThenEnd(bytes))
          const r = await within(call(`${s.url}/x`), 'headers')
          const reader = r.body!.getReader()
          const e = await rejection(
            (async () => {
              for (;;) if ((await reader.read()).done) return
            })(),
            'the body',
          )
          expect(typeof e.code).toBe('string')
        })
      }
    })

    describe('abort', () => {
      it('a signal aborted before the call → rejects with its reason, an AbortError', async () => {
        const s = serve(answering(() => OK))
        const ctl = new AbortController()
        ctl.abort()
        const e = await rejection(call(`${s.url}/x`, { signal: ctl.signal }), 'the call')
        expect(e).toBe(ctl.signal.reason)
        expect(e.name).toBe('AbortError')
      })

      it('an abort while waiting for headers → rejects with the signal reason; the server sees the connection close', async () => {
        const s = serve(async (c) => {
          await c.request()
        })
        const ctl = new AbortController()
        const p = call(`${s.url}/x`, { method: 'POST', body: '{}', signal: ctl.signal })
        await until('the request to arrive', () => s.connections.length > 0)
        const reason = new Error('the client left')
        ctl.abort(reason)
        expect(await rejection(p, 'the call')).toBe(reason)
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      })

      it('an abort right after the call returns (while connecting) → rejects with the reason; the next call works', async () => {
        const s = serve(answering(() => OK))
        const ctl = new AbortController()
        const p = call(`${s.url}/x`, { method: 'POST', body: '{}', signal: ctl.signal })
        const reason = new Error('at once')
        ctl.abort(reason)
        expect(await rejection(p, 'the call')).toBe(reason)
        expect(await within((await call(`${s.url}/y`)).text(), 'the next call')).toBe('ok')
      })

      it(`an abort once the whole body has arrived, before it is read → ${quirks.abortErrorsReceivedBody ? 'its read rejects with AbortError' : 'it still reads whole'}`, async () => {
        const s = serve(answering(() => OK))
        const ctl = new AbortController()
        const r = await within(call(`${s.url}/x`, { signal: ctl.signal }), 'headers')
        // the answer is complete when the connection is free again: the next call reuses it
        expect(await within((await call(`${s.url}/y`)).text(), 'the next call')).toBe('ok')
        ctl.abort()
        if (quirks.abortErrorsReceivedBody) expect((await rejection(r.text(), 'the body')).name).toBe('AbortError')
        else expect(await within(r.text(), 'the body')).toBe('ok')
      })

      it('an abort mid-body errors the body stream; the server sees the connection close', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write(`${head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked'])}6\r\nfirst\n\r\n`)
        })
        const ctl = new AbortController()
        const r = await within(call(`${s.url}/x`, { signal: ctl.signal }), 'headers')
        const reader = r.body!.getReader()
        expect(dec.decode((await within(reader.read(), 'the first chunk')).value)).toBe('first\n')
        ctl.abort()
        const e = await rejection(reader.read(), 'the next read')
        expect(e.name).toBe('AbortError')
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      })

      it('an abort while the request body is still going out → rejects with the reason; the connection closes', async () => {
        // the server reads nothing: once the kernel's buffers are full the upload waits on the socket
        const s = serve(() => new Promise(() => {}))
        const ctl = new AbortController()
        const p = call(`${s.url}/up`, { method: 'POST', body: new Uint8Array(64 * MiB), signal: ctl.signal })
        await until('the upload to begin', () => (s.connections[0]?.receivedBytes ?? 0) > 0)
        const reason = new Error('the client left')
        ctl.abort(reason)
        expect(await rejection(p, 'the call')).toBe(reason)
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      }, 15_000)

      it('cancelling the body mid-stream closes the connection', async () => {
        const s = serve(async (c) => {
          await c.request()
          await c.write(`${head('200 OK', ['Transfer-Encoding: chunked'])}6\r\nfirst\n\r\n`)
        })
        const r = await within(call(`${s.url}/x`), 'headers')
        const reader = r.body!.getReader()
        await within(reader.read(), 'the first chunk')
        await reader.cancel()
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      })
    })

    describe('as the gateway uses it', () => {
      const proxies: ReturnType<typeof Bun.serve>[] = []
      afterEach(async () => {
        for (const p of proxies.splice(0)) await p.stop(true)
      })
      /** a Bun.serve route answering with the upstream's Response as it is (client.ts proxy), or its body re-wrapped */
      const proxy = (upstream: string, rewrap = false) => {
        const p = Bun.serve({
          hostname: '127.0.0.1',
          port: 0,
          idleTimeout: 0,
          async fetch(req) {
            const r = await call(upstream + new URL(req.url).pathname, { signal: req.signal, decompress: false })
            return rewrap ? new Response(r.body, { status: r.status, headers: r.headers }) : r
          },
        })
        proxies.push(p)
        return `http://127.0.0.1:${p.port}`
      }
      const sse = (id: string) => Array.from({ length: 30 }, (_, k) => `data: {"id":"${id}","k":${k}}\n\n`)
      const upstream = () =>
        serve(async (c) => {
          for (;;) {
            const r = await c.request()
            if (r.target.startsWith('/sse')) {
              await c.write(head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked']))
              for (const ev of sse(r.target)) await c.write(`${enc.encode(ev).length.toString(16)}\r\n${ev}\r\n`)
              await c.write('0\r\n\r\n')
            } else {
              const json = JSON.stringify({ id: r.target, text: 'ünïcode' })
              await c.write(`${head('200 OK', ['Content-Type: application/json', `Content-Length: ${enc.encode(json).length}`])}${json}`)
            }
          }
        })

      for (const rewrap of [false, true]) {
        it(`a Bun.serve route answering with the upstream's Response${rewrap ? ' body re-wrapped' : ' as it is'} passes JSON and an event stream through`, async () => {
          const up = upstream()
          const front = proxy(up.url, rewrap)
          const j = await within(fetch(`${front}/json`), 'the JSON answer')
          expect(await within(j.json(), 'the JSON body')).toEqual({ id: '/json', text: 'ünïcode' })
          const e = await within(fetch(`${front}/sse1`), 'the event stream')
          expect(await within(e.text(), 'the events')).toBe(sse('/sse1').join(''))
        })
      }

      it("the proxy's client leaving mid-stream closes the upstream connection", async () => {
        const up = serve(async (c) => {
          await c.request()
          await c.write(`${head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked'])}6\r\nfirst\n\r\n`)
        })
        const front = proxy(up.url)
        const ctl = new AbortController()
        const r = await within(fetch(`${front}/sse`, { signal: ctl.signal }), 'headers through the proxy')
        const reader = r.body!.getReader()
        expect(dec.decode((await within(reader.read(), 'the first chunk')).value)).toBe('first\n')
        ctl.abort()
        await within(up.connections[0]!.closed, 'the upstream connection to close')
      })

      it('an answer (413) sent while the request body is still going out is returned', async () => {
        const s = serve(async (c) => {
          await until('the upload to begin', () => c.receivedBytes > 0)
          await c.write(`${head('413 Payload Too Large', ['Connection: close', 'Content-Length: 3'])}big`)
          c.end()
        })
        const r = await within(call(`${s.url}/up`, { method: 'POST', body: new Uint8Array(20 * MiB) }), 'the early answer', 10_000)
        expect(r.status).toBe(413)
        expect(await within(r.text(), 'its body')).toBe('big')
      })

      it('calls to two origins at once each get their own server', async () => {
        const a = serve(answering(() => `${head('200 OK', ['Content-Length: 1'])}a`))
        const b = serve(answering(() => `${head('200 OK', ['Content-Length: 1'])}b`))
        const texts = await within(
          Promise.all(Array.from({ length: 20 }, async (_, i) => (await call(`${(i % 2 ? b : a).url}/${i}`)).text())),
          '20 answers',
        )
        expect(texts.join('')).toBe('ab'.repeat(10))
      })

      it('close() while a call streams: the call ends whole, then its connection closes', async () => {
        if (!call.close) return // fetch's pool is the process's
        const { opened: more, open: rest } = gate()
        const s = serve(async (c) => {
          await c.request()
          await c.write(`${head('200 OK', ['Transfer-Encoding: chunked'])}3\r\none\r\n`)
          await more
          await c.write('3\r\ntwo\r\n0\r\n\r\n')
        })
        const r = await within(call(`${s.url}/x`), 'headers')
        const reader = r.body!.getReader()
        await within(reader.read(), 'the first chunk')
        await call.close()
        rest()
        expect(dec.decode((await within(reader.read(), 'the second chunk')).value)).toBe('two')
        expect((await within(reader.read(), 'the end')).done).toBe(true)
        await within(s.connections[0]!.closed, 'the connection to close')
      })

      it("the answer's headers can be changed (the proxy strips hop-by-hop ones before passing them on)", async () => {
        const s = serve(answering(() => `${head('200 OK', ['Connection: keep-alive', 'Keep-Alive: timeout=5', 'Content-Length: 2'])}ok`))
        const r = await within(call(`${s.url}/x`), 'headers')
        r.headers.delete('connection')
        r.headers.delete('keep-alive')
        r.headers.set('x-added', '1')
        expect(r.headers.get('connection')).toBeNull()
        expect(r.headers.get('x-added')).toBe('1')
        expect(await within(r.text(), 'body')).toBe('ok')
      })

      it('an answer (401, keep-alive) sent while the request body is still going out: the next call on that origin is whole', async () => {
        // vLLM's --api-key check answers before it reads the body; the connection must not carry the next request
        // while the first one is half sent (finish sending it, or close the connection)
        const seen: { target: string; body: Uint8Array }[] = []
        const s = serve(async (c) => {
          if (c.index === 0) {
            await until('the upload to begin', () => c.receivedBytes > 0)
            await c.write(`${head('401 Unauthorized', ['Content-Length: 4'])}auth`)
          }
          for (;;) {
            const r = await c.request()
            seen.push(r)
            if (c.index !== 0 || r.target !== '/big') await c.write(`${head('200 OK', [`Content-Length: ${r.target.length}`])}${r.target}`)
          }
        })
        const first = await within(
          call(`${s.url}/big`, { method: 'POST', body: new Uint8Array(8 * MiB).fill(7) }),
          'the early answer',
          10_000,
        )
        expect(first.status).toBe(401)
        expect(await within(first.text(), 'its body')).toBe('auth')
        const second = await within(call(`${s.url}/small`, { method: 'POST', body: new Uint8Array(10).fill(9) }), 'the next call')
        expect(await within(second.text(), 'its body')).toBe('/small')
        for (const r of seen) {
          const fill = r.target === '/big' ? 7 : 9
          expect(r.body.length).toBe(r.target === '/big' ? 8 * MiB : 10)
          expect(r.body.every((b) => b === fill)).toBe(true)
        }
      }, 20_000)

      it('a localhost URL reaches a server on 127.0.0.1', async () => {
        const s = serve(answering(() => OK))
        expect(await within((await call(`http://localhost:${s.port}/x`)).text(), 'the answer')).toBe('ok')
      })

      it('a URL without a path asks for /', async () => {
        const seen: string[] = []
        const s = serve(
          answering((r) => {
            seen.push(r.target)
            return OK
          }),
        )
        await within((await call(s.url)).text(), 'the answer')
        expect(seen).toEqual(['/'])
      })
    })

    describe('a mix of failures', () => {
      it('600 calls meeting answers, closes, garbage, hangs, aborts and cancels (seeded): each ends its own way, and then the full cap of calls still fits in flight', async () => {
        let seed = 7
        const rand = (n: number) => {
          seed = (seed * 1103515245 + 12345) & 0x7fffffff
          return seed % n
        }
        const kinds = ['json', 'chunked', 'closeBefore', 'closeMid', 'garbage', 'hang', 'streamHang'] as const
        type Kind = (typeof kinds)[number]
        const bodyOf = (id: string) => `{"id":"${id}","pad":"${'z'.repeat(id.length * 37)}"}`
        let heldArrived = 0
        const s = serve(async (c) => {
          for (;;) {
            const r = await c.request()
            const [, kind, id = ''] = r.target.split('/') as [string, Kind | 'held', string]
            const body = bodyOf(id)
            switch (kind) {
              case 'json':
                await c.write(`${head('200 OK', [`Content-Length: ${enc.encode(body).length}`])}${body}`)
                break
              case 'chunked': {
                const framed = `${head('200 OK', ['Transfer-Encoding: chunked'])}${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
                const cut = 1 + rand(framed.length - 1)
                await c.write(framed.slice(0, cut))
                await new Promise((resolve) => setImmediate(resolve))
                await c.write(framed.slice(cut))
                break
              }
              case 'closeBefore':
                return c.end()
              case 'closeMid':
                await c.write(`${head('200 OK', ['Content-Length: 1000'])}partial`)
                return c.end()
              case 'garbage':
                await c.write('\x00\x01 not http at all\r\n\r\n')
                return
              case 'hang':
                return new Promise(() => {})
              case 'streamHang':
                await c.write(`${head('200 OK', ['Transfer-Encoding: chunked'])}5\r\nfirst\r\n`)
                return new Promise(() => {})
              case 'held':
                // the capacity check below: counted, never answered
                heldArrived++
                return new Promise(() => {})
            }
          }
        })
        const plan = Array.from({ length: 600 }, (_, i) => ({ kind: kinds[rand(kinds.length)]!, id: `c${i}`, cancel: rand(2) === 0 }))
        const outcomes: string[] = []
        const one = async ({ kind, id, cancel }: (typeof plan)[number]) => {
          const ctl = new AbortController()
          const reason = new Error(`abort ${id}`)
          const post = rand(2) === 0
          const p = call(
            `${s.url}/${kind}/${id}`,
            post ? { method: 'POST', body: `{"q":"${id}"}`, signal: ctl.signal } : { signal: ctl.signal },
          )
          if (kind === 'hang') {
            // give the request time to go out on the wire, or not
            await new Promise((resolve) => setTimeout(resolve, rand(3)))
            ctl.abort(reason)
            return (await rejection(p, `${id} to reject`)) === reason ? 'ok' : `${id}: rejected with another error`
          }
          if (kind === 'closeBefore' || kind === 'garbage') {
            const e = await rejection(p, `${id} to reject`)
            return typeof e.code === 'string' ? 'ok' : `${id}: an error without a code (${e})`
          }
          const r = await within(p, `${id}'s headers`, 10_000)
          if (kind === 'closeMid') {
            const e = await rejection(r.text(), `${id}'s body to fail`)
            return typeof e.code === 'string' ? 'ok' : `${id}: a body error without a code (${e})`
          }
          if (kind === 'streamHang') {
            const reader = r.body!.getReader()
            await within(reader.read(), `${id}'s first chunk`)
            if (cancel) await reader.cancel()
            else {
              ctl.abort(reason)
              await rejection(reader.read(), `${id}'s next read to fail`)
            }
            return 'ok'
          }
          const text = await within(r.text(), `${id}'s body`, 10_000)
          return text === bodyOf(id) ? 'ok' : `${id}: got ${text.slice(0, 40)}`
        }
        // 40 at a time
        let next = 0
        await within(
          Promise.all(
            Array.from({ length: 40 }, async () => {
              while (next < plan.length) outcomes.push(await one(plan[next++]!))
            }),
          ),
          () => `600 calls (${outcomes.length} done)`,
          60_000,
        )
        expect(outcomes.filter((o) => o !== 'ok')).toEqual([])
        // no call above left its slot taken: the whole cap (or 300 when there is none) reaches the server at once
        const cap = Math.min(quirks.maxInFlight ?? 300, 1024)
        const held = Array.from({ length: cap }, (_, i) => call(`${s.url}/held/h${i}`).catch(() => {}))
        await until(`${cap} held calls to reach the server (${heldArrived} did)`, () => heldArrived >= cap, 20_000)
        s.stop()
        await within(Promise.all(held), 'the held calls to end once the server stops', 10_000)
      }, 120_000)
    })

    describe('backpressure', () => {
      it('50 MiB of event stream to a client that reads late and slowly: the socket is paused, memory does not take the body', async () => {
        const total = 50 * MiB
        const size = 64 * 1024
        const frame = enc.encode(`${size.toString(16)}\r\ndata: ${'x'.repeat(size - 8)}\n\n\r\n`)
        const s = serve(async (c) => {
          await c.request()
          await c.write(head('200 OK', ['Content-Type: text/event-stream', 'Transfer-Encoding: chunked']))
          for (let sent = 0; sent < total; sent += size) await c.write(frame)
          await c.write('0\r\n\r\n')
        })
        Bun.gc(true)
        const rss0 = process.memoryUsage().rss
        const r = await within(call(`${s.url}/stream`), 'headers')
        const conn = s.connections[0]!
        // Not reading: the server's writes must stop (its socket full) well before the body is sent. Stopped means
        // no progress over 10 polls while a write waits; load can only make that come sooner, never fail the case.
        let last = -1
        let still = 0
        await until(
          'the server to stall or send everything',
          () => {
            if (conn.written === last && conn.stalled) still++
            else still = 0
            last = conn.written
            return still >= 10 || conn.written >= total
          },
          30_000,
        )
        const sentWhilePaused = conn.written
        const pausedGrowth = process.memoryUsage().rss - rss0
        // now read it all, yielding to the timers every MiB, with a full GC there so RSS shows what is held
        let peak = 0
        const { got, tail } = await within(
          readSlowly(r.body!, () => {
            Bun.gc(true)
            peak = Math.max(peak, process.memoryUsage().rss - rss0)
          }),
          'the whole body',
          60_000,
        )
        console.info(
          `[${name}] backpressure: ${(sentWhilePaused / MiB).toFixed(1)} MiB sent before the writer stalled; RSS +${(pausedGrowth / MiB).toFixed(1)} MiB paused, peak +${(peak / MiB).toFixed(1)} MiB reading ${(total / MiB).toFixed(0)} MiB`,
        )
        expect(got).toBe(total)
        expect(tail).toBe(`${'x'.repeat(14)}\n\n`)
        expect(sentWhilePaused).toBeLessThan(total / 4)
        expect(pausedGrowth).toBeLessThan(total / 4)
        expect(peak).toBeLessThan(total / 2)
      }, 120_000)
    })

    describe('a body sent whole before the server closes, to a client that reads late', () => {
      for (const framing of ['content-length', 'chunked', 'close'] as const) {
        it(`${framing}: 4 MiB then FIN, read once the server is done → the whole body, no error`, async () => {
          const total = 4 * MiB
          let ended = false
          const piece = new Uint8Array(64 * 1024).fill(0x61)
          const s = serve(async (c) => {
            await c.request()
            const headers =
              framing === 'content-length' ? [`Content-Length: ${total}`] : framing === 'chunked' ? ['Transfer-Encoding: chunked'] : []
            await c.write(head('200 OK', ['Connection: close', ...headers]))
            for (let sent = 0; sent < total; sent += piece.length) {
              if (framing === 'chunked') await c.write(`${piece.length.toString(16)}\r\n`)
              await c.write(piece)
              if (framing === 'chunked') await c.write('\r\n')
            }
            if (framing === 'chunked') await c.write('0\r\n\r\n')
            c.end()
            ended = true
          })
          const r = await within(call(`${s.url}/x`), 'headers')
          // the server writes it all into the kernel's buffers and closes while the client holds most of it unread (or,
          // with smaller buffers, stalls: the FIN then comes after the client resumes)
          await until('the server to close or stall', () => ended || s.connections[0]!.stalled, 15_000)
          expect((await within(readSlowly(r.body!), 'the whole body', 20_000)).got).toBe(total)
        }, 40_000)
      }
    })

    describe('request bodies and headers', () => {
      const echoRequests = (seen: ReceivedRequest[]) =>
        answering((r) => {
          seen.push(r)
          return OK
        })

      it('a 5 MiB Uint8Array body arrives intact with its content-length, even when overwritten once the call returns', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        const body = new Uint8Array(5 * MiB).map((_, i) => (i * 31 + (i >> 10)) & 0xff)
        const expected = body.slice()
        const p = call(`${s.url}/up`, { method: 'POST', body })
        body.fill(0)
        await within((await within(p, 'headers', 15_000)).text(), 'the answer')
        expect(header(seen[0]!, 'content-length')).toEqual([String(expected.length)])
        expect(seen[0]!.body.length).toBe(expected.length)
        expect(Bun.hash(seen[0]!.body)).toBe(Bun.hash(expected))
      }, 20_000)

      it('a string body with multi-byte UTF-8 arrives intact, content-length in bytes', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        const text = '{"text":"héllo wörld — 日本語 🙂"}'
        await within((await call(`${s.url}/up`, { method: 'POST', body: text })).text(), 'the answer')
        expect(header(seen[0]!, 'content-length')).toEqual([String(enc.encode(text).length)])
        expect(dec.decode(seen[0]!.body)).toBe(text)
      })

      it('an ArrayBuffer body arrives intact', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        const body = enc.encode('array buffer body').buffer
        await within((await call(`${s.url}/up`, { method: 'POST', body })).text(), 'the answer')
        expect(dec.decode(seen[0]!.body)).toBe('array buffer body')
      })

      it('one buffer lent to 20 calls in a row, rewritten after each call returns: each sends its own bytes', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        const buffer = new Uint8Array(64 * 1024)
        const calls: Promise<Response>[] = []
        for (let i = 0; i < 20; i++) {
          const n = enc.encodeInto(`{"call":${i},"pad":"${'p'.repeat(i * 1000)}"}`, buffer).written
          calls.push(call(`${s.url}/${i}`, { method: 'POST', body: buffer.subarray(0, n) }))
        }
        buffer.fill(0x21)
        await within(Promise.all(calls.map(async (p) => (await p).text())), '20 answers', 10_000)
        for (const r of seen) expect(JSON.parse(dec.decode(r.body)).call).toBe(Number(r.target.slice(1)))
      })

      it('headers from a Headers object arrive; method, path and query as given; one host', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        const headers = new Headers({ 'Content-Type': 'application/json', 'X-Request-Id': 'req 1' })
        headers.set('x-latin', 'café')
        headers.append('x-multi', 'a')
        headers.append('x-multi', 'b')
        await within((await call(`${s.url}/v1/chat?x=1&y=%20`, { method: 'POST', headers, body: '{}' })).text(), 'the answer')
        const r = seen[0]!
        expect(r.method).toBe('POST')
        expect(r.target).toBe('/v1/chat?x=1&y=%20')
        expect(header(r, 'content-type')).toEqual(['application/json'])
        expect(header(r, 'x-request-id')).toEqual(['req 1'])
        expect(header(r, 'x-multi').join(', ')).toBe('a, b')
        // a header value is a byte string: é goes as the one byte 0xE9 (read back as latin1)
        expect(header(r, 'x-latin')).toEqual(['café'])
        expect(header(r, 'host')).toEqual([`127.0.0.1:${s.port}`])
        expect(header(r, 'transfer-encoding')).toEqual([])
      })

      it('an empty POST body is sent with content-length: 0', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        await within((await call(`${s.url}/up`, { method: 'POST', body: new Uint8Array(0) })).text(), 'the answer')
        expect(header(seen[0]!, 'content-length')).toEqual(['0'])
        expect(seen[0]!.body.length).toBe(0)
      })

      it('a GET sends no body and no content-length', async () => {
        const seen: ReceivedRequest[] = []
        const s = serve(echoRequests(seen))
        await within((await call(`${s.url}/models`, { method: 'GET', headers: new Headers() })).text(), 'the answer')
        expect(seen[0]!.method).toBe('GET')
        expect(header(seen[0]!, 'content-length')).toEqual([])
        expect(header(seen[0]!, 'transfer-encoding')).toEqual([])
      })
    })

    describe('response headers and encodings', () => {
      it('repeated headers, set-cookie twice, spaced values, mixed-case names, the status text', async () => {
        const s = serve(
          answering(
            () =>
              'HTTP/1.1 200 Fine Thanks\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2; Path=/\r\nX-Spaced:    two  words   \r\n' +
              'X-MiXeD-Case: M\r\nx-dup: a\r\nX-Dup: b\r\nContent-Length: 0\r\n\r\n',
          ),
        )
        const r = await within(call(`${s.url}/x`), 'headers')
        expect(r.statusText).toBe('Fine Thanks')
        expect(r.headers.getSetCookie()).toEqual(['a=1', 'b=2; Path=/'])
        expect(r.headers.get('x-spaced')).toBe('two  words')
        expect(r.headers.get('X-MIXED-CASE')).toBe('M')
        expect(r.headers.get('x-dup')).toBe('a, b')
        expect(await within(r.text(), 'body')).toBe('')
      })

      const json = JSON.stringify({ text: 'compressed — déjà vu '.repeat(50) })
      const gzipped = gzipSync(json)

      it('decompress: true decodes a gzip body the server sends unasked', async () => {
        const s = serve(answerOnce(head('200 OK', ['Content-Encoding: gzip', `Content-Length: ${gzipped.length}`]), gzipped))
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        expect(await within(r.text(), 'body')).toBe(json)
      })

      it('decompress: true decodes a chunked gzip event stream cut mid-member', async () => {
        const events = Array.from({ length: 20 }, (_, i) => `data: {"i":${i}}\n\n`).join('')
        const z = gzipSync(events)
        const s = serve(async (c) => {
          await c.request()
          await c.write(head('200 OK', ['Content-Type: text/event-stream', 'Content-Encoding: gzip', 'Transfer-Encoding: chunked']))
          for (let at = 0; at < z.length; at += 17) {
            const part = z.subarray(at, at + 17)
            await c.write(`${part.length.toString(16)}\r\n`)
            await c.write(part)
            await c.write('\r\n')
            await gap()
          }
          await c.write('0\r\n\r\n')
        })
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        expect(await within(r.text(), 'body')).toBe(events)
      })

      const concat = (a: Uint8Array, b: Uint8Array) => {
        const out = new Uint8Array(a.length + b.length)
        out.set(a)
        out.set(b, a.length)
        return out
      }
      const encoded: [what: string, coding: string, bytes: Uint8Array, text: string][] = [
        ['gzip', 'gzip', gzipped, json],
        ['x-gzip', 'x-gzip', gzipped, json],
        ['GZIP in capitals', 'GZIP', gzipped, json],
        ['deflate (zlib)', 'deflate', deflateSync(json), json],
        ['deflate without its zlib wrapper (raw)', 'deflate', deflateRawSync(json), json],
        ['br', 'br', brotliCompressSync(json), json],
        ['zstd', 'zstd', zstdCompressSync(json), json],
        ['two gzip members one after the other', 'gzip', concat(gzipSync('first '), gzipSync('second')), 'first second'],
        ['gzip followed by stray bytes', 'gzip', concat(gzipped, enc.encode('STRAY')), json],
      ]
      for (const [what, coding, bytes, text] of encoded) {
        it(`decompress: true decodes ${what}`, async () => {
          const s = serve(answerOnce(head('200 OK', [`Content-Encoding: ${coding}`, `Content-Length: ${bytes.length}`]), bytes))
          const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
          expect(await within(r.text(), 'body')).toBe(text)
        })
      }

      it('decompress: true with a gzip body cut short → the body read rejects with a string code', async () => {
        const s = serve(
          answerOnce(head('200 OK', ['Content-Encoding: gzip', `Content-Length: ${gzipped.length - 10}`]), gzipped.subarray(0, -10)),
        )
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        expect(typeof (await rejection(r.text(), 'the body')).code).toBe('string')
      })

      it('decompress: true with a corrupt gzip body → the body read rejects with a string code', async () => {
        const bad = Uint8Array.from(gzipped)
        bad.fill(0x55, 10, 40)
        const s = serve(answerOnce(head('200 OK', ['Content-Encoding: gzip', `Content-Length: ${bad.length}`]), bad))
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        // fetch: ZlibError, which upstream/failure.ts words as a body that could not be decompressed
        expect(typeof (await rejection(r.text(), 'the body')).code).toBe('string')
      })

      it('decompress: true with an empty gzip-labelled body (content-length: 0) → an empty body', async () => {
        const s = serve(answering(() => head('200 OK', ['Content-Encoding: gzip', 'Content-Length: 0'])))
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        expect(await within(r.text(), 'body')).toBe('')
      })

      it('decompress: true leaves an encoding it does not know as it is', async () => {
        const s = serve(answering(() => `${head('200 OK', ['Content-Encoding: x-custom', 'Content-Length: 6'])}opaque`))
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        expect(await within(r.text(), 'body')).toBe('opaque')
      })

      /** the first 64 bytes of a gzip event stream as one chunk, then nothing */
      const gzipStreamThatStops = answerOnce(
        head('200 OK', ['Content-Encoding: gzip', 'Transfer-Encoding: chunked']),
        '40\r\n',
        gzipSync('data: x\n\n'.repeat(1000)).subarray(0, 64),
        '\r\n',
      )

      it('cancelling a decompressed stream mid-body closes the connection', async () => {
        const s = serve(gzipStreamThatStops)
        const r = await within(call(`${s.url}/x`, { decompress: true }), 'headers')
        const reader = r.body!.getReader()
        await within(reader.read(), 'the first decoded bytes')
        await reader.cancel()
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      })

      it('an abort mid-body of a decompressed stream errors it and closes the connection', async () => {
        const s = serve(gzipStreamThatStops)
        const ctl = new AbortController()
        const r = await within(call(`${s.url}/x`, { decompress: true, signal: ctl.signal }), 'headers')
        const reader = r.body!.getReader()
        await within(reader.read(), 'the first decoded bytes')
        ctl.abort()
        await rejection(
          (async () => {
            for (;;) if ((await reader.read()).done) return
          })(),
          'the rest of the body',
        )
        await within(s.connections[0]!.closed, 'the server to see the connection close')
      })

      it('decompress: false passes the gzip bytes and their content-encoding through', async () => {
        const s = serve(answerOnce(head('200 OK', ['Content-Encoding: gzip', `Content-Length: ${gzipped.length}`]), gzipped))
        const r = await within(call(`${s.url}/x`, { decompress: false }), 'headers')
        expect(r.headers.get('content-encoding')).toBe('gzip')
        expect(new Uint8Array(await within(r.arrayBuffer(), 'body'))).toEqual(new Uint8Array(gzipped))
      })
    })
  })
}
