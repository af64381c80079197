// Reading a gateway answer in tests that look at status, body and headers at once.

/** The answer's status, its body as text and as JSON (null when the body is not JSON), and its headers. */
export async function readAnswer(r: Response): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const text = await r.text()
  let json: any = null
  try {
    json = JSON.parse(text)
  } catch {}
  return { status: r.status, json, text, headers: r.headers }
}
