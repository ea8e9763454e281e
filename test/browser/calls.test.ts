/**
 * The dashboard's calls, clearinghouse and EF pages in Debian's chromium against the real cloud
 * program (fleet-lab.ts): two routers with hand-made logins carry a call; its page shows both
 * routers' QoS state with timings and the authorization's absence; the first router's page draws
 * its EF over time; after hang-up the routers' final counts (their nft stand-ins count 500 sent,
 * 478..490 arrived) give usage per direction and the loss measured between the routers. The
 * clearinghouse page, with the server given the clearinghouse's store (--clearinghouse-store),
 * lists the settlement of January 2026 and its CSV download matches the store's records.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openClearinghouseStore, type Cdr } from '../../src/cloud/clearinghouse/store/index.ts';
import { CDR_CSV_COLUMNS } from '../../src/core/fleet/api-calls.ts';
import { launchBrowser, openPage, screenshot, unexpectedErrors, visit, chartPixels, overflowX, type BrowserPage } from '../support/browser.ts';
import { until } from '../support/wait.ts';
import { FleetLab, countingNft, waitForLog } from './fleet-lab.ts';
import { parseCsv } from '../support/csv.ts';

const PASSWORD = 'a long enough password';
const CALL_ID = 'browser-loss-1@callqos';
const JAN = { fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 1, 1) };

let lab: FleetLab;
let browser: Browser;
let desktop: BrowserPage;
let chStore = '';

function cdr(transactionId: string, side: Cdr['side'], domain: string, destinationDomain: string | null, endMs: number, extra: Partial<Cdr> = {}): Cdr {
  return {
    transactionId, side, domain, destinationDomain, callId: `${transactionId}@lab`, caller: 'sip:alice@a.example', callee: 'sip:bob@b.example',
    startMs: endMs - 130_000, connectMs: endMs - 125_000, endMs, sipStatus: 200, releasedBy: 'caller', reason: null, codec: 'PCMU',
    flows: [{ line: 0, direction: 'forward', packets: 6000, bytes: 960_000, lost: 3 }],
    serviceClass: 'voice', durationS: 125, billableS: 180, amount: 250, currency: 'EUR', receivedAtMs: endMs + 1000, ...extra,
  };
}
const CDRS: readonly Cdr[] = [
  cdr('t-1', 'source', 'alpha', 'beta', JAN.fromMs + 86_400_000),
  cdr('t-1', 'destination', 'beta', 'alpha', JAN.fromMs + 86_400_000),
  cdr('t-2', 'source', 'alpha', 'beta', JAN.fromMs + 2 * 86_400_000, { caller: '=cmd|"/C calc"!A0', reason: 'busy, then "gone"', amount: 150 }),
  cdr('t-3', 'source', 'beta', null, JAN.fromMs + 3 * 86_400_000),
];

describe('calls, clearinghouse and EF in chromium', () => {
  beforeAll(async () => {
    lab = new FleetLab();
    await lab.build();
    const a = lab.addDeviceLogin('rt-a');
    const b = lab.addDeviceLogin('rt-b');
    chStore = join(lab.temp.path, 'clearinghouse.db');
    // The clearinghouse's own store, as `clearinghouse run --store` leaves it.
    const ch = openClearinghouseStore(`sqlite:${chStore}`);
    await ch.migrate();
    for (const r of CDRS) await ch.insertCdr(r);
    await ch.close();
    await lab.startCloud(['--clearinghouse-store', `sqlite:${chStore}`]);
    // rt-a counts 500 packets leaving and 478 arriving; rt-b 480 leaving and 490 arriving.
    lab.startRouter({ name: 'a', wan: '10.99.1.2', lan: '198.18.1.1', login: { user: 'rt-a', passwordFile: a }, nft: countingNft({ packets: 500, bytes: 80_000 }, { packets: 478, bytes: 76_480 }) });
    lab.startRouter({ name: 'b', wan: '10.99.2.2', lan: '198.18.2.1', login: { user: 'rt-b', passwordFile: b }, nft: countingNft({ packets: 480, bytes: 76_800 }, { packets: 490, bytes: 78_400 }) });
    browser = await launchBrowser();
    desktop = await openPage(browser, 'desktop', { baseURL: lab.httpBase });
    await desktop.page.goto(lab.setupUrl!);
    await desktop.page.waitForSelector('text=Create the first admin');
    await desktop.page.fill('input[name=password]', PASSWORD);
    await desktop.page.fill('input[name=repeat]', PASSWORD);
    await desktop.page.click('button[type=submit]');
    await desktop.page.waitForSelector('[data-testid=operator]');
    for (const name of ['a', 'b']) await waitForLog(lab.routers.get(name)!, /resynchronised/, `router ${name} connects`, 60_000);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    lab?.close();
  });

  it('a live call: both routers\' QoS state with timings, no authorization, and the loss line waiting for counts', async () => {
    const answer = await lab.sessionApi('POST', '/v1/sessions', {
      callId: CALL_ID,
      caller: { source: '10.99.1.2' },
      callee: { source: '10.99.2.2' },
      wait: true,
      media: [{ line: 0, type: 'audio', direction: 'sendrecv', offer: { address: '198.18.1.20', port: 40002 }, answer: { address: '198.18.2.20', port: 40003 }, codec: { name: 'PCMU', clockRate: 8000, ptimeMs: 20 } }],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    const { page } = desktop;
    await visit(page, '/calls', '[data-testid=live-calls]');
    await until(async () => (await page.locator('[data-testid=live-calls] tbody tr').allInnerTexts()).some((r) => r.includes(CALL_ID) && (r.match(/installed/g) ?? []).length === 2), 'the live call with both routers installed', 30_000);
    await page.click(`[data-testid=live-calls] a:has-text("${CALL_ID}")`);
    await page.waitForSelector('[data-testid=call-detail] [data-testid=router-panel]');
    const panels = await page.locator('[data-testid=router-panel]').allInnerTexts();
    expect(panels).toHaveLength(2);
    expect(panels.join('\n')).toContain('Router rt-a');
    expect(panels.join('\n')).toContain('Router rt-b');
    for (const p of panels) {
      expect(p).toContain('installed');
      expect(p).toMatch(/Time to install\s+\d+ ms|Time to install\s+\d+ s/);
      expect(p).toContain('Requested');
    }
    expect(await page.textContent('[data-testid=between-routers]')).toContain('Loss measured between the routers');
    expect(await page.textContent('main')).toContain('No clearinghouse authorization');
    expect(new URL(page.url()).pathname).toBe(`/calls/${encodeURIComponent(CALL_ID)}`);
    await screenshot(page, 'call-live-desktop');
  });

  it('the router\'s page draws its EF over time', async () => {
    const { page } = desktop;
    await visit(page, '/devices/rt-a', '[data-testid=ef-chart] canvas');
    let green = 0;
    try {
      // Green: EF up (components/EfChart.tsx): the live call's 100-ish kbit/s in the last minute.
      await until(async () => ((green = await chartPixels(page, '[data-testid=ef-chart]', [0x16, 0xa3, 0x4a])), green > 50), 'the EF line drawn', 30_000, () => String(green));
    } finally {
      await screenshot(page, 'device-ef-desktop');
    }
  });

  it('after hang-up: usage per direction per router and the loss between them for the whole call', async () => {
    const ended = await lab.sessionApi('DELETE', `/v1/sessions/${encodeURIComponent(CALL_ID)}`);
    expect(ended.status).toBeLessThan(300);
    const { page } = desktop;
    await visit(page, `/calls/${encodeURIComponent(CALL_ID)}`, '[data-testid=call-detail]');
    let text = '';
    await until(async () => ((text = (await page.textContent('[data-testid=between-routers]')) ?? ''), text.includes('for the whole call')), 'the final loss between the routers', 30_000, () => text);
    expect(text).toContain('rt-a → rt-b: 500 sent, 490 arrived, 10 lost (2.0%)');
    expect(text).toContain('rt-b → rt-a: 480 sent, 478 arrived, 2 lost (0.4%)');
    const usage = await page.locator('[data-testid=gate-usage]').allInnerTexts();
    expect(usage.join('\n')).toContain('Up (leaving) 500 pkts');
    expect(usage.join('\n')).toContain('Down (arriving) 490 pkts');
    expect(usage.join('\n')).toContain('final report');
    await screenshot(page, 'call-ended-desktop');
  });

  it('the clearinghouse page lists January\'s settlement and its CSV download holds the store\'s records', async () => {
    const { page } = desktop;
    await visit(page, '/clearinghouse?from=2026-01-01&to=2026-01-31', '[data-testid=settlement-table]');
    const settlement = await page.locator('[data-testid=settlement-table] tbody tr').allInnerTexts();
    expect(settlement).toHaveLength(1);
    expect(settlement[0]).toMatch(/alpha\s+beta\s+2\s+6 min\s+4\.00 EUR/);
    const usage = await page.locator('[data-testid=usage-table] tbody tr').allInnerTexts();
    expect(usage.map((r) => r.split(/\s/)[0])).toEqual(['alpha', 'beta']);
    await screenshot(page, 'clearinghouse-settlement-desktop');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=csv-download]')]);
    expect(download.suggestedFilename()).toBe('callqos-cdrs-all-2026-01-01-2026-02-01.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([...CDR_CSV_COLUMNS]);
    const ch = openClearinghouseStore(`sqlite:${chStore}`);
    try {
      const stored = await ch.listCdrs({ endFromMs: JAN.fromMs, endToMs: JAN.toMs });
      expect(rows.map((r) => [r[0], r[1], r[CDR_CSV_COLUMNS.indexOf('amount')]])).toEqual(stored.map((c) => [c.transactionId, c.side, String(c.amount)]));
    } finally {
      await ch.close();
    }
    // The caller that a spreadsheet would run is text, its quotes doubled.
    expect(text).toContain('"\'=cmd|""/C calc""!A0"');
    expect(text).toContain('"busy, then ""gone"""');
    expect(unexpectedErrors(desktop)).toEqual([]);
  });

  it('at a phone\'s width the call, the router\'s chart and the clearinghouse read without sideways scrolling', async () => {
    const phone = await openPage(browser, 'phone', { baseURL: lab.httpBase });
    const { page } = phone;
    await page.goto('/calls');
    await page.fill('input[name=username]', 'admin');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('[data-testid=recent-calls]');
    for (const [name, path, ready] of [
      ['calls-recent', '/calls', '[data-testid=recent-calls]'],
      ['call-ended', `/calls/${encodeURIComponent(CALL_ID)}`, '[data-testid=between-routers]'],
      ['device-ef', '/devices/rt-a', '[data-testid=ef-chart] canvas'],
      ['clearinghouse-settlement', '/clearinghouse?from=2026-01-01&to=2026-01-31', '[data-testid=settlement-table]'],
    ] as const) {
      await visit(page, path, ready);
      expect(await overflowX(page), `${name} is wider than the phone`).toBeLessThanOrEqual(0);
      await screenshot(page, `${name}-phone`);
    }
    expect(unexpectedErrors(phone)).toEqual([]);
    await phone.context.close();
  });
});
