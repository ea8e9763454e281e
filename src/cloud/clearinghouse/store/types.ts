/**
 * What the clearinghouse keeps: the authorizations it issued (OSP transactions) and one call
 * detail record per transaction, rated when it arrives. One interface, two backends (SQLite for
 * one machine, PostgreSQL for several instances), held to one contract suite.
 */
import type { RequestedFlow } from '../../../core/protocol/messages/ch.ts';
import type { ServiceClass } from '../../../core/clearinghouse/rating.ts';

export interface Transaction {
  /** The OSP transaction id, also the token's `jti`. */
  readonly id: string;
  /** The domain that asked (taken from the authenticated sender, through the domain table). */
  readonly domain: string;
  /** The broker login it asked through. */
  readonly client: string;
  readonly callId: string;
  readonly caller: string;
  readonly callee: string;
  readonly destinationDomain: string | null;
  readonly flows: readonly RequestedFlow[];
  readonly issuedAtMs: number;
  readonly validUntilMs: number;
  readonly maxDurationS: number;
}

export interface FlowUsage {
  readonly line: number;
  readonly direction: 'forward' | 'reverse';
  readonly packets: number;
  readonly bytes: number;
  readonly lost: number | null;
}

/** Which end of the call reported: the domain that asked for the authorization, or the far end's domain. */
export type CdrSide = 'source' | 'destination';

/**
 * A call detail record: one end's usage indication as received, with its rating. Each end of a
 * call between two domains reports its own (OSP source and destination usage); settlement takes
 * the source's and falls back to the destination's.
 */
export interface Cdr {
  readonly transactionId: string;
  readonly side: CdrSide;
  readonly domain: string;
  readonly destinationDomain: string | null;
  readonly callId: string;
  readonly caller: string;
  readonly callee: string;
  readonly startMs: number;
  readonly connectMs: number | null;
  readonly endMs: number;
  readonly sipStatus: number | null;
  readonly releasedBy: 'caller' | 'callee' | 'network';
  readonly reason: string | null;
  readonly codec: string | null;
  readonly flows: readonly FlowUsage[];
  readonly serviceClass: ServiceClass;
  readonly durationS: number;
  readonly billableS: number;
  readonly amount: number;
  readonly currency: string;
  readonly receivedAtMs: number;
}

export interface CdrFilter {
  /** Calls that ended in [endFromMs, endToMs). */
  readonly endFromMs?: number;
  readonly endToMs?: number;
  readonly domain?: string;
}

export interface ClearinghouseStore {
  readonly backend: 'sqlite' | 'postgres';
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** Stores a new transaction; a second one with the same id is an error (E_CONFLICT). */
  putTransaction(t: Transaction): Promise<void>;
  getTransaction(id: string): Promise<Transaction | null>;
  /** Records one side's CDR of a transaction once: false (nothing changed) when that side has one already. */
  insertCdr(cdr: Cdr): Promise<boolean>;
  getCdr(transactionId: string, side?: CdrSide): Promise<Cdr | null>;
  /** By end time, then transaction id, then side. */
  listCdrs(filter?: CdrFilter): Promise<Cdr[]>;
}
