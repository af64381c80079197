// GET /v1/models (placeholder until the models work lands).
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'

export function modelsRoutes(_deps: AppDeps) {
  return new Elysia()
}
