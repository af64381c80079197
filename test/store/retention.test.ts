// The background retention sweep of `serve` (src/store/retention.ts): periodic, logs what it pruned, stops cleanly.
import { expect, test } from 'bun:test'
import { createLogger } from '../../src/log'
import { openStore } from '../../src/store'
import { describePrune, startRetention } from '../../src/store/retention'
import { responseRecord, type JsonStore } from './fixtures'

const DAY = 86_400_000

test('the background sweep prunes old responses on every tick, logs what it deleted, and stops', async () => {
  const store: JsonStore = await openStore({ db: ':memory:', databaseUrl: null })
  const lines: any[] = []
  const logger = createLogger('info', (l) => lines.push(JSON.parse(l)))
  const now = Date.now()
  await store.createResponse(responseRecord('resp_old1', { createdAt: now - 10 * DAY }), [])
  const stop = startRetention(store, { retentionDays: 3, eventLogRetentionHours: 24 }, logger, { firstDelayMs: 0, intervalMs: 20 })
  try {
    for (let i = 0; i < 200 && (await store.getResponse('default', 'resp_old1')); i++) await Bun.sleep(10)
    expect(await store.getResponse('default', 'resp_old1')).toBeNull()
    // a later tick catches what aged since
    await store.createResponse(responseRecord('resp_old2', { createdAt: now - 5 * DAY }), [])
    for (let i = 0; i < 200 && (await store.getResponse('default', 'resp_old2')); i++) await Bun.sleep(10)
    expect(await store.getResponse('default', 'resp_old2')).toBeNull()
  } finally {
    await stop()
  }
  expect(lines.filter((l) => l.msg === 'retention pruned old data').map((l) => l.responses)).toEqual([1, 1])
  // stopped: nothing more is pruned
  await store.createResponse(responseRecord('resp_old3', { createdAt: now - 5 * DAY }), [])
  await Bun.sleep(60)
  expect(await store.getResponse('default', 'resp_old3')).not.toBeNull()
  await store.close()
})

test('describePrune says what was deleted and whether space went back to the file system', () => {
  const line = describePrune(
    { responses: 3, conversations: 1, eventLogs: 2, events: 40, freedPages: 12, vacuumMode: 'incremental' },
    { retentionDays: 30, eventLogRetentionHours: 24 },
  )
  expect(line).toBe(
    'pruned: 3 responses older than 30 days (with their items and events), 1 deleted or empty conversation, the event logs of 2 responses finished over 24 h ago (40 events); 12 free pages given back to the file system',
  )
})
