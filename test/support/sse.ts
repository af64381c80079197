// Reads an SSE response (text/event-stream) as it comes, event by event: for tests that act mid-stream.

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
      const data = buffer.slice(0, i).split('\n').find((l) => l.startsWith('data: '))
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

