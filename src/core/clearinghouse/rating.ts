/**
 * rating: what a call costs and who owes whom (seed 000 claims 29-31; ETSI TS 101 321's
 * settlement between operators). A call is rated by its service class (video if any flow was
 * AF41, else voice) from the time it was answered to its end, billed in increments; calls between
 * two domains are summed per period into one settlement line, the originating domain paying the
 * terminating one.
 */
import { DSCP } from '../protocol/fields.ts';

export const SERVICE_CLASSES = ['voice', 'video'] as const;
export type ServiceClass = (typeof SERVICE_CLASSES)[number];

export interface Tariff {
  /** ISO 4217 code; amounts are in its minor unit (cents for EUR). */
  readonly currency: string;
  /** Price per minute, in minor units, by service class. */
  readonly perMinute: Readonly<Record<ServiceClass, number>>;
  /** The first billed increment (a minimum) and each one after it, in seconds: 60/60, 30/6, 1/1. */
  readonly firstIncrementS: number;
  readonly nextIncrementS: number;
}

export const DEFAULT_TARIFF: Tariff = { currency: 'EUR', perMinute: { voice: 1, video: 4 }, firstIncrementS: 30, nextIncrementS: 6 };

/** Whole seconds from answer to end, rounded up (a started second counts); 0 for a call never answered. */
export function callDurationS(connectMs: number | null, endMs: number): number {
  if (connectMs === null || endMs <= connectMs) return 0;
  return Math.ceil((endMs - connectMs) / 1000);
}

export function billableSeconds(durationS: number, tariff: Pick<Tariff, 'firstIncrementS' | 'nextIncrementS'>): number {
  if (durationS <= 0) return 0;
  if (durationS <= tariff.firstIncrementS) return tariff.firstIncrementS;
  return tariff.firstIncrementS + Math.ceil((durationS - tariff.firstIncrementS) / tariff.nextIncrementS) * tariff.nextIncrementS;
}

export function serviceClassOf(dscps: readonly number[]): ServiceClass {
  return dscps.includes(DSCP.AF41) ? 'video' : 'voice';
}

export interface Rating {
  readonly serviceClass: ServiceClass;
  readonly durationS: number;
  readonly billableS: number;
  /** In the tariff currency's minor unit, rounded half up. */
  readonly amount: number;
  readonly currency: string;
}

export function rateCall(call: { connectMs: number | null; endMs: number; dscps: readonly number[] }, tariff: Tariff): Rating {
  const serviceClass = serviceClassOf(call.dscps);
  const durationS = callDurationS(call.connectMs, call.endMs);
  const billableS = billableSeconds(durationS, tariff);
  const amount = Math.round((billableS * tariff.perMinute[serviceClass]) / 60);
  return { serviceClass, durationS, billableS, amount, currency: tariff.currency };
}

/** One rated call as settlement needs it. */
export interface RatedCall {
  /** The domain that asked for the authorization (the caller's side). */
  readonly domain: string;
  /** The far end's domain; null for a call within one domain (nothing to settle). */
  readonly destinationDomain: string | null;
  readonly endMs: number;
  readonly billableS: number;
  readonly amount: number;
  readonly currency: string;
}

export interface SettlementLine {
  readonly payer: string;
  readonly payee: string;
  readonly currency: string;
  readonly calls: number;
  readonly billableS: number;
  readonly amount: number;
}

/**
 * The settlement of a period [fromMs, toMs) by call end: one line per (payer, payee, currency),
 * sorted, for calls between two different domains. Calls within one domain owe nobody.
 */
export function settle(calls: Iterable<RatedCall>, fromMs: number, toMs: number): SettlementLine[] {
  const lines = new Map<string, { payer: string; payee: string; currency: string; calls: number; billableS: number; amount: number }>();
  for (const c of calls) {
    if (c.endMs < fromMs || c.endMs >= toMs || c.destinationDomain === null || c.destinationDomain === c.domain) continue;
    const key = `${c.domain}\n${c.destinationDomain}\n${c.currency}`;
    let line = lines.get(key);
    if (!line) lines.set(key, (line = { payer: c.domain, payee: c.destinationDomain, currency: c.currency, calls: 0, billableS: 0, amount: 0 }));
    line.calls += 1;
    line.billableS += c.billableS;
    line.amount += c.amount;
  }
  const order = (a: SettlementLine, b: SettlementLine) => (a.payer < b.payer ? -1 : a.payer > b.payer ? 1 : a.payee < b.payee ? -1 : a.payee > b.payee ? 1 : a.currency < b.currency ? -1 : 1);
  return [...lines.values()].sort(order);
}
