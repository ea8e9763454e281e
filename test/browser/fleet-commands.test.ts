/**
 * The device page's remote commands and configuration cards in Debian's chromium against the real
 * cloud program (fleet-lab.ts) and a simulated router running the real agent: an operator sends
 * `status` and reads the router's answer; a test gate with a port out of range is refused beside
 * its field before anything is sent; diagnostics come back as named parts; an operator is not offered
 * rotate-credentials and a viewer sees no commands. Screenshots at a desktop's and a phone's width.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, SCREENSHOT_DIR, unexpectedErrors, overflowX, type BrowserPage } from '../support/browser.ts';
import { until } from '../support/wait.ts';
import { FleetLab, waitForLog } from './fleet-lab.ts';

const PASSWORD = 'a long enough password';

let lab: FleetLab;
let browser: Browser;
let desktop: BrowserPage;

describe('remote commands on the device page in chromium', () => {
  beforeAll(async () => {
    lab = new FleetLab();
    await lab.build();
    const a = lab.addDeviceLogin('rt-cmd');
    await lab.startCloud();
    lab.startRouter({ name: 'a', wan: '10.99.3.2', lan: '198.18.3.1', login: { user: 'rt-cmd', passwordFile: a } });
    browser = await launchBrowser();
    desktop = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
    await desktop.page.goto(lab.setupUrl!);
    await desktop.page.waitForSelector('text=Create the first admin');
    await desktop.page.fill('input[name=password]', PASSWORD);
    await desktop.page.fill('input[name=repeat]', PASSWORD);
    await desktop.page.click('button[type=submit]');
    await desktop.page.waitForSelector('[data-testid=operator]');
    await waitForLog(lab.routers.get('a')!, /resynchronised/, 'router a connects', 60_000);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    lab?.close();
  });

  it('sends status to the router, follows it to succeeded and shows the answer as JSON', async () => {
    const { page } = desktop;
    await page.goto('/devices/rt-cmd');
    await page.waitForSelector('[data-testid=commands-card]');
    // Every command an admin may send is offered, rotate-credentials included.
    const offered = await page.locator('[data-testid=send-command] select[name=name] option').allInnerTexts();
    expect(offered).toContain('rotate-credentials');
    expect(offered).toContain('test-gate');
    await page.selectOption('[data-testid=send-command] select[name=name]', 'status');
    await page.click('[data-testid=send-command] button[type=submit]');
    const row = page.locator('[data-testid=commands-table] tbody tr').first();
    await until(async () => (await row.innerText()).includes('succeeded'), 'the status command succeeds (polled every 2 s)', 30_000);
    const text = await row.innerText();
    expect(text).toContain('status');
    expect(text).toContain('admin');
    await row.locator('button:has-text("Show")').click();
    const json = page.locator('[data-testid=command-result-json]');
    await json.waitFor({ timeout: 15_000 });
    const shown = JSON.parse(await json.innerText()) as Record<string, unknown>;
    expect(typeof shown).toBe('object');
    expect(Object.keys(shown).length).toBeGreaterThan(0);
    await screenshot(page, 'device-commands-desktop');
    expect(unexpectedErrors(desktop)).toEqual([]);
  });

  it('refuses a test gate whose LAN port is out of range, naming the field, and sends nothing', async () => {
    const { page } = desktop;
    const rowsBefore = await page.locator('[data-testid=commands-table] tbody tr').count();
    await page.selectOption('[data-testid=send-command] select[name=name]', 'test-gate');
    await page.fill('input[name="args.lanAddress"]', '198.18.3.20');
    await page.fill('input[name="args.lanPort"]', '70000');
    await page.fill('input[name="args.direction"]', 'both');
    await page.fill('input[name="args.seconds"]', '60');
    await page.click('[data-testid=send-command] button[type=submit]');
    const error = page.locator('[data-testid="error-args.lanPort"]');
    await error.waitFor({ timeout: 5_000 });
    expect(await error.innerText()).toMatch(/lanPort.*65535/);
    expect(await page.locator('[data-testid=commands-table] tbody tr').count()).toBe(rowsBefore);
    await screenshot(page, 'device-command-refused-desktop');
  });

  it('a router with a hand-made login has no configuration card (configuration is per fleet group)', async () => {
    const { page } = desktop;
    await page.waitForSelector('[data-testid=commands-card]');
    expect(await page.locator('[data-testid=config-card]').count()).toBe(0);
  });

  it('collects diagnostics: each part under its name, in a box that scrolls', async () => {
    const { page } = desktop;
    await page.selectOption('[data-testid=send-command] select[name=name]', 'diagnostics');
    expect(await page.locator('[data-testid=send-command] input[name^="args."]').count()).toBe(0);
    await page.click('[data-testid=send-command] button[type=submit]');
    const row = page.locator('[data-testid=commands-table] tbody tr').first();
    await until(async () => /diagnostics[\s\S]*(succeeded|failed)/.test(await row.innerText()), 'the diagnostics command finishes', 60_000);
    expect(await row.innerText()).toContain('succeeded');
    await row.locator('button:has-text("Show")').click();
    const result = page.locator('[data-testid=command-result]');
    await until(async () => (await result.locator('.result-part h4').count()) > 0, 'the diagnostics parts shown', 15_000);
    const names = await result.locator('.result-part h4').allInnerTexts();
    expect(names.length).toBeGreaterThan(1);
    // Each part's text is in a box of bounded height that scrolls rather than growing the page.
    // Runs in the page; the test's own types have no DOM, so the page's global is named here.
    const box = await result.locator('.result-part pre').first().evaluate((el) => {
      const style = (globalThis as unknown as { getComputedStyle(e: unknown): { overflowY: string; maxHeight: string } }).getComputedStyle(el);
      return { overflowY: style.overflowY, maxHeight: style.maxHeight };
    });
    expect(box).toEqual({ overflowY: 'auto', maxHeight: expect.stringMatching(/px$/) as unknown as string });
    await result.screenshot({ path: join(SCREENSHOT_DIR, 'device-command-diagnostics-desktop.png') });
    expect(unexpectedErrors(desktop)).toEqual([]);
  });

  it('roles: an operator is not offered rotate-credentials, a viewer sees no Commands card', async () => {
    const { page } = desktop;
    const passwords: Record<string, string> = {};
    await page.goto('/operators');
    for (const [name, role] of [['ops', 'operator'], ['watcher', 'viewer']] as const) {
      await page.waitForSelector('[data-testid=add-operator]');
      await page.fill('[data-testid=add-operator] input[name=username]', name);
      await page.selectOption('[data-testid=add-operator] select[name=role]', role);
      await page.click('[data-testid=add-operator] button[type=submit]');
      await page.waitForSelector('[data-testid=new-operator] #new-password');
      passwords[name] = (await page.textContent('#new-password'))!.trim();
      await page.goto('/operators');
    }
    for (const name of ['ops', 'watcher']) {
      const other = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
      await other.page.goto('/devices/rt-cmd');
      await other.page.fill('input[name=username]', name);
      await other.page.fill('input[name=password]', passwords[name]!);
      await other.page.click('button[type=submit]');
      await other.page.waitForSelector('[data-testid=identity]');
      if (name === 'ops') {
        await other.page.waitForSelector('[data-testid=commands-card]');
        const offered = await other.page.locator('[data-testid=send-command] select[name=name] option').allInnerTexts();
        expect(offered).toContain('status');
        expect(offered).not.toContain('rotate-credentials');
      } else {
        await other.page.waitForSelector('[data-testid=interfaces-table]');
        expect(await other.page.locator('[data-testid=commands-card]').count()).toBe(0);
      }
      expect(unexpectedErrors(other)).toEqual([]);
      await other.context.close();
    }
  });

  it('at a phone\'s width the commands card reads without sideways scrolling', async () => {
    const phone = await openPage(browser, 'phone', { baseURL: lab.httpBase });
    const { page } = phone;
    await page.goto('/devices/rt-cmd');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=commands-table]');
    // The newest finished command is the diagnostics: its parts at a phone's width.
    await page.locator('[data-testid=commands-table] button:has-text("Show")').first().click();
    await page.locator('[data-testid=command-result] .result-part h4').first().waitFor({ timeout: 15_000 });
    expect(await overflowX(page), 'the device page is wider than the phone').toBeLessThanOrEqual(0);
    await screenshot(page, 'device-commands-phone');
    expect(unexpectedErrors(phone)).toEqual([]);
    await phone.context.close();
  });
});
