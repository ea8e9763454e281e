/** Rows to records for both clearinghouse backends (same column names; JSON as text or parsed). */
import type { Cdr, FlowUsage, Transaction } from './types.ts';
import type { RequestedFlow } from '../../../core/protocol/messages/ch.ts';

export type Row = Record<string, unknown>;
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export const TRANSACTION_COLUMNS = ['id', 'domain', 'client', 'call_id', 'caller', 'callee', 'destination_domain', 'flows', 'issued_at_ms', 'valid_until_ms', 'max_duration_s'] as const;
export const CDR_COLUMNS = [
  'transaction_id', 'side', 'domain', 'destination_domain', 'call_id', 'caller', 'callee', 'start_ms', 'connect_ms', 'end_ms', 'sip_status', 'released_by', 'reason',
  'codec', 'flows', 'service_class', 'duration_s', 'billable_s', 'amount', 'currency', 'received_at_ms',
] as const;

export function transactionValues(t: Transaction): unknown[] {
  return [t.id, t.domain, t.client, t.callId, t.caller, t.callee, t.destinationDomain, JSON.stringify(t.flows), t.issuedAtMs, t.validUntilMs, t.maxDurationS];
}

export function transactionOf(r: Row): Transaction {
  return {
    id: String(r.id), domain: String(r.domain), client: String(r.client), callId: String(r.call_id), caller: String(r.caller), callee: String(r.callee),
    destinationDomain: strOrNull(r.destination_domain), flows: json<RequestedFlow[]>(r.flows), issuedAtMs: num(r.issued_at_ms),
    validUntilMs: num(r.valid_until_ms), maxDurationS: num(r.max_duration_s),
  };
}

export function cdrValues(c: Cdr): unknown[] {
  return [
    c.transactionId, c.side, c.domain, c.destinationDomain, c.callId, c.caller, c.callee, c.startMs, c.connectMs, c.endMs, c.sipStatus, c.releasedBy, c.reason,
    c.codec, JSON.stringify(c.flows), c.serviceClass, c.durationS, c.billableS, c.amount, c.currency, c.receivedAtMs,
  ];
}

export function cdrOf(r: Row): Cdr {
  return {
    transactionId: String(r.transaction_id), side: r.side as Cdr['side'], domain: String(r.domain), destinationDomain: strOrNull(r.destination_domain), callId: String(r.call_id),
    caller: String(r.caller), callee: String(r.callee), startMs: num(r.start_ms), connectMs: numOrNull(r.connect_ms), endMs: num(r.end_ms),
    sipStatus: numOrNull(r.sip_status), releasedBy: r.released_by as Cdr['releasedBy'], reason: strOrNull(r.reason), codec: strOrNull(r.codec),
    flows: json<FlowUsage[]>(r.flows), serviceClass: r.service_class as Cdr['serviceClass'], durationS: num(r.duration_s), billableS: num(r.billable_s),
    amount: num(r.amount), currency: String(r.currency), receivedAtMs: num(r.received_at_ms),
  };
}

/** Tables of both backends: `json` and `big` are the backend's JSON and 64-bit integer types. */
export function schema(json: string, big: string): string {
  return `CREATE TABLE ch_transactions (
     id TEXT PRIMARY KEY, domain TEXT NOT NULL, client TEXT NOT NULL, call_id TEXT NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL,
     destination_domain TEXT, flows ${json} NOT NULL, issued_at_ms ${big} NOT NULL, valid_until_ms ${big} NOT NULL, max_duration_s INTEGER NOT NULL
   );
   CREATE INDEX ch_transactions_call ON ch_transactions (call_id);
   CREATE TABLE ch_cdrs (
     transaction_id TEXT NOT NULL, side TEXT NOT NULL, domain TEXT NOT NULL, destination_domain TEXT, call_id TEXT NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL,
     start_ms ${big} NOT NULL, connect_ms ${big}, end_ms ${big} NOT NULL, sip_status INTEGER, released_by TEXT NOT NULL, reason TEXT, codec TEXT,
     flows ${json} NOT NULL, service_class TEXT NOT NULL, duration_s ${big} NOT NULL, billable_s ${big} NOT NULL, amount ${big} NOT NULL,
     currency TEXT NOT NULL, received_at_ms ${big} NOT NULL, PRIMARY KEY (transaction_id, side)
   );
   CREATE INDEX ch_cdrs_end ON ch_cdrs (end_ms, transaction_id, side);`;
}
