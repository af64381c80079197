// build.ts's own housekeeping (what the executable holds is tested in test/binary).
import { expect, test } from 'bun:test'
import { staleChunkMaps } from '../build'

test('a build clears the chunk source maps earlier builds left in its output directory, and nothing else', () => {
  const names = [
    'agentgate',
    'agentgate.map',
    'agentgate-linux-arm64',
    'chunk-026jjtvm.js.map',
    'chunk-zq8xd2kw.js.map',
    'chunk-026jjtvm.js',
    'my-chunk-026jjtvm.js.map',
    'notes.txt',
  ]
  expect(staleChunkMaps(names)).toEqual(['chunk-026jjtvm.js.map', 'chunk-zq8xd2kw.js.map'])
})
