/**
 * The server's side of zero-touch enrolment (docs/fleet.md; src/core/protocol/messages/enrol.ts).
 * A router with no login of its own asks on `enrol/<hardware id>/req` with an enrolment key and
 * the broker password it chose; every request gets an `enrol.answer` (corr = the request) within
 * a deadline: accepted, pending (ask again after retryS) or refused with a code.
 *
 * Order of work, cheapest first, so that a flood of bogus requests costs a token-bucket check, a
 * key read and an answer, and writes nothing: the rate limits (per hardware id and global), the
 * sender's identity (envelope, body and topic name one hardware id), the key (its secret compared
 * in constant time), then the policy (src/core/fleet/enrolment-policy.ts). On acceptance the
 * broker login is made first and the fleet record written after it, so that no record says
 * `accepted` for a router without a login. The device id is the hardware id: stable across a
 * reflash, and a re-enrolment keeps it.
 */
import { decideEnrolment, type EnrolmentDecision, type PolicyGroup, type PolicyKey } from '../../core/fleet/enrolment-policy.ts';
import { OncePerWindow, RateLimiter, type RateLimitSpec } from '../../core/fleet/rate-limit.ts';
import type { Logger } from '../../core/log.ts';
import type { Message, MessageOf } from '../../core/protocol/envelope.ts';
import { MESSAGE_ID } from '../../core/protocol/fields.ts';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import type { EnrolAnswerBody, EnrolRequestBody } from '../../core/protocol/messages/enrol.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import type { CoreError, Result } from '../../core/result.ts';
import { bounded } from '../../core/text/bounded.ts';
import type { BrokerIdentities } from './identities.ts';
import { secretMatches, splitEnrolmentKey } from './keys.ts';
import type { DeviceGroup, EnrolmentKey, FleetDevice, FleetStore } from './store/types.ts';
import type { JsonObject } from '../store/types.ts';

export interface EnrolmentOptions {
  /** What a pending router is told to wait before asking again. */
  readonly pendingRetryS: number;
  /** Every request is answered within this (E_INTERNAL when the store or broker is slower). */
  readonly answerWithinMs: number;
  readonly rateLimit: RateLimitSpec;
}

/**
 * Per hardware id: a burst of 5, then one request every 4 s (a pending router asks every 5 s).
 * Global: a burst of 200, then 100 a second: 10,000 routers enrol in under two minutes, and a
 * flood of bogus requests costs the store at most 100 key reads a second.
 */
export const DEFAULT_ENROLMENT_OPTIONS: EnrolmentOptions = {
  pendingRetryS: 5,
  answerWithinMs: 10_000,
  rateLimit: { perKey: { capacity: 5, refillPerS: 0.25 }, global: { capacity: 200, refillPerS: 100 }, maxKeys: 10_000 },
};

/** Where answers go: the server's Outbox (`toEnrolling`). */
export interface EnrolmentAnswers {
  toEnrolling(hardwareId: string, body: EnrolAnswerBody, corr: string): Result<Message>;
}

export interface EnrolmentDeps {
  readonly store: FleetStore;
  readonly identities: BrokerIdentities;
  readonly answers: EnrolmentAnswers;
  readonly log: Logger;
  readonly now?: () => number;
  readonly options?: Partial<EnrolmentOptions>;
}

/** Refusal codes of the service itself (the policy's are in enrolment-policy.ts). */
export const ENROL_SERVICE_CODES = {
  /** The envelope's sender, the body's hardware id and the topic do not name one router. */
  identity: 'E_IDENTITY',
  rateLimited: 'E_RATE_LIMITED',
  /** The store or the broker failed, or took longer than the deadline: ask again later. */
  internal: 'E_INTERNAL',
  unexpectedType: 'E_UNEXPECTED_TYPE',
} as const;

/** Warnings about refused routers: once a minute per hardware id, at most 20 lines a minute in all. */
const WARN_WINDOW_MS = 60_000;
const WARN_LINES_PER_WINDOW = 20;
/** Answers kept for repeated request ids (a QoS 1 redelivery): answered alike, nothing redone. */
const RECENT_ANSWERS = 4096;
/** What a router told E_INTERNAL waits before asking again. */
const INTERNAL_RETRY_S = 10;

type Refused = Extract<EnrolAnswerBody, { outcome: 'refused' }>;

function refused(code: string, detail: string, retryS?: number): Refused {
  const body = { outcome: 'refused' as const, code, detail: bounded(detail, REASON_MAX) };
  return retryS === undefined ? body : { ...body, retryS };
}

/** A record's fields for the audit log (never a secret: none is stored). */
function auditView(d: FleetDevice | null): JsonObject | null {
  return d === null ? null : { state: d.state, group: d.group, keyId: d.keyId, enrolments: d.enrolments, agent: d.versions.agent, release: d.hardware.release };
}

export class EnrolmentService {
  private readonly options: EnrolmentOptions;
  private readonly now: () => number;
  private readonly limiter: RateLimiter;
  private readonly warnings: OncePerWindow;
  private readonly recent = new Map<string, EnrolAnswerBody>();

  constructor(private readonly deps: EnrolmentDeps) {
    this.options = { ...DEFAULT_ENROLMENT_OPTIONS, ...deps.options };
    this.now = deps.now ?? Date.now;
    this.limiter = new RateLimiter(this.options.rateLimit, this.now());
    this.warnings = new OncePerWindow(WARN_WINDOW_MS, WARN_LINES_PER_WINDOW, this.options.rateLimit.maxKeys);
  }

  /** A validated message from `enrol/<topicHardwareId>/req`; resolves once it is answered. */
  async handle(topicHardwareId: string, message: Message): Promise<void> {
    const answer = await this.answerOf(topicHardwareId, message);
    this.send(topicHardwareId, message.id, answer);
  }

  /**
   * A request on `hardwareId`'s topic that did not validate (a malformed key, a short password):
   * refused with the schema's code and the field's path, when its envelope has an id to answer
   * and names this router; anything less was counted and logged by Inbound.
   */
  refuseInvalid(hardwareId: string, text: string, error: CoreError): void {
    const parsed = parseStrictJson(text);
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) return;
    const { id, type, device } = parsed.value as Record<string, unknown>;
    if (typeof id !== 'string' || !MESSAGE_ID.test(id) || device !== hardwareId || type !== 'enrol.request') return;
    const limited = this.limit(hardwareId);
    const where = error.path ? `${error.path}: ` : '';
    const answer = limited ?? refused(error.code, `${where}${error.message}`);
    this.warn(hardwareId, answer);
    this.send(hardwareId, id, answer);
  }

  private async answerOf(topicHardwareId: string, message: Message): Promise<EnrolAnswerBody> {
    const limited = this.limit(topicHardwareId);
    if (limited) {
      this.warn(topicHardwareId, limited);
      return limited;
    }
    if (message.type !== 'enrol.request') return refused(ENROL_SERVICE_CODES.unexpectedType, `${message.type} is not an enrolment request`);
    if (message.device !== topicHardwareId || message.body.hardwareId !== topicHardwareId) {
      const answer = refused(ENROL_SERVICE_CODES.identity, `the topic, the sender (${message.device}) and the body's hardware id (${message.body.hardwareId}) must name one router`);
      this.warn(topicHardwareId, answer);
      return answer;
    }
    const repeat = this.recent.get(`${topicHardwareId}\n${message.id}`);
    if (repeat) return repeat;
    const answer = await this.withinDeadline(topicHardwareId, message);
    if (answer.outcome === 'refused') this.warn(topicHardwareId, answer);
    else this.remember(`${topicHardwareId}\n${message.id}`, answer);
    return answer;
  }

  private limit(hardwareId: string): Refused | null {
    const verdict = this.limiter.take(hardwareId, this.now());
    if (verdict.allowed) return null;
    const who = verdict.scope === 'key' ? 'this router' : 'all routers together';
    return refused(ENROL_SERVICE_CODES.rateLimited, `too many enrolment requests from ${who}; ask again in ${verdict.retryS} s`, verdict.retryS);
  }

  private async withinDeadline(hardwareId: string, message: MessageOf<'enrol.request'>): Promise<EnrolAnswerBody> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<EnrolAnswerBody>((resolve) => {
      timer = setTimeout(() => {
        this.deps.log.error('enrolment request not answered within its deadline', { hardwareId, id: message.id, deadlineMs: this.options.answerWithinMs });
        resolve(refused(ENROL_SERVICE_CODES.internal, `the server did not finish within ${this.options.answerWithinMs} ms; ask again`, INTERNAL_RETRY_S));
      }, this.options.answerWithinMs);
      timer.unref?.();
    });
    const work = this.enrol(message.body).catch((error: unknown) => {
      this.deps.log.error('enrolment failed in the store', { hardwareId, id: message.id, error: String(error) });
      return refused(ENROL_SERVICE_CODES.internal, 'the server could not record the enrolment; ask again', INTERNAL_RETRY_S);
    });
    try {
      return await Promise.race([work, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async enrol(request: EnrolRequestBody): Promise<EnrolAnswerBody> {
    const { store } = this.deps;
    const now = this.now();
    const parts = splitEnrolmentKey(request.key);
    const key = parts === null ? null : await store.getKey(parts.id);
    // The hash is compared even for an unknown key id, so that both cost the same time.
    const matches = parts !== null && secretMatches(parts.secret, key?.secretHash ?? '');
    const policyKey: PolicyKey | null = key === null ? null : { id: key.id, group: key.group, expiresAtMs: key.expiresAtMs, revokedAtMs: key.revokedAtMs, secretMatches: matches };
    // Nothing more is read for a key that fails: a bogus request costs one key read.
    const keyUsable = policyKey !== null && matches && (key!.revokedAtMs === null || key!.revokedAtMs > now) && (key!.expiresAtMs === null || key!.expiresAtMs > now);
    const group = keyUsable ? await store.getGroup(key!.group) : null;
    const existing = keyUsable && group !== null ? await store.getByHardwareId(request.hardwareId) : null;
    const existingGroup = existing !== null && existing.group !== key!.group ? await store.getGroup(existing.group) : null;
    const decision = decideEnrolment({ key: policyKey, group: policyGroup(group), existing, existingGroup: policyGroup(existingGroup), nowMs: now });
    return this.act(decision, request, key, existing, now);
  }

  private async act(decision: EnrolmentDecision, request: EnrolRequestBody, key: EnrolmentKey | null, existing: FleetDevice | null, now: number): Promise<EnrolAnswerBody> {
    switch (decision.outcome) {
      case 'refused':
        return refused(decision.code, decision.detail);
      case 'pending':
        await this.hold(decision.why, request, key!, existing, now);
        return { outcome: 'pending', retryS: this.options.pendingRetryS };
      case 'accept':
        return this.accept(decision.how, request, key!, existing, now);
    }
  }

  /** A new router waits for approval (a pending record, never its password), or a known one is held. */
  private async hold(why: 'approval' | 'reenrol-hold' | 'waiting', request: EnrolRequestBody, key: EnrolmentKey, existing: FleetDevice | null, now: number): Promise<void> {
    const { store, log } = this.deps;
    const actor = `device:${request.hardwareId}`;
    if (why === 'waiting') return;
    if (why === 'approval') {
      const record = this.record(request, key, null, now, 'pending');
      await store.putFleetDevice(record);
      await store.appendAudit({ atMs: now, actor, action: 'device.enrol-request', target: record.deviceId, before: null, after: auditView(record) });
      log.info('router waits for approval', { hardwareId: request.hardwareId, group: key.group, key: key.id });
      return;
    }
    const held = await store.setFleetState(existing!.deviceId, {
      state: 'pending',
      reason: `E_REENROL_HOLD: enrolled again with key ${key.id}; the group holds re-enrolments for approval`,
      atMs: now,
      ifStateIn: ['accepted'],
    });
    await store.appendAudit({ atMs: now, actor, action: 'device.reenrol-hold', target: existing!.deviceId, before: auditView(existing), after: auditView(held) });
    log.warn('known router enrolled again; held for approval', { device: existing!.deviceId, key: key.id });
  }

  private async accept(how: 'auto' | 'approved' | 'replace', request: EnrolRequestBody, key: EnrolmentKey, existing: FleetDevice | null, now: number): Promise<EnrolAnswerBody> {
    const { store, identities, log } = this.deps;
    const record = this.record(request, key, existing, now, 'accepted');
    // The login first: a record that says accepted always has one.
    const login = await identities.upsertDevice(record.deviceId, request.password);
    if (!login.ok) {
      log.error('broker login for an enrolling router could not be made', { device: record.deviceId, code: login.error.code, reason: login.error.message });
      return refused(ENROL_SERVICE_CODES.internal, `the broker login could not be made (${login.error.code}); ask again`, INTERNAL_RETRY_S);
    }
    await store.putFleetDevice(record);
    await store.noteKeyUse(key.id, now);
    await store.appendAudit({ atMs: now, actor: `device:${request.hardwareId}`, action: 'device.enrol', target: record.deviceId, before: auditView(existing), after: { ...auditView(record)!, how } });
    log.info('router enrolled', { device: record.deviceId, group: record.group, key: key.id, how, enrolments: record.enrolments });
    return { outcome: 'accepted', deviceId: record.deviceId, username: record.deviceId };
  }

  /** The fleet record after this request: what the router says it is now, over what the fleet knew. */
  private record(request: EnrolRequestBody, key: EnrolmentKey, existing: FleetDevice | null, now: number, state: 'pending' | 'accepted'): FleetDevice {
    const accepted = state === 'accepted';
    return {
      deviceId: existing?.deviceId ?? request.hardwareId,
      hardwareId: request.hardwareId,
      group: existing?.group ?? key.group,
      name: existing?.name ?? request.hostname ?? request.hardwareId,
      tags: existing?.tags ?? [],
      site: existing?.site ?? null,
      state,
      stateReason: null,
      keyId: key.id,
      hostname: request.hostname ?? null,
      hardware: request.hardware,
      versions: request.versions,
      features: request.features,
      sourceAddress: null,
      requestedAtMs: existing?.requestedAtMs ?? now,
      enrolledAtMs: accepted ? now : (existing?.enrolledAtMs ?? null),
      updatedAtMs: now,
      enrolments: (existing?.enrolments ?? 0) + (accepted ? 1 : 0),
    };
  }

  private send(hardwareId: string, corr: string, answer: EnrolAnswerBody): void {
    const sent = this.deps.answers.toEnrolling(hardwareId, answer, corr);
    if (sent.ok) return;
    // The outbox logged why with the field's path; the router still gets an answer.
    const fallback = this.deps.answers.toEnrolling(hardwareId, refused(ENROL_SERVICE_CODES.internal, `the answer could not be built (${sent.error.code})`, INTERNAL_RETRY_S), corr);
    if (!fallback.ok) this.deps.log.error('no enrolment answer could be sent', { hardwareId, corr, code: fallback.error.code });
  }

  /** A refusal at warn, once a minute per router and a few lines a minute in all (with how many were left out). */
  private warn(hardwareId: string, answer: EnrolAnswerBody): void {
    if (answer.outcome !== 'refused' || answer.code === ENROL_SERVICE_CODES.internal) return;
    const { show, held } = this.warnings.note(hardwareId, this.now());
    if (show) this.deps.log.warn('enrolment refused', { hardwareId, code: answer.code, detail: answer.detail, not_logged_since: held });
  }

  private remember(key: string, answer: EnrolAnswerBody): void {
    this.recent.set(key, answer);
    if (this.recent.size > RECENT_ANSWERS) this.recent.delete(this.recent.keys().next().value as string);
  }
}

function policyGroup(group: DeviceGroup | null): PolicyGroup | null {
  return group === null ? null : { id: group.id, enrolPolicy: group.enrolPolicy, reenrolPolicy: group.reenrolPolicy };
}
