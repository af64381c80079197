// The scripted tools of the test MCP servers (HTTP, SSE and stdio share them), installed on an SDK `Server` with a
// paged tools/list. Low-level `Server` rather than `McpServer` on purpose: McpServer lists every tool in one page,
// and the client's cursor loop needs a server that pages.
//
// Default tools: echo {text}, add {a,b}, slow {ms?} (waits, honours cancellation), fails (isError), image (an image
// part), headers (the HTTP request headers it was called with, as JSON), pid, env {name}. Add or replace tools with
// `tools`; `fillerTools: N` adds N more (filler_001…) to make the list long.

import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js'

export interface ToolContext {
  signal: AbortSignal
  /** the HTTP request headers of this call (lower-case names); empty over stdio */
  headers: Record<string, string>
}

export interface ScriptedTool {
  description?: string
  inputSchema?: Record<string, unknown>
  annotations?: Record<string, unknown>
  /** a string is one text part; a CallToolResult is sent as it is; a throw becomes an isError result */
  run: (args: Record<string, unknown>, ctx: ToolContext) => string | CallToolResult | Promise<string | CallToolResult>
}

export interface RecordedCall {
  tool: string
  arguments: Record<string, unknown>
  headers: Record<string, string>
}

export interface ToolServerOptions {
  /** added to (or replacing) the default tools */
  tools?: Record<string, ScriptedTool>
  /** this many extra tools filler_001… */
  fillerTools?: number
  /** tools per tools/list page (default 3: the default list already takes several pages) */
  pageSize?: number
}

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object', properties, required })

/** Resolves after ms, or rejects when the signal aborts (a cancelled call stops waiting). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const t = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(t)
      reject(signal.reason)
    })
  })
}

export const DEFAULT_TOOLS: Record<string, ScriptedTool> = {
  echo: {
    description: 'Echoes the text back',
    inputSchema: obj({ text: { type: 'string' } }, ['text']),
    annotations: { readOnlyHint: true },
    run: (a) => String(a.text),
  },
  add: {
    description: 'Adds two numbers',
    inputSchema: obj({ a: { type: 'number' }, b: { type: 'number' } }, ['a', 'b']),
    annotations: { readOnlyHint: true },
    run: (a) => String(Number(a.a) + Number(a.b)),
  },
  slow: {
    description: 'Answers after ms milliseconds (default 30000)',
    inputSchema: obj({ ms: { type: 'number' } }),
    run: async (a, ctx) => {
      await sleep(typeof a.ms === 'number' ? a.ms : 30_000, ctx.signal)
      return 'finally done'
    },
  },
  fails: {
    description: 'Always fails',
    inputSchema: obj({}),
    run: () => ({ content: [{ type: 'text', text: 'it failed on purpose' }], isError: true }),
  },
  image: {
    description: 'Answers with a caption and a tiny PNG',
    inputSchema: obj({}),
    run: () => ({
      content: [
        { type: 'text', text: 'a red dot' },
        { type: 'image', data: Buffer.from('0123456789').toString('base64'), mimeType: 'image/png' },
      ],
    }),
  },
  headers: {
    description: 'Returns the HTTP request headers of the call as JSON',
    inputSchema: obj({}),
    run: (_a, ctx) => JSON.stringify(ctx.headers),
  },
  pid: { description: 'The server process id', inputSchema: obj({}), run: () => String(process.pid) },
  env: {
    description: 'The value of an environment variable of the server process, or (unset)',
    inputSchema: obj({ name: { type: 'string' } }, ['name']),
    run: (a) => process.env[String(a.name)] ?? '(unset)',
  },
}

/** The tool set of a server: defaults, then `tools`, then fillers. */
export function toolSet(opts: ToolServerOptions = {}): Record<string, ScriptedTool> {
  const all: Record<string, ScriptedTool> = { ...DEFAULT_TOOLS, ...opts.tools }
  for (let i = 1; i <= (opts.fillerTools ?? 0); i++)
    all[`filler_${String(i).padStart(3, '0')}`] = { description: `Filler tool ${i}`, inputSchema: obj({}), run: () => `filler ${i}` }
  return all
}

/** A fresh SDK Server with the tools installed; every call is pushed to `calls`. */
export function createToolServer(
  tools: Record<string, ScriptedTool>,
  pageSize: number,
  calls: RecordedCall[],
  headersOf: (requestInfo: unknown) => Record<string, string> = () => ({}),
): Server {
  const server = new Server({ name: 'agentgate-test-mcp', version: '1.0.0' }, { capabilities: { tools: {} } })
  const names = Object.keys(tools)
  server.setRequestHandler(ListToolsRequestSchema, async (req) => {
    const start = req.params?.cursor ? Number(req.params.cursor) : 0
    const page = names.slice(start, start + pageSize).map((name) => ({
      name,
      description: tools[name].description,
      inputSchema: (tools[name].inputSchema ?? obj({})) as { type: 'object' },
      ...(tools[name].annotations ? { annotations: tools[name].annotations } : {}),
    }))
    return start + pageSize < names.length ? { tools: page, nextCursor: String(start + pageSize) } : { tools: page }
  })
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const name = req.params.name
    const args = (req.params.arguments ?? {}) as Record<string, unknown>
    const headers = headersOf(extra.requestInfo)
    calls.push({ tool: name, arguments: args, headers })
    const tool = tools[name]
    if (!tool) return { content: [{ type: 'text', text: `unknown tool ${name}` }], isError: true }
    try {
      const out = await tool.run(args, { signal: extra.signal, headers })
      return typeof out === 'string' ? { content: [{ type: 'text', text: out }] } : out
    } catch (e) {
      return { content: [{ type: 'text', text: String((e as Error)?.message ?? e) }], isError: true }
    }
  })
  return server
}
