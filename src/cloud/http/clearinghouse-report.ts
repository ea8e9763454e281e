/**
 * The clearinghouse's records as the operators' API shows them: usage per domain and the
 * settlement of a period, and the CSV export, from the CDRs it stored. Settlement is the core's
 * rule (src/core/clearinghouse/rating.ts `settle`) over each call once, by its source side's
 * record or the destination's where the source sent none: what `clearinghouse settlement` prints.
 */
import { CDR_CSV_COLUMNS, type DomainUsage, type SettlementRow } from '../../core/fleet/api-calls.ts';
import { settle } from '../../core/clearinghouse/rating.ts';
import type { Cdr } from '../clearinghouse/store/types.ts';
import { toCsv, type CsvCell } from './csv.ts';

/** One record per transaction: the source side's, else the destination's. */
export function callsOnce(cdrs: readonly Cdr[]): Cdr[] {
  const byTransaction = new Map<string, Cdr>();
  for (const cdr of cdrs) {
    const seen = byTransaction.get(cdr.transactionId);
    if (!seen || (seen.side === 'destination' && cdr.side === 'source')) byTransaction.set(cdr.transactionId, cdr);
  }
  return [...byTransaction.values()];
}

/** A record concerns a domain when that domain asked for the call or answered it. */
export function concerns(cdr: Pick<Cdr, 'domain' | 'destinationDomain'>, domain: string): boolean {
  return cdr.domain === domain || cdr.destinationDomain === domain;
}

const flowTotals = (c: Cdr) => c.flows.reduce((t, f) => ({ packets: t.packets + f.packets, bytes: t.bytes + f.bytes }), { packets: 0, bytes: 0 });

export function domainUsage(calls: readonly Cdr[]): DomainUsage[] {
  const usage = new Map<string, { calls: number; billableS: number; packets: number; bytes: number; amounts: Map<string, number> }>();
  const entry = (domain: string) => {
    let u = usage.get(domain);
    if (u === undefined) usage.set(domain, (u = { calls: 0, billableS: 0, packets: 0, bytes: 0, amounts: new Map() }));
    return u;
  };
  for (const c of calls) {
    const totals = flowTotals(c);
    const parties = c.destinationDomain === null || c.destinationDomain === c.domain ? [c.domain] : [c.domain, c.destinationDomain];
    for (const d of parties) {
      const u = entry(d);
      u.calls += 1;
      u.billableS += c.billableS;
      u.packets += totals.packets;
      u.bytes += totals.bytes;
    }
    // The rated amount is the asking domain's: it pays for its calls.
    const own = entry(c.domain);
    own.amounts.set(c.currency, (own.amounts.get(c.currency) ?? 0) + c.amount);
  }
  return [...usage]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([domain, u]) => ({ domain, calls: u.calls, billableS: u.billableS, packets: u.packets, bytes: u.bytes, amounts: [...u.amounts].sort().map(([currency, amount]) => ({ currency, amount })) }));
}

export function settlementRows(calls: readonly Cdr[], fromMs: number, toMs: number): SettlementRow[] {
  return settle(calls, fromMs, toMs);
}

export function cdrCsv(cdrs: readonly Cdr[]): string {
  const rows = cdrs.map((c): CsvCell[] => {
    const t = flowTotals(c);
    const byName: Record<(typeof CDR_CSV_COLUMNS)[number], CsvCell> = {
      transactionId: c.transactionId, side: c.side, domain: c.domain, destinationDomain: c.destinationDomain, callId: c.callId, caller: c.caller, callee: c.callee,
      startMs: c.startMs, connectMs: c.connectMs, endMs: c.endMs, sipStatus: c.sipStatus, releasedBy: c.releasedBy, reason: c.reason, codec: c.codec,
      serviceClass: c.serviceClass, durationS: c.durationS, billableS: c.billableS, amount: c.amount, currency: c.currency, packets: t.packets, bytes: t.bytes, receivedAtMs: c.receivedAtMs,
    };
    return CDR_CSV_COLUMNS.map((k) => byName[k]);
  });
  return toCsv(CDR_CSV_COLUMNS, rows);
}
