// require_approval and allowed_tools, as the pure rules the engine applies per tool.
import { describe, expect, test } from 'bun:test'
import { type McpToolInfo, needsApproval, toolAllowed } from '../../src/mcp'

const tool = (name: string, annotations: Record<string, unknown> | null = null): McpToolInfo => ({
  name,
  description: null,
  input_schema: { type: 'object' },
  annotations,
})

describe('needsApproval (require_approval)', () => {
  test.each([
    ['absent: OpenAI’s default is always', undefined, 'echo', true],
    ['null', null, 'echo', true],
    ['"always"', 'always', 'echo', true],
    ['"never"', 'never', 'echo', false],
    ['an unknown word asks', 'sometimes', 'echo', true],
    ['{never:{tool_names}} lists the tool', { never: { tool_names: ['echo'] } }, 'echo', false],
    ['{never:{tool_names}} does not list it', { never: { tool_names: ['echo'] } }, 'add', true],
    ['{always:{tool_names}} lists it', { always: { tool_names: ['add'] } }, 'add', true],
    ['{always:{tool_names}} does not list it: still asked', { always: { tool_names: ['add'] } }, 'echo', true],
    ['listed under both: always wins', { always: { tool_names: ['echo'] }, never: { tool_names: ['echo'] } }, 'echo', true],
    ['{} asks', {}, 'echo', true],
    ['a malformed never list asks', { never: { tool_names: 'echo' } }, 'echo', true],
  ] as const)('%s', (_name, policy, name, expected) => {
    expect(needsApproval(policy, name)).toBe(expected)
  })
})

describe('toolAllowed (allowed_tools)', () => {
  test.each([
    ['absent: every tool', undefined, tool('echo'), true],
    ['a list naming it', ['echo', 'add'], tool('echo'), true],
    ['a list not naming it', ['add'], tool('echo'), false],
    ['an empty list: none', [], tool('echo'), false],
    ['{tool_names} naming it', { tool_names: ['echo'] }, tool('echo'), true],
    ['{tool_names} not naming it', { tool_names: ['add'] }, tool('echo'), false],
    ['{read_only:true}, annotated read-only', { read_only: true }, tool('echo', { readOnlyHint: true }), true],
    ['{read_only:true}, not annotated', { read_only: true }, tool('echo'), false],
    ['{read_only:true}, annotated writing', { read_only: true }, tool('echo', { readOnlyHint: false }), false],
    ['{read_only:false}: no filter', { read_only: false }, tool('echo'), true],
    ['both: named and read-only', { tool_names: ['echo'], read_only: true }, tool('echo', { readOnlyHint: true }), true],
    ['both: named but not read-only', { tool_names: ['echo'], read_only: true }, tool('echo'), false],
  ] as const)('%s', (_name, allowed, t, expected) => {
    expect(toolAllowed(allowed, t)).toBe(expected)
  })
})
