/**
 * The clearinghouse store contract: SQLite and PostgreSQL run the same cases. A backend gives an
 * empty migrated store, and another handle on the same data (a restart, or a second instance).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Cdr, ClearinghouseStore, Transaction } from '../../../src/cloud/clearinghouse/store/index.ts';

export interface ClearinghouseBackend {
  fresh(): Promise<ClearinghouseStore>;
  another(): Promise<ClearinghouseStore>;
}

const T0 = 1_800_000_000_000;

export function transaction(id: string, domain = 'domain-a', callId = `call-${id}`): Transaction {
  return {
    id, domain, client: 'qos-a', callId, caller: 'sip:alice@a.example', callee: 'sip:bob@b.example', destinationDomain: 'domain-b',
    flows: [{ line: 0, offer: { address: '192.168.1.20', port: 4000 }, answer: { address: '198.51.100.9', port: 5000 }, dscp: 46, kbps: 88 }],
    issuedAtMs: T0, validUntilMs: T0 + 300_000, maxDurationS: 14_400,
  };
}

export function cdr(transactionId: string, endMs: number, domain = 'domain-a', amount = 4, side: Cdr['side'] = 'source'): Cdr {
  return {
    transactionId, side, domain, destinationDomain: 'domain-b', callId: `call-${transactionId}`, caller: 'sip:alice@a.example', callee: 'sip:bob@b.example',
    startMs: endMs - 130_000, connectMs: endMs - 121_000, endMs, sipStatus: 200, releasedBy: 'callee', reason: 'BYE', codec: 'PCMU',
    flows: [{ line: 0, direction: 'forward', packets: 6050, bytes: 1_040_600, lost: 2 }, { line: 0, direction: 'reverse', packets: 6049, bytes: 1_040_428, lost: null }],
    serviceClass: 'voice', durationS: 121, billableS: 126, amount, currency: 'EUR', receivedAtMs: endMs + 50,
  };
}

const codeOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: { code?: string }) => e.code ?? String(e));

export function clearinghouseStoreContract(name: string, backend: ClearinghouseBackend): void {
  describe(`clearinghouse store contract: ${name}`, () => {
    const opened: ClearinghouseStore[] = [];
    const fresh = async () => {
      const s = await backend.fresh();
      opened.push(s);
      return s;
    };
    const another = async () => {
      const s = await backend.another();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('keeps transactions: once per id, read back whole, after a restart too', async () => {
      const store = await fresh();
      await store.putTransaction(transaction('t1'));
      expect(await codeOf(store.putTransaction({ ...transaction('t1'), callId: 'other' }))).toBe('E_CONFLICT');
      expect(await store.getTransaction('t1')).toEqual(transaction('t1'));
      expect(await store.getTransaction('t2')).toBeNull();
      await store.migrate(); // again: changes nothing
      expect(await (await another()).getTransaction('t1')).toEqual(transaction('t1'));
    });

    it('records a CDR once per transaction and side: a repeat, or a differing retry, changes nothing', async () => {
      const store = await fresh();
      expect(await store.insertCdr(cdr('t1', T0 + 200_000))).toBe(true);
      expect(await store.insertCdr(cdr('t1', T0 + 200_000))).toBe(false);
      expect(await store.insertCdr({ ...cdr('t1', T0 + 900_000), amount: 999 })).toBe(false);
      expect(await store.getCdr('t1')).toEqual(cdr('t1', T0 + 200_000));
      // The far end's record of the same call is its own.
      expect(await store.insertCdr(cdr('t1', T0 + 200_400, 'domain-b', 4, 'destination'))).toBe(true);
      expect(await store.insertCdr(cdr('t1', T0 + 200_400, 'domain-b', 4, 'destination'))).toBe(false);
      expect(await store.getCdr('t1', 'destination')).toEqual(cdr('t1', T0 + 200_400, 'domain-b', 4, 'destination'));
      expect(await store.getCdr('t1', 'source')).toEqual(cdr('t1', T0 + 200_000));
      expect(await store.getCdr('t9')).toBeNull();
    });

    it('counts a usage indication sent many times at once, to two instances, exactly once', async () => {
      const store = await fresh();
      const other = await another();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).insertCdr(cdr('t-race', T0 + 1000))));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.listCdrs()).toHaveLength(1);
    });

    it('lists CDRs by end time within a period, by domain, in end order', async () => {
      const store = await fresh();
      for (const [id, end, domain] of [['c3', T0 + 3000, 'domain-a'], ['c1', T0 + 1000, 'domain-a'], ['c2', T0 + 2000, 'domain-b'], ['c4', T0 + 4000, 'domain-a']] as const) {
        await store.insertCdr(cdr(id, end, domain));
      }
      expect((await store.listCdrs()).map((c) => c.transactionId)).toEqual(['c1', 'c2', 'c3', 'c4']);
      expect((await store.listCdrs({ endFromMs: T0 + 2000, endToMs: T0 + 4000 })).map((c) => c.transactionId)).toEqual(['c2', 'c3']);
      expect((await store.listCdrs({ domain: 'domain-a', endToMs: T0 + 3500 })).map((c) => c.transactionId)).toEqual(['c1', 'c3']);
    });
  });
}
