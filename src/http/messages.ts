// POST /v1/messages (and ?beta=true, as Claude Code sends it) and /v1/messages/count_tokens: the Anthropic Messages
// API as a second edge on the turn engine. Translation lives in src/messages; this file only wires it to HTTP.
import { Elysia } from 'elysia'
import type { AppDeps } from '../deps'
import type { Auth } from '../auth'
import type { TurnEngine } from '../engine/turn'
import { accumulateMessage, MessageTranslator, type MessageEvent, type TranslatorOptions } from '../messages/events'
import { streamErrorEvent } from '../messages/errors'
import { resolveModel } from '../messages/models'
import { countTokensRequest, toResponsesRequest } from '../messages/request'
import {
  AnthropicErrorBody,
  CountTokensBody,
  CountTokensResult,
  CreateMessageBody,
  MessageObject,
  type CreateMessageRequest,
  type MessageObjectT,
} from '../messages/schema'
import { thinkingSigner } from '../messages/signature'
import { createSealer } from '../sealing/sealer'
import { loadSealingKeys } from '../sealing/keys'
import { checkedBody } from '../schema/validate'
import { servedModels } from '../upstream/served-models'
import { JSON_BODY, jsonBody } from './json-body'
import { messagesSseResponse } from './messages-sse'
import { requestIdOf } from '../metrics/http'
import { spelledOut } from '../upstream/delta-run'

const errors = Object.fromEntries([400, 401, 403, 404, 413, 429, 500, 529].map((s) => [s, AnthropicErrorBody]))

export function messagesRoutes(deps: AppDeps, engine: TurnEngine, auth: Auth) {
  const { config, upstream } = deps
  // The gateway's sealing keys (src/sealing), as every other sealed thing it hands out.
  const sealer = deps.sealer ?? createSealer(loadSealingKeys(config))
  const served = servedModels(upstream, { ttlMs: 60_000 })
  const upstreamModel = async (requested: string) => resolveModel(requested, await served.list(), config.anthropicModel)

  return new Elysia({ prefix: '/v1/messages', detail: { tags: ['messages'] } })
    .use(jsonBody)
    .post(
      '',
      async ({ body, request, set }) => {
        const tenant = auth.tenantOf(request.headers)
        const signer = thinkingSigner(sealer, tenant)
        const requestId = requestIdOf(set)
        const model = await upstreamModel(body.model)
        const turn = await engine.start(toResponsesRequest(body, { model, signer, store: config.storeMessages }), {
          tenant,
          signal: request.signal,
          requestId: requestId || undefined,
          parentSpan: deps.tracing?.spanOf(request),
        })
        // The stored response behind this message, for an operator looking it up (GET /v1/responses/{id}).
        if (turn.stored) set.headers['x-agentgate-response-id'] = turn.id
        const translator = new MessageTranslator(translatorOptions(body, signer))
        // The stream's headers are set's: request-id and x-request-id (app.ts), x-agentgate-response-id (above).
        if (body.stream)
          return messagesSseResponse(
            messageEvents(turn, translator),
            config.messagesPingMs,
            set,
            deps.metrics?.activeSseStreams,
          ) as unknown as MessageObjectT
        const events: MessageEvent[] = []
        for await (const batch of turn.batches()) for (const ev of spelledOut(batch)) events.push(...translator.accept(ev))
        if (turn.failure) throw turn.failure
        return accumulateMessage(events)!
      },
      {
        body: checkedBody(CreateMessageBody),
        parse: JSON_BODY,
        response: { 200: MessageObject, ...errors },
        detail: {
          summary: 'Create a message (Anthropic Messages API)',
          description:
            "Runs one model turn on the same engine as /v1/responses. Model ids the upstream does not serve are answered by `--anthropic-model` (default: the upstream's first model). " +
            'With `stream: true` the answer is Server-Sent Events (`message_start`, `content_block_*`, `message_delta`, `message_stop`, `ping`). ' +
            'Upstream reasoning comes back as `thinking` blocks whose `signature` the gateway verifies when they are sent back. ' +
            'Errors use Anthropic\'s envelope `{type:"error", error:{type, message}}`. The turn is stored like a response unless `--store-messages false`; ' +
            'its id is in the `x-agentgate-response-id` header.',
        },
      },
    )
    .post(
      '/count_tokens',
      async ({ body, request, set }) => {
        const tenant = auth.tenantOf(request.headers)
        const model = await upstreamModel(body.model)
        const req = countTokensRequest(body, { model, signer: thinkingSigner(sealer, tenant), store: false })
        // The same count as POST /v1/responses/input_tokens (engine/input-tokens.ts).
        const counted = await engine.countInputTokens(req, tenant, request.signal)
        set.headers['x-agentgate-token-count'] = counted.counted_by
        return { input_tokens: counted.input_tokens }
      },
      {
        body: checkedBody(CountTokensBody),
        parse: JSON_BODY,
        response: { 200: CountTokensResult, ...errors },
        detail: {
          summary: 'Count the input tokens of a message request',
          description:
            "Counted by the upstream's tokenizer where it has one (vLLM's `/tokenize`, with the model's chat template); otherwise estimated from the text's length. " +
            'The `x-agentgate-token-count` header says which: `tokenizer` or `estimate`.',
        },
      },
    )
}

function translatorOptions(body: CreateMessageRequest, signer: TranslatorOptions['signer']): TranslatorOptions {
  const thinking = body.thinking?.type === 'disabled' ? 'dropped' : body.thinking?.display === 'omitted' ? 'omitted' : 'shown'
  return { model: body.model, signer, stopSequences: body.stop_sequences, thinking }
}

/**
 * The turn's events as Messages events, a batch of the turn's as one batch (http/sse.ts writes it at once); a turn
 * that fails after it began ends with an `error` event.
 */
async function* messageEvents(
  turn: Awaited<ReturnType<TurnEngine['start']>>,
  translator: MessageTranslator,
): AsyncGenerator<MessageEvent[]> {
  for await (const batch of turn.batches()) {
    const out: MessageEvent[] = []
    for (const ev of spelledOut(batch)) for (const m of translator.accept(ev)) out.push(m)
    if (out.length) yield out
  }
  if (translator.end?.failed === null) return
  const failure = turn.failure
  if (failure) yield [streamErrorEvent(failure.status, failure.toJSON())]
  else
    yield [
      {
        type: 'error',
        error: { type: 'api_error', message: translator.end?.failed?.message ?? 'The turn ended before the model finished.' },
      },
    ]
}
