/**
 * Zero-touch enrolment, the router's side (docs of the messages: src/core/protocol/messages/enrol.ts).
 * With the shared enrolment login (ENROL_USERNAME) the agent runs a `mosquitto_sub` on its answer
 * topic `enrol/<hardware id>/res` (client id: the hardware id) and, once that has had time to
 * subscribe, publishes `enrol.request` on `enrol/<hardware id>/req` through a short-lived
 * `mosquitto_pub -s` (client id `<hardware id>-req`; the request, which holds the key and the
 * chosen password, goes through standard input, never argv). Answers are followed as
 * src/core/fleet/router/enrol-steps.ts decides: pending and refused-for-now ask again after the
 * server's retryS (jittered), a request without an answer in time or a client that failed backs
 * off, a final refusal stops for good, and acceptance saves the login (credentials.ts) and hands
 * it to the caller, which starts the normal cloud link. The key is never used again after that.
 */
import { detach } from '../../core/detach.ts';
import type { ChildProcess, Host, TimerHandle } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { ENROL_PASSWORD, ENROL_USERNAME } from '../../core/protocol/acl.ts';
import { decodeMessage, encodeValidated } from '../../core/protocol/envelope.ts';
import type { EnrolRequestBody } from '../../core/protocol/messages/enrol.ts';
import { enrolTopic, treeRoot } from '../../core/protocol/topics.ts';
import {
  DEFAULT_ENROL_TIMINGS,
  enrolRequestMessage,
  passwordFromBytes,
  PASSWORD_LENGTH,
  stepOnAnswer,
  stepOnFailure,
  type EnrolStep,
  type EnrolTimings,
} from '../../core/fleet/router/enrol-steps.ts';
import { execute } from '../exec.ts';
import { readPendingPassword, removePendingPassword, saveLogin, savePendingPassword, type SavedLogin } from './credentials.ts';
import { probeRouter, ROUTER_PATHS, type ProbePaths, type RouterProbe } from './probe.ts';

export interface EnrolmentSettings {
  readonly broker: string;
  readonly port: number;
  readonly tls: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly keepaliveS: number;
  readonly domain?: string;
  readonly enrolKey: string;
  readonly stateDir: string;
  readonly credentialsDir: string;
}

/** What the agent shows about its enrolment (status.json's `enrolment`, and so the rpcd status). */
export interface EnrolmentStatus {
  readonly state: 'probing' | 'requesting' | 'pending' | 'retrying' | 'refused' | 'failed' | 'enrolled';
  readonly hardwareId?: string;
  readonly code?: string;
  readonly detail?: string;
  readonly deviceId?: string;
}

export interface EnrolmentHooks {
  readonly onStatus: (status: EnrolmentStatus) => void;
  /** Called once, after the login is saved. */
  readonly onEnrolled: (login: SavedLogin) => void;
}

export interface EnrolmentOptions {
  readonly timings?: EnrolTimings;
  readonly paths?: ProbePaths;
  /** Where random bytes come from. */
  readonly randomSource?: string;
}

const SAFE_WORD = /^[\x21-\x7e]{1,256}$/;
const PUBLISH_TIMEOUT_MS = 15_000;

export class Enrolment {
  private sub: ChildProcess | null = null;
  private subStartedMs = 0;
  private timer: TimerHandle | null = null;
  private stopped = false;
  private finished = false;
  private failures = 0;
  private attempt = 0;
  /** The request now waiting for its answer; answers to earlier ones count only when they accept. */
  private awaiting: string | null = null;
  private readonly sent = new Set<string>();
  private probe: RouterProbe | null = null;
  private password = '';
  private readonly timings: EnrolTimings;
  private readonly root: string;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly settings: EnrolmentSettings,
    private readonly hooks: EnrolmentHooks,
    private readonly options: EnrolmentOptions = {},
  ) {
    this.timings = options.timings ?? DEFAULT_ENROL_TIMINGS;
    this.root = treeRoot(settings.domain);
  }

  start(): void {
    this.hooks.onStatus({ state: 'probing' });
    detach(this.begin(), (error) => this.fail('E_INTERNAL', String(error)));
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    this.killSubscriber();
  }

  private async begin(): Promise<void> {
    const probe = await probeRouter(this.host, this.options.paths ?? ROUTER_PATHS);
    if (this.stopped) return;
    if (probe.hardwareId === '') {
      this.fail('E_NO_HARDWARE_ID', 'no usable MAC address on eth*, lan* or wan* and no device-tree serial: this router cannot enrol');
      return;
    }
    const password = await this.choosePassword();
    if (password === null || this.stopped) return;
    this.probe = probe;
    this.password = password;
    const { hardwareId, hostname, hardware, versions, features } = probe;
    this.log.info('enrolling', { hardware_id: hardwareId, broker: `${this.settings.broker}:${this.settings.port}`, model: hardware.model, features: JSON.stringify(features) });
    this.request();
  }

  /** The password kept from an enrolment under way, else a new one from random bytes, kept for the next start. */
  private async choosePassword(): Promise<string | null> {
    const dir = this.settings.credentialsDir;
    const kept = readPendingPassword(this.host, dir);
    if (kept !== undefined) return kept;
    const random = this.host.files.readBytes(this.options.randomSource ?? '/dev/urandom', PASSWORD_LENGTH);
    if (!random.ok || random.value.length < PASSWORD_LENGTH) {
      this.fail('E_RANDOM', random.ok ? 'too few random bytes' : random.error.message);
      return null;
    }
    const password = passwordFromBytes(random.value);
    const saved = await savePendingPassword(this.host, dir, password);
    // Not fatal: a restart before acceptance would then ask with a new password.
    if (!saved.ok) this.log.warn('cannot keep the enrolment password for a restart', { code: saved.error.code, reason: saved.error.message });
    return password;
  }

  /** A stop that needs the operator: logged at error and kept in the status. */
  private fail(code: string, detail: string): void {
    this.stop();
    this.log.error('enrolment stopped', { code, detail });
    this.hooks.onStatus({ state: 'failed', code, detail, ...(this.probe ? { hardwareId: this.probe.hardwareId } : {}) });
  }

  private common(role: string): string[] | null {
    const s = this.settings;
    const words = [s.broker, s.caFile, s.certFile, s.keyFile].filter((w): w is string => w !== undefined);
    if (!words.every((w) => SAFE_WORD.test(w))) return null;
    const argv = ['-h', s.broker, '-p', String(s.port), '-i', role, '-k', String(s.keepaliveS), '-q', '1', '--nodelay', '-u', ENROL_USERNAME];
    if (s.tls) {
      if (s.caFile !== undefined) argv.push('--cafile', s.caFile);
      else argv.push('--capath', '/etc/ssl/certs');
      if (s.certFile !== undefined && s.keyFile !== undefined) argv.push('--cert', s.certFile, '--key', s.keyFile);
    }
    return argv;
  }

  /** The options files with the enrolment login's password, as the transport keeps its own. */
  private async clientEnv(): Promise<Record<string, string> | null> {
    const dir = `${this.settings.stateDir}/enrol-mqtt`;
    const made = this.host.files.makeDir(dir);
    if (!made.ok) return null;
    for (const tool of ['mosquitto_sub', 'mosquitto_pub']) {
      const written = this.host.files.writeAtomic(`${dir}/${tool}`, `-P ${ENROL_PASSWORD}\n`);
      if (!written.ok) return null;
    }
    // The enrolment password is public; restricted anyway, as every options file the agent writes.
    const restricted = await execute(this.host, ['chmod', '0600', `${dir}/mosquitto_sub`, `${dir}/mosquitto_pub`]);
    if (restricted.status.code !== 0) this.log.warn('cannot restrict the enrolment client config', { path: dir });
    const env: Record<string, string> = { XDG_CONFIG_HOME: dir };
    for (const name of ['PATH', 'HOME', 'LANG']) {
      const value = this.host.getEnv(name);
      if (value !== undefined) env[name] = value;
    }
    return env;
  }

  private request(): void {
    detach(this.requestNow(), (error) => this.failed('E_INTERNAL', String(error)));
  }

  private async requestNow(): Promise<void> {
    if (this.stopped || this.finished || this.probe === null) return;
    const hardwareId = this.probe.hardwareId;
    const env = await this.clientEnv();
    const subArgs = this.common(hardwareId);
    const pubArgs = this.common(`${hardwareId}-req`);
    if (env === null || subArgs === null || pubArgs === null) {
      this.fail('E_ENROL_SETUP', 'cannot prepare the MQTT clients (state directory not writable, or broker/TLS options with spaces or control characters)');
      return;
    }
    if (this.sub === null) this.startSubscriber(subArgs, env);
    const settle = this.subStartedMs + this.timings.settleMs - this.host.clock.monotonicMs();
    if (settle > 0) {
      this.schedule(settle, () => this.request());
      return;
    }
    this.hooks.onStatus({ state: 'requesting', hardwareId });
    this.attempt += 1;
    const body: EnrolRequestBody = {
      key: this.settings.enrolKey,
      hardwareId,
      password: this.password,
      ...(this.probe.hostname !== '' ? { hostname: this.probe.hostname } : {}),
      hardware: this.probe.hardware,
      versions: this.probe.versions,
      features: this.probe.features,
    };
    const message = enrolRequestMessage(body, this.attempt, this.host.clock.wallMs());
    if (!message.ok) {
      this.fail('E_ENROL_REQUEST', `the request does not build: ${message.error.path}: ${message.error.message}`);
      return;
    }
    const text = encodeValidated(message.value);
    if (!text.ok) {
      this.fail('E_ENROL_REQUEST', text.error.message);
      return;
    }
    const id = message.value.id;
    this.sent.add(id);
    this.awaiting = id;
    this.schedule(this.timings.answerTimeoutMs, () => this.failed('E_ENROL_TIMEOUT', `no answer within ${this.timings.answerTimeoutMs} ms`));
    const argv = ['mosquitto_pub', ...pubArgs, '-t', enrolTopic(hardwareId, 'req', this.root), '-s'];
    const published = await this.publish(argv, env, text.value);
    if (published.code !== 0 && this.awaiting === id) {
      this.failed('E_ENROL_PUBLISH', `mosquitto_pub ${published.timedOut ? 'timed out' : `exit ${published.code}`}${published.said ? `: ${published.said}` : ''}`);
    } else if (published.code === 0) {
      this.log.debug('enrolment request sent', { id, attempt: this.attempt });
    }
  }

  /** One message through `mosquitto_pub -s`: the text on standard input, so `ps` never shows it. */
  private async publish(argv: string[], env: Record<string, string>, text: string): Promise<{ code: number | null; timedOut: boolean; said: string }> {
    let said = '';
    let timedOut = false;
    const child = this.host.processes.spawn(argv, {
      onStderrLine: (line) => {
        if (said === '' && line.trim() !== '') said = line.trim().slice(0, 200);
      },
      env,
    });
    child.write(text);
    child.closeStdin();
    const timer = this.host.timers.setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, PUBLISH_TIMEOUT_MS);
    const status = await child.exited;
    this.host.timers.clearTimeout(timer);
    return { code: status.code, timedOut, said };
  }

  private startSubscriber(args: string[], env: Record<string, string>): void {
    const hardwareId = this.probe!.hardwareId;
    const sub = this.host.processes.spawn(['mosquitto_sub', ...args, '-t', enrolTopic(hardwareId, 'res', this.root)], {
      onStdoutLine: (line) => this.onAnswerText(line),
      onStderrLine: (line) => this.log.warn('mosquitto_sub', { said: line.slice(0, 200) }),
      env,
    });
    this.sub = sub;
    this.subStartedMs = this.host.clock.monotonicMs();
    detach(
      sub.exited.then((status) => {
        if (this.sub !== sub) return;
        this.sub = null;
        if (!this.stopped && !this.finished) this.failed('E_ENROL_LINK', `mosquitto_sub ended (${status.signal ?? `exit ${status.code}`}); the broker refused the enrolment login or went away`);
      }),
      (error) => this.log.error('internal error', { error: String(error) }),
    );
  }

  private onAnswerText(line: string): void {
    if (this.stopped || this.finished || line.trim() === '') return;
    const decoded = decodeMessage(line);
    if (!decoded.ok) {
      this.log.warn('unreadable enrolment answer', { code: decoded.error.code, field: decoded.error.path, reason: decoded.error.message });
      return;
    }
    const m = decoded.value;
    if (m.type !== 'enrol.answer' || !this.sent.has(m.corr)) return;
    const step = stepOnAnswer(m.body, Math.random());
    // A late answer to an earlier request matters only if it accepts; the current one decides otherwise.
    if (step.kind !== 'accepted' && m.corr !== this.awaiting) return;
    this.awaiting = null;
    this.clearTimer();
    this.follow(step);
  }

  private failed(code: string, detail: string): void {
    if (this.stopped || this.finished) return;
    this.awaiting = null;
    this.failures += 1;
    this.follow(stepOnFailure(this.failures, this.timings, Math.random(), code, detail));
  }

  private follow(step: EnrolStep): void {
    const hardwareId = this.probe?.hardwareId;
    switch (step.kind) {
      case 'accepted':
        this.finished = true;
        this.clearTimer();
        this.killSubscriber();
        detach(this.save(step.deviceId, step.username), (error) => this.fail('E_CREDENTIALS_SAVE', String(error)));
        return;
      case 'stop':
        this.log.error('enrolment refused; not asking again with this key', { code: step.code, detail: step.detail, hardware_id: hardwareId });
        this.stop();
        this.hooks.onStatus({ state: 'refused', code: step.code, detail: step.detail, ...(hardwareId ? { hardwareId } : {}) });
        return;
      case 'retry':
        if (step.why === 'pending') {
          this.failures = 0;
          this.log.info('enrolment pending approval', { retry_in_ms: step.afterMs, hardware_id: hardwareId });
          this.hooks.onStatus({ state: 'pending', ...(hardwareId ? { hardwareId } : {}) });
        } else {
          this.log.warn(step.why === 'refused' ? 'enrolment refused for now' : 'enrolment attempt failed', { code: step.code, detail: step.detail, retry_in_ms: step.afterMs });
          this.hooks.onStatus({ state: 'retrying', ...(step.code ? { code: step.code } : {}), ...(step.detail ? { detail: step.detail } : {}), ...(hardwareId ? { hardwareId } : {}) });
        }
        this.schedule(step.afterMs, () => this.request());
        return;
    }
  }

  private async save(deviceId: string, username: string): Promise<void> {
    const hardwareId = this.probe!.hardwareId;
    const saved = await saveLogin(this.host, this.settings.credentialsDir, { deviceId, username, hardwareId, broker: this.settings.broker, enrolledAtMs: Math.round(this.host.clock.wallMs()) }, this.password);
    if (this.stopped) return;
    if (!saved.ok) {
      // The server has made the login, but without the password on disk the agent cannot use it
      // after a restart: ask again later (the server's re-enrolment policy decides).
      this.finished = false;
      this.log.error('cannot save the enrolled login', { code: saved.error.code, reason: saved.error.message, path: saved.error.path ?? '' });
      this.failed(saved.error.code, saved.error.message);
      return;
    }
    const forgotten = removePendingPassword(this.host, this.settings.credentialsDir);
    if (!forgotten.ok) this.log.warn('cannot remove the enrolment password file', { reason: forgotten.error.message });
    this.log.info('enrolled', { device_id: deviceId, username, hardware_id: hardwareId, saved_in: this.settings.credentialsDir });
    this.hooks.onStatus({ state: 'enrolled', deviceId, hardwareId });
    this.hooks.onEnrolled(saved.value);
  }

  private schedule(ms: number, run: () => void): void {
    this.clearTimer();
    this.timer = this.host.timers.setTimeout(() => {
      this.timer = null;
      if (!this.stopped) run();
    }, Math.max(0, ms));
  }

  private clearTimer(): void {
    if (this.timer !== null) this.host.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private killSubscriber(): void {
    const sub = this.sub;
    this.sub = null;
    sub?.kill('SIGTERM');
  }
}
