// Swagger UI in a real headless Chromium, with every request to anything but the gateway blocked and
// recorded: the page must render every operation from /docs/json and "Try it out" must reach the
// gateway. Needs /usr/bin/chromium (Debian's `chromium` package; .ci/run installs it).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream'
import { startGateway, type TestGateway } from '../support/gateway'

const CHROMIUM = '/usr/bin/chromium'
const SCREENSHOT = '/tmp/agentgate-swagger-ui.png'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`SKIP test/browser/swagger-ui.test.ts: ${CHROMIUM} not found (apt-get install -y chromium)`)

let upstream: FakeUpstream
let gw: TestGateway
let browser: Browser
let page: Page
let doc: any
/** requests the page tried to make to anything but the gateway (all aborted) */
const blocked: string[] = []
const pageErrors: string[] = []

describe.skipIf(!hasChromium)('Swagger UI at /docs in headless Chromium', () => {
  beforeAll(async () => {
    upstream = startFakeUpstream()
    gw = await startGateway({ upstream: upstream.url, logLevel: 'warn' })
    doc = await (await fetch(`${gw.url}/docs/json`)).json()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: 30_000,
    })
    const context = await browser.newContext({ viewport: { width: 1280, height: 1600 } })
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url())
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.hostname === '127.0.0.1') return route.continue()
      blocked.push(route.request().url())
      return route.abort('blockedbyclient')
    })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    await page.goto(`${gw.url}/docs`, { waitUntil: 'load' })
    await page.waitForSelector('.opblock', { timeout: 20_000 })
  }, 60_000)

  afterAll(async () => {
    await browser?.close().catch(() => {})
    await gw?.stop()
    await upstream?.stop()
  })

  /** The block of one operation, as Swagger UI renders it. */
  const operation = (method: string, path: string) =>
    page.locator(`.opblock-${method}:has(.opblock-summary-path[data-path="${path}"])`).first()

  /** Expands an operation, clicks "Try it out" then "Execute", and returns the status Swagger UI shows. */
  async function tryItOut(method: string, path: string): Promise<string> {
    const op = operation(method, path)
    await op.locator('.opblock-summary').first().click()
    await op.locator('button.try-out__btn').click()
    await op.locator('button.execute').click()
    const status = op.locator('.live-responses-table .response .response-col_status').first()
    await status.waitFor()
    return (await status.innerText()).trim()
  }

  test('renders the document title and every operation of /docs/json', async () => {
    expect(await page.locator('.info .title').first().innerText()).toContain('agentgate')
    const expected = Object.values(doc.paths as Record<string, object>).reduce<number>((n, item) => n + Object.keys(item).length, 0)
    expect(await page.locator('.opblock').count()).toBe(expected)
    for (const path of ['/health', '/ready', '/v1/models', '/v1/chat/completions']) {
      expect(await page.locator(`.opblock-summary-path[data-path="${path}"]`).count()).toBeGreaterThan(0)
    }
    // Swagger UI lists resolver/parser problems in an errors box; there must be none
    expect(await page.locator('.errors-wrapper').count()).toBe(0)
  })

  test('GET /health: Try it out → Execute reaches the gateway and shows 200', async () => {
    expect(await tryItOut('get', '/health')).toBe('200')
    const body = await operation('get', '/health').locator('.live-responses-table .response-col_description pre').first().innerText()
    expect(body).toContain('"status": "ok"')
  }, 20_000)

  test('GET /v1/models: Try it out → Execute goes through the gateway to the upstream and shows 200', async () => {
    const before = upstream.requestsTo('/v1/models').length
    expect(await tryItOut('get', '/v1/models')).toBe('200')
    expect(upstream.requestsTo('/v1/models').length).toBe(before + 1)
    await page.screenshot({ path: SCREENSHOT, fullPage: true })
    // Chromium renders the whole catalog schema here: seconds on a shared machine, over bun's 5 s default
  }, 20_000)

  test('no request left 127.0.0.1 and the page threw no error', () => {
    expect(blocked).toEqual([])
    expect(pageErrors).toEqual([])
  })
})
