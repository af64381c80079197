#!/usr/bin/env bun
// In process: the chat upstream's request for a WebSocket chain's next turn (toChatRequest + requestBody, the body
// handed back as fetch would), at a short chain and a long one, turn by turn as a socket grows it: each turn's input is
// the settled chain (settledChain) and a new user message; its output (reasoning, a call, the call's output, an answer)
// is settled into the chain for the next turn (5 items a turn; each chain is timed for 4 turns once grown to the
// length). Prints the median µs a turn at each length and their ratio: a turn whose cost does not grow with the chain
// has a ratio near 1.
//
//   bun run bench/chat-chain.ts [--short 20] [--long 600] [--turns 60] [--rounds 5]
import { toChatRequest } from '../src/upstream/chat-request'
import { bodySent, requestBody } from '../src/upstream/request-body'
import { settledChain } from '../src/store/settled-items'
import { optionOf } from './lib'

const option = optionOf(process.argv)
const short = Number(option('--short', '20'))
const long = Number(option('--long', '600'))
const turns = Number(option('--turns', '60'))
const rounds = Number(option('--rounds', '5'))

type Item = Record<string, unknown>
let seq = 0
const user = (): Item => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text: `question ${++seq}: what is in the file?` }],
})
/** what a turn adds after its user message: the model's reasoning, a call, its output and the answer */
const output = (): Item[] => {
  const n = ++seq
  return [
    { type: 'reasoning', id: `rs_${n}`, summary: [{ type: 'summary_text', text: `thinking about ${n}` }] },
    { type: 'function_call', id: `fc_${n}`, call_id: `call_${n}`, name: 'shell', arguments: `{"cmd":"cat file${n}.txt"}` },
    { type: 'function_call_output', call_id: `call_${n}`, output: `contents of file ${n}\n`.repeat(4) },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `The file ${n} holds four lines.` }] },
  ]
}
const tools = [{ type: 'function', name: 'shell', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } }]

/** µs spent making the requests of the turns run so far */
let spent = 0

/** One turn of the chain: its request made and sent (timed); the chain it leaves for the next turn. */
function turn(chain: Item[]): Item[] {
  const input = user()
  const body = { model: 'm', instructions: 'You are a careful assistant.', input: [...chain, input], tools, stream: true }
  const start = Bun.nanoseconds()
  bodySent(requestBody(toChatRequest(body), 'messages'))
  spent += (Bun.nanoseconds() - start) / 1000
  return settledChain(chain, [input], output())
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!

/**
 * median µs of `turns` turns at `length` items: chains grown to it (their turns run too, as a socket's would), each
 * timed for its next PER_CHAIN turns only, so that the chain measured stays near that length
 */
function measure(length: number): number {
  const times: number[] = []
  while (times.length < turns) {
    let chain: Item[] = []
    while (chain.length < length) chain = turn(chain)
    for (let t = 0; t < PER_CHAIN; t++) {
      const before = spent
      chain = turn(chain)
      times.push(spent - before)
    }
  }
  return median(times)
}
const PER_CHAIN = 4

measure(long) // warm-up
for (let r = 0; r < rounds; r++) {
  const a = measure(short)
  const b = measure(long)
  console.log(`round ${r + 1}: ${short} items ${a.toFixed(1)} µs, ${long} items ${b.toFixed(1)} µs, ratio ${(b / a).toFixed(2)}`)
}
