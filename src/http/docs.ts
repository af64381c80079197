// Swagger UI at /docs and the OpenAPI document at /docs/json (placeholder until the docs work lands).
import { Elysia } from 'elysia'
import type { AppDeps } from '../app'

export function docsRoutes(_deps: AppDeps) {
  return new Elysia()
}
