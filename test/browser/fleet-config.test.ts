/**
 * Versioned configuration in Debian's chromium against the real cloud program (fleet-lab.ts) and
 * a router enrolled into a group, running the real agent (which applies versions and reports
 * them): on the Configuration page an operator changes the group's template to set
 * ef_budget_percent, previews the draft with its diff for the router, deploys it, and the
 * router's page shows the new version applied as the router reported it, with the diff between
 * its versions. A template with a rate that is not a number is refused with its path.
 * Screenshots at a desktop's and a phone's width.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, SCREENSHOT_DIR, unexpectedErrors, overflowX, tableRows, type BrowserPage } from '../support/browser.ts';
import { until } from '../support/wait.ts';
import { FleetLab, waitForLog } from './fleet-lab.ts';

const PASSWORD = 'a long enough password';

let lab: FleetLab;
let browser: Browser;
let desktop: BrowserPage;
let deviceId = '';

function template(options: Record<string, string>): string {
  return JSON.stringify([{ type: 'qos', name: 'qos', options }], null, 2);
}

describe('group configuration in chromium', () => {
  beforeAll(async () => {
    lab = new FleetLab();
    await lab.build();
    await lab.startCloud();
    browser = await launchBrowser();
    desktop = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
    const { page } = desktop;
    await page.goto(lab.setupUrl!);
    await page.waitForSelector('text=Create the first admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=operator]');
    // A group and a key on the Enrolment page; the router enrols with the key and is approved.
    await page.goto('/enrolment');
    await page.waitForSelector('text=No device groups yet');
    await page.fill('[data-testid=create-group] input[name=id]', 'lab');
    await page.fill('[data-testid=create-group] input[name=name]', 'Lab routers');
    await page.click('[data-testid=create-group] button[type=submit]');
    await until(async () => (await tableRows(page, 'groups-table')).some((r) => r.includes('Lab routers')), 'the group listed');
    await page.fill('[data-testid=create-key] input[name=label]', 'config test');
    await page.click('[data-testid=create-key] button[type=submit]');
    await page.waitForSelector('[data-testid=new-key]');
    const key = (await page.textContent('#new-key-text'))!.trim();
    const router = { name: 'cfg', wan: '10.99.4.2', lan: '198.18.4.1', login: { enrolKey: key } };
    const enrolment = lab.enrol(router);
    await until(async () => (await tableRows(page, 'pending-table')).length === 1, 'the router in the approval queue', 30_000, () => JSON.stringify(enrolment.statuses));
    const link = page.locator('[data-testid=pending-table] tbody tr a').first();
    deviceId = decodeURIComponent((await link.getAttribute('href'))!.replace('/devices/', ''));
    await page.click('[data-testid=pending-table] button:has-text("Approve")');
    expect(await enrolment.enrolled).toBe(deviceId);
    enrolment.stop();
    lab.startRouter(router);
    await waitForLog(lab.routers.get('cfg')!, /resynchronised/, 'the enrolled router connects', 60_000);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    lab?.close();
  });

  it('a template with a rate that is not a number is refused with its path', async () => {
    const { page } = desktop;
    await page.goto('/config?group=lab');
    await page.waitForSelector('[data-testid=group-config] textarea[name=template]');
    await page.fill('textarea[name=template]', template({ uplink_kbit: 'fast', downlink_kbit: '100000', ef_budget_percent: '40' }));
    await page.click('[data-testid=group-config] button[type=submit]');
    // Refused by the request's check (a 400 naming the path) or shown as the router's problem in the preview.
    const refused = page.locator('[data-testid=error-template], [data-testid=preview-problems]').first();
    await refused.waitFor({ timeout: 15_000 });
    expect(await refused.innerText()).toContain('uplink_kbit');
    await screenshot(page, 'config-invalid-desktop');
    if ((await page.locator('[data-testid=draft]').count()) > 0) {
      expect(await page.locator('[data-testid=deploy-form] button[type=submit]').isDisabled()).toBe(true);
      await page.click('[data-testid=deploy-form] button:has-text("Discard")');
      await page.waitForSelector('[data-testid=draft]', { state: 'detached' });
    }
  });

  it('sets ef_budget_percent for the group: preview with the diff, deploy, and the router applies the new version', async () => {
    const { page } = desktop;
    await page.fill('textarea[name=template]', template({ uplink_kbit: '20000', downlink_kbit: '100000', ef_budget_percent: '40' }));
    await page.click('[data-testid=group-config] button[type=submit]');
    const preview = page.locator(`[data-testid="preview-${deviceId}"]`);
    await preview.waitFor({ timeout: 15_000 });
    const diff = await tableRows(page, `preview-diff-${deviceId}`);
    expect(diff.some((r) => r.includes('qos.ef_budget_percent') && r.includes('40')), diff.join('\n')).toBe(true);
    await screenshot(page, 'config-preview-desktop');
    await page.click('[data-testid=deploy-form] button[type=submit]');
    const deployed = page.locator('[data-testid=deployed]');
    await deployed.waitFor({ timeout: 15_000 });
    const version = /version (\d+)/.exec(await deployed.innerText());
    expect(version, await deployed.innerText()).not.toBeNull();
    await screenshot(page, 'config-deployed-desktop');

    await page.goto(`/devices/${encodeURIComponent(deviceId)}`);
    const status = page.locator('[data-testid=config-status]');
    await status.waitFor({ timeout: 15_000 });
    await until(async () => {
      const text = await status.innerText();
      return text.includes('applied') && new RegExp(`Applied version\\s+${version![1]}`).test(text);
    }, `version ${version![1]} applied as the router reports it`, 60_000, () => lab.routers.get('cfg')!.log.slice(-2000));
    const diffTable = page.locator('[data-testid=config-diff]');
    await diffTable.waitFor();
    await screenshot(page, 'device-config-desktop');
    expect(unexpectedErrors(desktop, [400, 401])).toEqual([]);
  });

  it('at a phone\'s width: a staged rollout of a new budget, its progress, and the router\'s diff between its two versions', async () => {
    const phone = await openPage(browser, 'phone', { baseURL: lab.httpBase });
    const { page } = phone;
    await page.goto('/config?group=lab');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=group-config] textarea[name=template]');
    // The editor starts from the group's template as deployed.
    expect(await page.inputValue('textarea[name=template]')).toContain('"ef_budget_percent": "40"');
    await page.fill('textarea[name=template]', template({ uplink_kbit: '20000', downlink_kbit: '100000', ef_budget_percent: '35' }));
    await page.click('[data-testid=group-config] button[type=submit]');
    await page.locator(`[data-testid="preview-${deviceId}"]`).waitFor({ timeout: 15_000 });
    const diff = await tableRows(page, `preview-diff-${deviceId}`);
    expect(diff.length, diff.join('\n')).toBe(1);
    expect(diff[0]).toMatch(/qos\.ef_budget_percent[\s\S]*40[\s\S]*35/);
    expect(await overflowX(page), 'the configuration page is wider than the phone').toBeLessThanOrEqual(0);
    await screenshot(page, 'config-preview-phone');
    await page.check('[data-testid=deploy-form] input[name=staged]');
    await page.fill('[data-testid=deploy-form] input[name=canaryPercent]', '100');
    await page.fill('[data-testid=deploy-form] input[name=waveSize]', '1');
    await page.fill('[data-testid=deploy-form] input[name=stopPercent]', '0');
    await page.click('[data-testid=deploy-form] button[type=submit]');
    const rollout = page.locator('[data-testid=rollout]');
    await rollout.waitFor({ timeout: 15_000 });
    await until(async () => (await rollout.innerText()).includes('completed'), 'the rollout completes (polled every 2 s)', 60_000, () => lab.routers.get('cfg')!.log.slice(-2000));
    expect(await rollout.innerText()).toMatch(/1 applied/);
    expect(await overflowX(page), 'the rollout is wider than the phone').toBeLessThanOrEqual(0);
    await screenshot(page, 'config-rollout-phone');

    await page.goto(`/devices/${encodeURIComponent(deviceId)}`);
    const status = page.locator('[data-testid=config-status]');
    await status.waitFor({ timeout: 15_000 });
    await until(async () => /Applied version\s+2/.test(await status.innerText()), 'version 2 applied', 30_000);
    // The diff starts at the two newest versions: 1 to 2.
    await until(async () => (await tableRows(page, 'config-diff-table')).some((r) => r.includes('qos.ef_budget_percent') && r.includes('40') && r.includes('35')), 'the diff from version 1 to 2', 15_000);
    expect(await overflowX(page), 'the device page is wider than the phone').toBeLessThanOrEqual(0);
    await screenshot(page, 'device-config-phone');
    // The whole page is tall at this width: the card alone, to read it.
    await page.locator('[data-testid=config-card]').screenshot({ path: join(SCREENSHOT_DIR, 'device-config-card-phone.png') });
    expect(unexpectedErrors(phone, [400, 401])).toEqual([]);
    await phone.context.close();
  });
});
