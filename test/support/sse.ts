// Reading SSE answers (text/event-stream) in tests: as they come, event by event (for tests that act mid-stream),
// or whole; and collecting an SDK stream.

/** The events of an SSE response, read as they come. */
export function sseEvents(res: Response) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const events: any[] = []
  let buffer = ''
  let done = false
  const readMore = async () => {
    const r = await reader.read()
    if (r.done) return (done = true)
    buffer += decoder.decode(r.value, { stream: true })
    for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
      const data = buffer
        .slice(0, i)
        .split('\n')
        .find((l) => l.startsWith('data: '))
      buffer = buffer.slice(i + 2)
      if (data) events.push(JSON.parse(data.slice(6)))
    }
  }
  return {
    events,
    /** reads until an event matches (or the stream ends) */
    async until(pred: (e: any) => boolean) {
      while (!events.some(pred) && !done) await readMore()
      return events.find(pred)
    },
    async toEnd() {
      while (!done) await readMore()
      return events
    },
  }
}

/** The JSON of each `data:` line of a whole SSE body (text/event-stream), in order. */
export function parseSse(text: string): any[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)))
}

/** The events of a whole SSE answer, once it has ended. */
export async function sseBody(res: Response): Promise<any[]> {
  return parseSse(await res.text())
}

/** Every item of a stream (say, the openai SDK's stream of events), once it has ended; loosely typed, as tests read them. */
export async function collect(stream: AsyncIterable<unknown>): Promise<any[]> {
  const out: any[] = []
  for await (const e of stream) out.push(e)
  return out
}
