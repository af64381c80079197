// The MCP service's public shapes: a server a turn may use, the tools it lists, the result of one call, and the
// McpServers interface the engine consumes (implemented by servers.ts).

/** One MCP server a turn may use: configured ([mcp_servers.LABEL]) or declared by the request. */
export interface McpServer {
  readonly label: string
  readonly source: 'configured' | 'request'
  /** for logs and error messages: the redacted URL, or the stdio command name */
  readonly where: string
  readonly description: string | null
}

export interface McpToolInfo {
  name: string
  description: string | null
  input_schema: Record<string, unknown>
  annotations: Record<string, unknown> | null
}

export type McpCallResult = { ok: true; output: string } | { ok: false; error: string }

/** A failure of the MCP service (list failed, server unreachable, …). Its message is safe for the client and the model. */
export class McpError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'McpError'
  }
}

export interface McpServers {
  /**
   * A request's {"type":"mcp"} tool → the server to use. `param` is the tool's path in the request (`tools.1`);
   * errors name the field under it (`tools.1.server_url`, `tools.1.server_label`).
   * With server_url: a request-declared server, allowed only when its host is in --mcp-allowed-hosts, else
   * ApiError 400 'mcp_server_not_allowed'. Without server_url: the configured server of that server_label, else
   * ApiError 400 'unknown_mcp_server'. headers/authorization are kept in memory only, for the calls to that server.
   */
  resolve(tool: Record<string, unknown>, param: string): McpServer
  /** tools/list, every page (cursor), bounded. Throws McpError. */
  listTools(server: McpServer, opts: { signal?: AbortSignal; timeoutMs?: number }): Promise<McpToolInfo[]>
  /**
   * tools/call. A tool-level error (isError), a timeout, a cancelled call (signal) or a transport failure is
   * { ok:false, error } (never thrown). Content parts become text (text parts joined; others summarised).
   */
  callTool(
    server: McpServer,
    name: string,
    args: Record<string, unknown>,
    opts: { signal?: AbortSignal; timeoutMs: number },
  ): Promise<McpCallResult>
  /** Closes client sessions and stops the stdio servers the gateway started. */
  close(): Promise<void>
}
