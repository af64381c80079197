// What the model reads of a tools/call result: text parts as they are, anything else in one summarising line.
import { expect, test } from 'bun:test'
import { callResultText } from '../../src/mcp/content'

const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64')

test.each([
  [
    'text parts joined by newlines',
    {
      content: [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ],
    },
    'a\nb',
  ],
  ['an image: its type and size', { content: [{ type: 'image', mimeType: 'image/png', data: b64(1234) }] }, '[image/png, 1234 bytes]'],
  ['audio likewise', { content: [{ type: 'audio', mimeType: 'audio/wav', data: b64(10) }] }, '[audio/wav, 10 bytes]'],
  [
    'a resource link: name and uri',
    { content: [{ type: 'resource_link', name: 'notes', uri: 'file:///n.md' }] },
    '[resource: notes file:///n.md]',
  ],
  ['an embedded text resource: its text', { content: [{ type: 'resource', resource: { uri: 'file:///a', text: 'inside' } }] }, 'inside'],
  [
    'an embedded blob: uri, type and size',
    { content: [{ type: 'resource', resource: { uri: 'file:///b', mimeType: 'application/pdf', blob: b64(5) } }] },
    '[resource file:///b, application/pdf, 5 bytes]',
  ],
  ['an unknown part type is named', { content: [{ type: 'hologram' }] }, '[hologram content]'],
  ['no content but structuredContent: its JSON', { content: [], structuredContent: { temp: 21 } }, '{"temp":21}'],
  ['nothing at all: empty', { content: [] }, ''],
])('%s', (_name, result, text) => {
  expect(callResultText(result)).toBe(text)
})
