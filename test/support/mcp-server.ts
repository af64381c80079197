// Real MCP servers for tests, built with @modelcontextprotocol/sdk, on loopback port 0.
//
//   const mcp = await startMcpServer()                 // Streamable HTTP at mcp.url (…/mcp)
//   const mcp = await startMcpServer({ tools: { weather: { run: (a) => `sunny in ${a.city}` } }, pageSize: 2 })
//   const again = await startMcpServer({ port })       // a "restarted" server on the port of a stopped one
//   mcp.calls       → [{ tool, arguments, headers }] every tools/call, in order
//   mcp.requests    → [{ method, path, headers }] every HTTP request (lower-case header names)
//   mcp.sessions()  → open MCP sessions
//   await mcp.stop() → the port is closed ("server down"); safe to call twice
//
//   const old = await startSseMcpServer()              // the older HTTP+SSE transport only, at old.url (…/sse);
//                                                      // a POST to it answers 405, as such servers do
//   stdioServerCommand()                               // { command, args } running test/fixtures/mcp-stdio-server.ts
//
// The tools (echo, add, slow, fails, image, headers, pid, env, plus `tools` and `fillerTools`) and the paged
// tools/list (`pageSize`, default 3) are in mcp-tools.ts.

import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js'
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import { createToolServer, type RecordedCall, type ToolServerOptions, toolSet } from './mcp-tools'

export type { RecordedCall, ScriptedTool, ToolServerOptions } from './mcp-tools'

export interface RecordedRequest {
  method: string
  path: string
  headers: Record<string, string>
}

export interface McpTestServer {
  url: string
  calls: RecordedCall[]
  requests: RecordedRequest[]
  sessions(): number
  stop(): Promise<void>
}

const headerObject = (h: Headers | IncomingMessage['headers']): Record<string, string> => {
  const out: Record<string, string> = {}
  if (h instanceof Headers) for (const [k, v] of h) out[k] = v
  else for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v
  return out
}

/** Headers of a call as the SDK hands them to a handler (extra.requestInfo.headers). */
const requestInfoHeaders = (info: unknown): Record<string, string> => {
  const h = (info as { headers?: unknown } | undefined)?.headers
  if (!h) return {}
  return h instanceof Headers ? headerObject(h) : headerObject(h as IncomingMessage['headers'])
}

/** A Streamable HTTP MCP server (stateful: one SDK Server and transport per session) on 127.0.0.1:0, path /mcp. */
export async function startMcpServer(opts: ToolServerOptions & { port?: number } = {}): Promise<McpTestServer> {
  const tools = toolSet(opts)
  const calls: RecordedCall[] = []
  const requests: RecordedRequest[] = []
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>()
  const http = Bun.serve({
    port: opts.port ?? 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url)
      requests.push({ method: req.method, path: url.pathname, headers: headerObject(req.headers) })
      if (url.pathname !== '/mcp') return new Response('not found', { status: 404 })
      const sid = req.headers.get('mcp-session-id')
      if (sid) {
        const transport = sessions.get(sid)
        if (!transport)
          return Response.json({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }, { status: 404 })
        return transport.handleRequest(req)
      }
      if (req.method !== 'POST') return new Response('method not allowed', { status: 405 })
      const body = await req.json().catch(() => null)
      if (!isInitializeRequest(body))
        return Response.json({ jsonrpc: '2.0', error: { code: -32000, message: 'No session' }, id: null }, { status: 400 })
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => void sessions.set(id, transport),
        onsessionclosed: (id) => void sessions.delete(id),
      })
      await createToolServer(tools, opts.pageSize ?? 3, calls, requestInfoHeaders).connect(transport)
      return transport.handleRequest(req, { parsedBody: body })
    },
  })
  let stopped = false
  return {
    url: `http://127.0.0.1:${http.port}/mcp`,
    calls,
    requests,
    sessions: () => sessions.size,
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})))
      sessions.clear()
      await http.stop(true)
    },
  }
}

/** An MCP server that speaks only the older HTTP+SSE transport: GET /sse opens the stream, POST /messages?sessionId=… */
export async function startSseMcpServer(opts: ToolServerOptions = {}): Promise<McpTestServer> {
  const tools = toolSet(opts)
  const calls: RecordedCall[] = []
  const requests: RecordedRequest[] = []
  const sessions = new Map<string, SSEServerTransport>()
  const http = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    requests.push({ method: req.method ?? '', path: url.pathname, headers: headerObject(req.headers) })
    if (url.pathname === '/sse' && req.method === 'GET') {
      const transport = new SSEServerTransport('/messages', res)
      sessions.set(transport.sessionId, transport)
      res.on('close', () => sessions.delete(transport.sessionId))
      await createToolServer(tools, opts.pageSize ?? 3, calls, requestInfoHeaders).connect(transport)
      return
    }
    if (url.pathname === '/messages' && req.method === 'POST') {
      const transport = sessions.get(url.searchParams.get('sessionId') ?? '')
      if (!transport) {
        res.writeHead(404).end('unknown session')
        return
      }
      await transport.handlePostMessage(req, res)
      return
    }
    res.writeHead(url.pathname === '/sse' ? 405 : 404).end()
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const port = (http.address() as AddressInfo).port
  let stopped = false
  return {
    url: `http://127.0.0.1:${port}/sse`,
    calls,
    requests,
    sessions: () => sessions.size,
    async stop() {
      if (stopped) return
      stopped = true
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => {})))
      sessions.clear()
      http.closeAllConnections()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}

/** The stdio test server as a command line: this Bun running test/fixtures/mcp-stdio-server.ts. */
export function stdioServerCommand(): { command: string; args: string[] } {
  return { command: process.execPath, args: [join(import.meta.dir, '../fixtures/mcp-stdio-server.ts')] }
}
