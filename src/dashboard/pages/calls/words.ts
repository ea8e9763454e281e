/** How calls and settlements read: pure, so the unit tests check them. */
import type { BetweenRouters } from '../../../core/fleet/api-calls.ts';
import { formatCount } from '../../format.ts';

/** "rt-b1 → rt-a1: 500 sent, 490 arrived, 10 lost (2.0%)"; "no packets yet" while nothing was sent. */
export function lossText(b: BetweenRouters): string {
  const head = `${b.from} → ${b.to}: `;
  if (b.sent === 0) return `${head}no packets counted leaving ${b.from} yet`;
  const percent = b.lossPercent === null ? '' : ` (${b.lossPercent < 0.1 && b.lost > 0 ? '<0.1' : b.lossPercent.toFixed(1)}%)`;
  return `${head}${formatCount(b.sent)} sent, ${formatCount(b.received)} arrived, ${formatCount(b.lost)} lost${percent}`;
}

/** Digits after the point of a currency's minor unit (2 for EUR, 0 for JPY), as the browser knows it; 2 when it does not. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

/** An amount in the currency's minor unit (as the clearinghouse rates) as "12.34 EUR". */
export function formatMoney(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  return `${(minor / 10 ** digits).toFixed(digits)} ${currency}`;
}

/** A UTC calendar day "YYYY-MM-DD" to its first millisecond; null when it is not one. */
export function dayStartMs(day: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === day ? ms : null;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The month so far: from its first day to today, both days included. */
export function thisMonth(nowMs: number): { from: string; to: string } {
  const d = new Date(nowMs);
  return { from: utcDay(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), to: utcDay(nowMs) };
}
