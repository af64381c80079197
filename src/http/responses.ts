// /v1/responses (placeholder until the responses work lands).
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'

export function responsesRoutes(_deps: AppDeps) {
  return new Elysia()
}
