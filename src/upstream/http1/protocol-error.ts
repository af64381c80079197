// Errors of the HTTP/1.1 client, shaped as the runtime's: an Error with a short `code` (failure.ts words it).

/** An Error carrying `code` (InvalidHTTPResponse, ECONNRESET, …), as Bun's own network errors do. */
export function protocolError(code: string, message: string): Error & { code: string } {
  return Object.assign(new Error(message), { code })
}
