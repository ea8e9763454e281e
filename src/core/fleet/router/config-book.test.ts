import { describe, expect, it } from 'vitest';
import { configHashOf } from '../config-version.ts';
import type { ConfigSection } from '../../protocol/messages/config.ts';
import { carriesCloud, driftOf, EMPTY_BOOK, KEEP_GOOD, linkVerdict, managedSections, parseBook, parsePending, planApply, recordGood, renderBook, renderPending, sectionsToWrite, touchesCloudLink } from './config-book.ts';

const h = (n: number) => n.toString(16).padStart(16, '0');
const cloud = (port: string): ConfigSection => ({ type: 'cloud', name: 'cloud', options: { enabled: '1', broker: '127.0.0.1', port }, lists: {} });
const qos = (up: string): ConfigSection => ({ type: 'qos', name: 'qos', options: { uplink_kbit: up, downlink_kbit: '100000' }, lists: {} });

describe('the version book', () => {
  it('records good versions newest first, keeps five, and names the ones to drop', () => {
    let book = EMPTY_BOOK;
    const dropped: number[] = [];
    for (let v = 1; v <= 7; v++) {
      const r = recordGood(book, { version: v, hash: h(v) }, h(100 + v));
      book = r.book;
      dropped.push(...r.dropped);
    }
    expect(book.applied).toEqual({ version: 7, hash: h(7) });
    expect(book.fileHash).toBe(h(107));
    expect(book.good.map((g) => g.version)).toEqual([7, 6, 5, 4, 3]);
    expect(book.good).toHaveLength(KEEP_GOOD);
    expect(dropped).toEqual([1, 2]);
  });

  it('a version applied again moves to the front instead of appearing twice', () => {
    let book = recordGood(EMPTY_BOOK, { version: 1, hash: h(1) }, h(1)).book;
    book = recordGood(book, { version: 2, hash: h(2) }, h(2)).book;
    book = recordGood(book, { version: 1, hash: h(1) }, h(1)).book;
    expect(book.good.map((g) => g.version)).toEqual([1, 2]);
  });

  it('survives its file (a restart) and reads a damaged file as empty', () => {
    const book = recordGood(recordGood(EMPTY_BOOK, { version: 3, hash: h(3) }, h(33)).book, { version: 4, hash: h(4) }, h(44)).book;
    expect(parseBook(renderBook(book))).toEqual(book);
    const keeping = recordGood(book, { version: 5, hash: h(5) }, h(55), true).book;
    expect(keeping.keepsCloud).toBe(true);
    expect(parseBook(renderBook(keeping))).toEqual(keeping);
    // A book written before keepsCloud existed hashed the whole file: it reads as false.
    expect(parseBook('{"applied":{"version":3,"hash":"0000000000000003"},"fileHash":"0000000000000033","good":[]}').keepsCloud).toBe(false);
    expect(parseBook('{not json')).toEqual(EMPTY_BOOK);
    expect(parseBook('{"applied":{"version":-1,"hash":"x"},"good":[{"version":2,"hash":"zz"}]}')).toEqual(EMPTY_BOOK);
  });
});

describe('what an arriving version means', () => {
  const book = recordGood(EMPTY_BOOK, { version: 5, hash: h(5) }, h(5)).book;
  it('the applied version again is applied already (idempotent)', () => {
    expect(planApply(book, { version: 5, hash: h(5) })).toEqual({ kind: 'same' });
  });
  it('the applied number with other content is refused: versions never change', () => {
    const plan = planApply(book, { version: 5, hash: h(6) });
    expect(plan.kind).toBe('conflict');
    expect(plan.kind === 'conflict' && plan.reason).toMatch(/^E_CONFIG: version 5 /);
  });
  it('anything else is new, before the first version too', () => {
    expect(planApply(book, { version: 6, hash: h(6) })).toEqual({ kind: 'new' });
    expect(planApply(EMPTY_BOOK, { version: 1, hash: h(1) })).toEqual({ kind: 'new' });
  });
});

describe('the cloud link check and rollback decision', () => {
  it('a change in the cloud section touches the link, other sections do not', () => {
    expect(touchesCloudLink([qos('1000'), cloud('1883')], [qos('2000'), cloud('1883')])).toBe(false);
    expect(touchesCloudLink([qos('1000'), cloud('1883')], [qos('1000'), cloud('1884')])).toBe(true);
    expect(touchesCloudLink([qos('1000')], [qos('1000'), cloud('1883')])).toBe(true);
    // Option order is not a change.
    const reordered: ConfigSection = { type: 'cloud', name: 'cloud', options: { port: '1883', broker: '127.0.0.1', enabled: '1' }, lists: {} };
    expect(touchesCloudLink([cloud('1883')], [reordered])).toBe(false);
  });
  it('a version without a cloud section leaves the link alone, whatever the file has', () => {
    expect(touchesCloudLink([qos('1000'), cloud('1883')], [qos('2000')])).toBe(false);
    expect(touchesCloudLink([qos('1000')], [qos('2000')])).toBe(false);
    expect(carriesCloud([qos('2000')])).toBe(false);
    expect(carriesCloud([qos('2000'), cloud('1883')])).toBe(true);
  });
  it('keeps the new settings when the session was accepted in time, else rolls back', () => {
    expect(linkVerdict(true)).toBe('keep');
    expect(linkVerdict(false)).toBe('roll-back');
  });
});

describe('what the router writes for a version', () => {
  const gate: ConfigSection = { type: 'gate', name: null, options: { lan_address: '192.168.1.20', lan_port: '5060', rate_kbit: '80' }, lists: {} };
  it('a version without a cloud section: its sections, then the router\'s own cloud section as the file has it', () => {
    expect(sectionsToWrite([cloud('1883'), qos('1000'), gate], [qos('2000')])).toEqual([qos('2000'), cloud('1883')]);
    expect(sectionsToWrite([qos('1000')], [qos('2000')])).toEqual([qos('2000')]);
  });
  it('a version with a cloud section replaces the router\'s whole', () => {
    const leaner: ConfigSection = { type: 'cloud', name: 'cloud', options: { enabled: '0' }, lists: {} };
    expect(sectionsToWrite([qos('1000'), cloud('1883')], [qos('2000'), leaner])).toEqual([qos('2000'), leaner]);
  });
  it('the fleet manages all sections, or all but cloud when the router keeps its own', () => {
    expect(managedSections([qos('1'), cloud('1883'), gate], true)).toEqual([qos('1'), gate]);
    expect(managedSections([qos('1'), cloud('1883')], false)).toEqual([qos('1'), cloud('1883')]);
  });
});

describe('drift', () => {
  const sections = [qos('1000')];
  const hash = configHashOf(sections);
  const book = recordGood(EMPTY_BOOK, { version: 2, hash: h(2) }, hash).book;
  it('only with an applied version', () => {
    expect(driftOf(EMPTY_BOOK, configHashOf([qos('9')]), null)).toBe('none');
  });
  it('none while the file holds the applied content, report once per distinct content', () => {
    expect(driftOf(book, hash, null)).toBe('none');
    const edited = configHashOf([qos('2000')]);
    expect(driftOf(book, edited, null)).toBe('report');
    expect(driftOf(book, edited, edited)).toBe('reported');
    expect(driftOf(book, configHashOf([qos('3000')]), edited)).toBe('report');
  });
});

describe('a link check under way, across a restart', () => {
  it('round-trips, and anything damaged is no pending check', () => {
    const pending = { version: 7, hash: h(7), corr: 'srv:1:42' };
    expect(parsePending(renderPending(pending))).toEqual(pending);
    expect(parsePending('{"version":7,"hash":"0000000000000007"}')).toBeNull();
    expect(parsePending('{"version":7,"hash":"0000000000000007","corr":"has space"}')).toBeNull();
    expect(parsePending('')).toBeNull();
  });
});
