/**
 * Browser tests: playwright-core driving Debian's chromium (`apt-get install chromium`; .ci/run
 * installs it). Playwright's own browser download is not used. Pages open at a desktop's size
 * (1280x800) or a phone's (375x740, touch, device scale 2); screenshots go to
 * .ci/reports/screenshots/ as PNG files for a person to look at.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CALLQOS_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '.ci', 'reports', 'screenshots');

export const VIEWPORTS = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1, isMobile: false, hasTouch: false },
  phone: { viewport: { width: 375, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
} as const;
export type ViewportName = keyof typeof VIEWPORTS;

/** Why browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null : `${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium)`;
}

/** Headless chromium; --no-sandbox because tests run as root, where chromium's sandbox refuses to start. */
export async function launchBrowser(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing !== null) throw new Error(missing);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...(asRoot ? ['--no-sandbox'] : []), '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

export interface BrowserPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught page errors seen so far: a page that logs one has a bug. */
  readonly errors: string[];
}

/** A page in a fresh context (its own cookies) at a desktop's or a phone's size. */
export async function openPage(browser: Browser, size: ViewportName, options: { baseURL?: string } = {}): Promise<BrowserPage> {
  const context = await browser.newContext({ ...VIEWPORTS[size], baseURL: options.baseURL, locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error: Error) => errors.push(`page: ${error.message}`));
  return { context, page, errors };
}

/** Saves a full-page PNG as .ci/reports/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`screenshot name ${JSON.stringify(name)}: letters, digits, _ . - only`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * The page's errors but the failed loads a test expects: a 401 while logged out, say (the page
 * then shows the login). Any other console error or uncaught exception is a bug.
 */
export function unexpectedErrors(page: BrowserPage, expectedStatuses: readonly number[] = [401]): string[] {
  const expected = new RegExp(`^console: Failed to load resource: the server responded with a status of (${expectedStatuses.join('|')}) `);
  return page.errors.filter((e) => !expected.test(e));
}

export async function visit(page: Page, path: string, ready: string): Promise<void> {
  await page.goto(path);
  await page.waitForSelector(ready, { timeout: 15_000 });
}

/** The rows of a table by its data-testid, as text. */
export async function tableRows(page: Page, testId: string): Promise<string[]> {
  return page.locator(`[data-testid="${testId}"] tbody tr`).allInnerTexts();
}

/**
 * Pixels of a colour (within a tolerance) on the chart canvas under `container`: a series uPlot
 * drew. The expression runs in the page (the tests' own types have no DOM); -1 without a canvas.
 */
export async function chartPixels(page: Page, container: string, rgb: readonly [number, number, number]): Promise<number> {
  const [r, g, b] = rgb;
  return Number(
    await page.evaluate(`(() => {
      const canvas = document.querySelector(${JSON.stringify(`${container} canvas`)});
      const ctx = canvas && canvas.getContext('2d');
      if (!ctx) return -1;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - ${r}) < 30 && Math.abs(data[i + 1] - ${g}) < 30 && Math.abs(data[i + 2] - ${b}) < 30 && data[i + 3] > 200) n += 1;
      }
      return n;
    })()`),
  );
}

/** How far the page is wider than the window (0: no sideways scrolling). */
export async function overflowX(page: Page): Promise<number> {
  return Number(await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'));
}
