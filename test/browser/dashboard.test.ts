/**
 * The operator dashboard in Debian's chromium against the real cloud program: the first admin is
 * made with the one-time setup link the server prints; a router enrols with a key made on the
 * Enrolment page and is approved there; a call between it and a router with a hand-made login
 * shows live; every page is visited at a desktop's and a phone's width, checked for its content
 * (texts, table rows, a drawn chart) and saved as a screenshot under .ci/reports/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openPage, screenshot, unexpectedErrors, visit, chartPixels, overflowX, tableRows, type BrowserPage } from '../support/browser.ts';
import { until } from '../support/wait.ts';
import { FleetLab, waitForLog } from './fleet-lab.ts';

const PASSWORD = 'a long enough password';
const CALL_ID = 'browser-call-1@callqos';

let lab: FleetLab;
let browser: Browser;
let desktop: BrowserPage;
let enrolledId = '';
let handLogin = '';
let watcherPassword = '';

// Without chromium the browser fails to launch with what to install: a failure, never a skip.
describe('operator dashboard in chromium', () => {
  beforeAll(async () => {
    lab = new FleetLab();
    await lab.build();
    const passwordFile = lab.addDeviceLogin('rt-hand');
    await lab.startCloud();
    handLogin = passwordFile;
    browser = await launchBrowser();
    desktop = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    lab?.close();
  });

  it('npm start prints the one-time setup link; it makes the first admin and logs in', async () => {
    expect(lab.setupUrl, lab.cloud?.log).toMatch(/\/setup#/);
    const { page } = desktop;
    await page.goto(lab.setupUrl!);
    await page.waitForSelector('text=Create the first admin');
    await screenshot(page, 'setup-desktop');
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=operator]');
    expect(await page.textContent('[data-testid=operator]')).toContain('admin');
    // The token is gone from the address bar: the page moved to the overview.
    expect(new URL(page.url()).hash).toBe('');
    // The link works once.
    const again = await fetch(`${lab.httpBase}/api/v1/auth/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: lab.httpBase },
      body: JSON.stringify({ token: new URL(lab.setupUrl!).hash.slice(1), username: 'second', password: PASSWORD }),
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
  });

  it('with no router yet, each page says what to do', async () => {
    const { page } = desktop;
    await visit(page, '/', '[data-testid=stat-online]');
    expect(await page.textContent('[data-testid=empty]')).toContain('No routers yet');
    expect(await page.textContent('[data-testid=empty]')).toContain('npm run demo');
    await screenshot(page, 'overview-empty-desktop');
    await visit(page, '/devices', '[data-testid=empty]');
    expect(await page.textContent('[data-testid=empty]')).toContain('cloud.enrol_key');
    await visit(page, '/calls', '[data-testid=empty]');
    expect(await page.textContent('[data-testid=empty]')).toContain('No calls yet');
    await screenshot(page, 'calls-empty-desktop');
  });

  it('overview: a router with a hand-made login counts, and the live stream is up', async () => {
    // Its login made by hand (credentials add device) before the server started.
    lab.startRouter({ name: 'hand', wan: '10.99.2.2', lan: '198.18.2.1', login: { user: 'rt-hand', passwordFile: handLogin } });
    const { page } = desktop;
    await visit(page, '/', '[data-testid=stat-online]');
    await until(async () => (await page.textContent('[data-testid=stat-unenrolled] .stat-value')) === '1', 'the hand-made router counted', 30_000);
    await page.waitForSelector('[data-testid=live-state]:has-text("Live")');
    await screenshot(page, 'overview-one-router-desktop');
  });

  it('enrolment: an admin makes a group and a key; the whole key is shown once; a bad group id is refused with its field', async () => {
    const { page } = desktop;
    // Each section loads on its own: wait for the queue's, not just the page.
    await visit(page, '/enrolment', 'text=No router is waiting for approval');
    await page.waitForSelector('text=No device groups yet');
    // Bad input: the server's error names the field, shown beside it.
    await page.fill('[data-testid=create-group] input[name=id]', 'bad id!');
    await page.click('[data-testid=create-group] button[type=submit]');
    await page.waitForSelector('[data-testid=error-id]');
    await screenshot(page, 'enrolment-bad-group-desktop');
    await page.fill('[data-testid=create-group] input[name=id]', 'lab');
    await page.fill('[data-testid=create-group] input[name=name]', 'Lab routers');
    await page.click('[data-testid=create-group] button[type=submit]');
    await until(async () => (await tableRows(page, 'groups-table')).some((r) => r.includes('Lab routers')), 'the group listed');
    await page.fill('[data-testid=create-key] input[name=label]', 'browser test');
    await page.click('[data-testid=create-key] button[type=submit]');
    await page.waitForSelector('[data-testid=new-key]');
    const key = (await page.textContent('#new-key-text'))!.trim();
    expect(key).toMatch(/^[A-Za-z0-9]+\.[A-Za-z0-9_-]+$/);
    await until(async () => (await tableRows(page, 'keys-table')).some((r) => r.includes('browser test')), 'the key listed');
    await screenshot(page, 'enrolment-new-key-desktop');

    // A router set up with the key asks to enrol and waits for approval (the group's policy).
    const router = { name: 'enrolled', wan: '10.99.1.2', lan: '198.18.1.1', login: { enrolKey: key } };
    const enrolment = lab.enrol(router);
    await until(async () => (await tableRows(page, 'pending-table')).length === 1, 'the router in the approval queue (live)', 30_000, () => JSON.stringify(enrolment.statuses));
    expect((await tableRows(page, 'pending-table'))[0]).toContain('COVR-X1860');
    await screenshot(page, 'enrolment-pending-desktop');
    const pendingLink = page.locator('[data-testid=pending-table] tbody tr a').first();
    enrolledId = decodeURIComponent((await pendingLink.getAttribute('href'))!.replace('/devices/', ''));
    await page.click('[data-testid=pending-table] button:has-text("Approve")');
    await page.waitForSelector('text=No router is waiting for approval', { timeout: 15_000 });
    // At its next request the router gets its login and keeps it; its agent then connects with it.
    expect(await enrolment.enrolled).toBe(enrolledId);
    enrolment.stop();
    lab.startRouter(router);
  });

  it('devices: the approved router connects with its own login and is listed online beside the hand-made one', async () => {
    const { page } = desktop;
    await waitForLog(lab.routers.get('enrolled')!, /resynchronised/, 'the enrolled router connects', 60_000);
    await visit(page, '/devices', '[data-testid=devices-table]');
    await until(async () => {
      const list = await tableRows(page, 'devices-table');
      return list.length === 2 && list.every((r) => r.includes('online'));
    }, 'both routers online in the table', 30_000);
    const list = await tableRows(page, 'devices-table');
    expect(list.join('\n')).toContain(enrolledId);
    expect(list.join('\n')).toContain('rt-hand');
    // The filter asks the server: searching the hand-made router leaves one row.
    await page.fill('input[type=search]', 'rt-h');
    await until(async () => (await tableRows(page, 'devices-table')).length === 1, 'the search filters on the server');
    expect(page.url()).toContain('search=rt-h');
    await page.fill('input[type=search]', '');
    await until(async () => (await tableRows(page, 'devices-table')).length === 2, 'the search cleared');
    await screenshot(page, 'devices-desktop');
  });

  it('calls and device page: a call between the two routers is live with both gates installed, and its gate shows on the router', async () => {
    const answer = await lab.sessionApi('POST', '/v1/sessions', {
      callId: CALL_ID,
      caller: { source: '10.99.1.2' },
      callee: { source: '10.99.2.2' },
      wait: true,
      media: [{ line: 0, type: 'audio', direction: 'sendrecv', offer: { address: '198.18.1.20', port: 40002 }, answer: { address: '198.18.2.20', port: 40003 }, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    const { page } = desktop;
    await visit(page, '/calls', 'text=Live');
    await until(async () => (await tableRows(page, 'live-calls')).some((r) => r.includes(CALL_ID) && (r.match(/installed/g) ?? []).length === 2), 'the live call with both gates installed', 30_000);
    await page.click(`[data-testid=live-calls] a:has-text("${CALL_ID}")`);
    await page.waitForSelector('[data-testid=call-detail] [data-testid=router-panel]');
    await screenshot(page, 'calls-live-desktop');

    await visit(page, `/devices/${encodeURIComponent(enrolledId)}`, '[data-testid=identity]');
    expect(await page.textContent('[data-testid=identity]')).toContain('lab');
    await until(async () => (await tableRows(page, 'gates-table')).some((r) => r.includes(CALL_ID)), 'the live gate on the device page', 30_000);
    expect((await tableRows(page, 'interfaces-table')).join('\n')).toContain('198.18.1.1/24');
    // An admin may revoke an accepted router.
    expect(await page.locator('button:has-text("Revoke")').count()).toBe(1);
    await screenshot(page, 'device-desktop');
  });

  it('overview: live calls and EF, and the chart draws them as the server sends updates', async () => {
    const { page } = desktop;
    await visit(page, '/', '[data-testid=stat-calls]');
    await until(async () => (await page.textContent('[data-testid=stat-calls] .stat-value')) === '1', 'one live call', 30_000);
    expect(await page.textContent('[data-testid=stat-ef-up] .stat-value')).toMatch(/kbit\/s|Mbit\/s/);
    // Blue: live calls; green: EF up (components/TimeChart colours in OverviewPage).
    const drawn = async () => ({ calls: await chartPixels(page, '.chart-box', [0x25, 0x63, 0xeb]), efUp: await chartPixels(page, '.chart-box', [0x16, 0xa3, 0x4a]) });
    let seen = { calls: 0, efUp: 0 };
    try {
      await until(async () => ((seen = await drawn()), seen.calls > 50 && seen.efUp > 50), 'the chart lines drawn', 30_000, () => JSON.stringify(seen));
    } finally {
      await screenshot(page, 'overview-desktop');
    }
  });

  it('operators: an admin adds a viewer, the generated password is shown once; a bad username names its field', async () => {
    const { page } = desktop;
    await visit(page, '/operators', '[data-testid=operators-table]');
    await page.fill('[data-testid=add-operator] input[name=username]', 'no spaces allowed');
    await page.click('[data-testid=add-operator] button[type=submit]');
    await page.waitForSelector('[data-testid=error-username]');
    await page.fill('[data-testid=add-operator] input[name=username]', 'watcher');
    await page.click('[data-testid=add-operator] button[type=submit]');
    await page.waitForSelector('[data-testid=new-operator] #new-password');
    watcherPassword = (await page.textContent('#new-password'))!.trim();
    expect(watcherPassword.length).toBeGreaterThanOrEqual(12);
    await until(async () => (await tableRows(page, 'operators-table')).some((r) => r.includes('watcher') && r.includes('viewer')), 'the new operator listed');
    await screenshot(page, 'operators-desktop');
  });

  it('audit: the key, the approval and the new operator are recorded with who did them', async () => {
    const { page } = desktop;
    await visit(page, '/audit', '[data-testid=audit-table]');
    const text = (await tableRows(page, 'audit-table')).join('\n');
    for (const action of ['enrolment-key.create', 'device.approve', 'operator.create']) expect(text).toContain(action);
    expect(text).toContain('operator:admin');
    await screenshot(page, 'audit-desktop');
    expect(unexpectedErrors(desktop, [400, 401])).toEqual([]);
  });

  it('at a phone’s width: log in, the navigation folds into a menu, tables become cards, every page reads', async () => {
    const phone = await openPage(browser, 'phone', { baseURL: lab.httpBase });
    const { page } = phone;
    await page.goto('/devices');
    await page.waitForSelector('input[name=username]');
    await screenshot(page, 'login-phone');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=devices-table]');
    // The navigation is folded: the menu button opens it.
    expect(await page.locator('#nav').isVisible()).toBe(false);
    await page.click('.menu-toggle');
    expect(await page.locator('#nav').isVisible()).toBe(true);
    await screenshot(page, 'menu-phone');
    await page.click('#nav a:has-text("Calls")');
    await page.waitForSelector('[data-testid=live-calls]');
    expect(await page.locator('#nav').isVisible()).toBe(false);

    const pages: [name: string, path: string, ready: string, expectText: string][] = [
      ['overview', '/', '[data-testid=stat-calls]', 'Live calls and EF admitted'],
      ['devices', '/devices', '[data-testid=devices-table]', 'rt-hand'],
      ['device', `/devices/${encodeURIComponent(enrolledId)}`, '[data-testid=gates-table]', CALL_ID],
      ['calls', '/calls', '[data-testid=live-calls]', CALL_ID],
      // This server was started without the clearinghouse's store: the page says how to connect it.
      ['clearinghouse', '/clearinghouse', '[data-testid=clearinghouse-hint]', '--clearinghouse-store'],
      ['enrolment', '/enrolment', '[data-testid=keys-table]', 'browser test'],
      ['audit', '/audit', '[data-testid=audit-table]', 'device.approve'],
      ['operators', '/operators', '[data-testid=operators-table]', 'watcher'],
    ];
    for (const [name, path, ready, expectText] of pages) {
      await visit(page, path, ready);
      expect(await page.textContent('main'), name).toContain(expectText);
      // Nothing wider than the phone: no sideways scrolling of the page.
      const overflow = await overflowX(page);
      expect(overflow, `${name} is wider than the phone`).toBeLessThanOrEqual(0);
      await screenshot(page, `${name}-phone`);
    }
    // A table row is a card: its header row is hidden and each cell carries its column's name.
    await visit(page, '/devices', '[data-testid=devices-table]');
    expect(await page.locator('[data-testid=devices-table] thead').isVisible()).toBe(false);
    expect(await page.locator('[data-testid=devices-table] td[data-label="Status"]').first().isVisible()).toBe(true);
    expect(unexpectedErrors(phone, [400, 401])).toEqual([]);
    await phone.context.close();
  });

  it('a viewer sees the fleet but no admin actions: no Operators section, no approve, revoke or keys', async () => {
    const viewer = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
    const { page } = viewer;
    await page.goto('/');
    await page.fill('input[name=username]', 'watcher');
    await page.fill('input[name=password]', watcherPassword);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=operator]:has-text("viewer")');
    expect(await page.locator('#nav a').allInnerTexts()).toEqual(['Overview', 'Devices', 'Calls', 'Clearinghouse', 'Enrolment', 'Configuration', 'Audit']);
    await visit(page, `/devices/${encodeURIComponent(enrolledId)}`, '[data-testid=identity]');
    expect(await page.locator('button:has-text("Revoke")').count()).toBe(0);
    await visit(page, '/enrolment', 'text=No router is waiting for approval');
    expect(await page.locator('text=Enrolment keys').count()).toBe(0);
    expect(await page.locator('[data-testid=create-group]').count()).toBe(0);
    await screenshot(page, 'enrolment-viewer-desktop');
    // The server refuses what the page does not offer: the API answers 403 to a viewer.
    const status = Number(await page.evaluate("fetch('/api/v1/operators').then((r) => r.status)"));
    expect(status).toBe(403);
    expect(unexpectedErrors(viewer, [400, 401]).filter((e) => !/status of 403/.test(e))).toEqual([]);
    await viewer.context.close();
  });

  it('calls: after hang-up the call moves to recent with its end', async () => {
    const ended = await lab.sessionApi('DELETE', `/v1/sessions/${encodeURIComponent(CALL_ID)}`);
    expect(ended.status).toBeLessThan(300);
    const { page } = desktop;
    await visit(page, '/calls', 'text=Recent');
    await until(async () => (await tableRows(page, 'recent-calls')).some((r) => r.includes(CALL_ID) && r.includes('ended')), 'the call in recent, ended', 30_000);
    // Opened, it shows what each router counted for the call, per direction, from their usage reports.
    await page.click(`[data-testid=recent-calls] a:has-text("${CALL_ID}")`);
    await until(async () => ((await page.textContent('[data-testid=call-detail]')) ?? '').includes('pkts'), 'the usage of the ended call', 30_000);
    await screenshot(page, 'calls-ended-desktop');
  });

  it('logout ends the session: the login page shows and the API answers 401', async () => {
    const { page } = desktop;
    await page.click('button:has-text("Log out")');
    await page.waitForSelector('input[name=username]');
    const status = Number(await page.evaluate("fetch('/api/v1/overview').then((r) => r.status)"));
    expect(status).toBe(401);
  });
});
