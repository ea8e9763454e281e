/**
 * Operator authentication: login with a password, web sessions and their expiry, the one-time
 * setup of the first admin.
 *
 * The session cookie holds 32 random bytes; the store keeps only their SHA-256, so a copy of the
 * database opens no session. A session ends at the first of: logout, `idleMs` without a request,
 * `absoluteMs` after login, its operator disabled. The idle deadline is the stored `expiresAtMs`,
 * moved on (at most once a minute) by replacing the row, since the store has no "touch".
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { fail, ok, type Result } from '../../core/result.ts';
import type { FleetStore, Operator, WebSession } from '../fleet/store/types.ts';
import type { Role } from '../../core/fleet/api.ts';
import { FailureCounter } from './rate-limit.ts';
import { hashOperatorPassword, verifyOperatorPassword } from './passwords.ts';

export interface AuthOptions {
  readonly idleMs: number;
  readonly absoluteMs: number;
  /** Failed logins allowed per username, and per source address, in `windowMs`. */
  readonly perUsername: number;
  readonly perAddress: number;
  readonly windowMs: number;
  /** How long the setup link stays valid. */
  readonly setupMs: number;
}

export const DEFAULT_AUTH: AuthOptions = {
  idleMs: 30 * 60_000,
  absoluteMs: 12 * 3600_000,
  perUsername: 5,
  perAddress: 20,
  windowMs: 15 * 60_000,
  setupMs: 3600_000,
};

/** Moves the idle deadline on at most this often, so that a busy dashboard does not rewrite its row per request. */
const REFRESH_MS = 60_000;

export interface SessionTicket {
  /** The cookie's value: shown once, never stored. */
  readonly token: string;
  readonly session: WebSession;
  readonly operator: Operator;
}

export interface Authenticated {
  readonly operator: Operator;
  readonly session: WebSession;
}

const authError = (code: string, message: string): Result<never> => fail({ code, message });

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A hash of a random password: checked against when the username is unknown, so that both cost the same time. */
let decoy: Promise<string> | undefined;

export class Auth {
  private readonly byUser: FailureCounter;
  private readonly byAddress: FailureCounter;
  private setup: { token: string; expiresAtMs: number } | null = null;

  constructor(
    private readonly fleet: FleetStore,
    private readonly now: () => number,
    readonly options: AuthOptions = DEFAULT_AUTH,
  ) {
    this.byUser = new FailureCounter({ max: options.perUsername, windowMs: options.windowMs });
    this.byAddress = new FailureCounter({ max: options.perAddress, windowMs: options.windowMs });
  }

  /** E_RATE_LIMITED (before the password is looked at) or E_UNAUTHENTICATED, the same for a wrong name and a wrong password. */
  async login(username: string, password: string, address: string): Promise<Result<SessionTicket>> {
    const now = this.now();
    const userKey = username.toLowerCase();
    if (this.byUser.blocked(userKey, now) || this.byAddress.blocked(address, now)) {
      return authError('E_RATE_LIMITED', 'too many failed logins; try again later');
    }
    const operator = await this.fleet.getOperatorByUsername(username);
    decoy ??= hashOperatorPassword(randomBytes(16).toString('hex'));
    const good = await verifyOperatorPassword(password, operator?.passwordHash ?? (await decoy));
    if (operator === null || !good || operator.disabledAtMs !== null) {
      this.byUser.fail(userKey, now);
      this.byAddress.fail(address, now);
      return authError('E_UNAUTHENTICATED', 'wrong username or password');
    }
    this.byUser.clear(userKey);
    return ok(await this.startSession(operator));
  }

  retryAfterS(username: string, address: string): number {
    const now = this.now();
    return Math.ceil(Math.max(this.byUser.retryAfterMs(username.toLowerCase(), now), this.byAddress.retryAfterMs(address, now)) / 1000);
  }

  async startSession(operator: Operator): Promise<SessionTicket> {
    const now = this.now();
    const token = randomBytes(32).toString('base64url');
    const session: WebSession = {
      tokenHash: tokenHash(token),
      operatorId: operator.id,
      csrfToken: randomBytes(24).toString('base64url'),
      createdAtMs: now,
      expiresAtMs: Math.min(now + this.options.idleMs, now + this.options.absoluteMs),
    };
    await this.fleet.createWebSession(session);
    return { token, session, operator };
  }

  /** The session of a cookie's token and its operator; E_UNAUTHENTICATED when there is none, it expired, or its operator is disabled. */
  async authenticate(token: string | undefined): Promise<Result<Authenticated>> {
    if (token === undefined) return authError('E_UNAUTHENTICATED', 'log in first');
    const now = this.now();
    const hash = tokenHash(token);
    let session = await this.fleet.getWebSession(hash, now);
    if (session === null) return authError('E_UNAUTHENTICATED', 'the session has ended; log in again');
    const operator = await this.fleet.getOperator(session.operatorId);
    if (operator === null || operator.disabledAtMs !== null) {
      await this.fleet.deleteOperatorSessions(session.operatorId);
      return authError('E_UNAUTHENTICATED', 'the account is disabled');
    }
    const until = Math.min(now + this.options.idleMs, session.createdAtMs + this.options.absoluteMs);
    if (until - session.expiresAtMs >= REFRESH_MS) {
      session = { ...session, expiresAtMs: until };
      await this.fleet.deleteWebSession(hash);
      // Two requests at once may both refresh; the second create meets the first's row.
      await this.fleet.createWebSession(session).catch(() => undefined);
    }
    return ok({ operator, session });
  }

  logout(session: WebSession): Promise<void> {
    return this.fleet.deleteWebSession(session.tokenHash);
  }

  /** A one-time setup token when there is no operator yet; null otherwise. Valid `setupMs`. */
  async offerSetup(): Promise<string | null> {
    if ((await this.fleet.countOperators()) > 0) return null;
    const token = randomBytes(24).toString('base64url');
    this.setup = { token, expiresAtMs: this.now() + this.options.setupMs };
    return token;
  }

  /** Creates the first admin with the setup token: once, while there is no operator. */
  async completeSetup(token: string, username: string, password: string, address: string): Promise<Result<SessionTicket>> {
    const now = this.now();
    if (this.byAddress.blocked(address, now)) return authError('E_RATE_LIMITED', 'too many failed attempts; try again later');
    const setup = this.setup;
    if (setup === null || now >= setup.expiresAtMs || !sameText(token, setup.token)) {
      this.byAddress.fail(address, now);
      return authError('E_FORBIDDEN', 'the setup link is not valid (used, expired, or from another start)');
    }
    if ((await this.fleet.countOperators()) > 0) {
      this.setup = null;
      return authError('E_CONFLICT', 'an operator exists already');
    }
    this.setup = null;
    const operator = await newOperator(username, password, 'admin', null, now);
    await this.fleet.createOperator(operator);
    return ok(await this.startSession(operator));
  }
}

export async function newOperator(username: string, password: string, role: Role, domain: string | null, nowMs: number): Promise<Operator> {
  return { id: randomUUID(), username, passwordHash: await hashOperatorPassword(password), role, domain, createdAtMs: nowMs, disabledAtMs: null };
}
