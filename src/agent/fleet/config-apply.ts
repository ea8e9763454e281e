/**
 * Configuration versions on the router (issue 15 section 3; messages in
 * src/core/protocol/messages/config.ts): a `config.apply` is validated against the agent's spec
 * (any problem: `rejected` with the field paths, nothing changed), reported `applying`, written
 * atomically, applied through the daemon's own reload (live gates kept), self-tested and
 * reported `applied`. A version is the whole configuration except the `cloud` section: the
 * router's link (broker, port, TLS, login, credentials_dir) is its own, set at enrolment, so a
 * version without a `cloud` section is written with the router's `cloud` section as the file has
 * it now, and the link is left alone. Only a version that carries a `cloud` section other than the
 * current one replaces it (whole), reconnects with it and must see the server accept the session
 * within `linkCheckS`; otherwise the file from before comes back, the link reconnects with the old
 * settings and, once it is up, the version is reported `rolled-back` (E_LINK). Reports name the
 * version's own number and hash (the hash of the sections the server sent).
 *
 * How the file is written: the project's UCI renderer, then one rename over the config file
 * (FileHost.writeAtomic), on OpenWrt too. `uci commit` replaces the file the same way; a `uci
 * batch` would need every value quoted into a script, while the rename takes no command line at
 * all. Changes a LuCI user staged but did not commit (/tmp/.uci/callqos) are dropped first with
 * `uci revert callqos` where `uci` exists, so that a later commit cannot lay them over the version.
 *
 * Where versions are kept: `<cloud.credentials_dir>/config-versions/` (survives a reboot, unlike
 * the state directory under /var/run): `book.json` (the applied version, its file's hash, the
 * last five good versions), `v<N>.uci` for each of those, and while a link check runs `before.uci`
 * and `pending.json` (an agent stopped during the check goes back to `before.uci` when it starts).
 * Mode 0700 for the directory, 0600 for the files: the cloud section names secrets' paths.
 *
 * Drift: at start, after every reload (SIGHUP, `gate reload`) and every DRIFT_CHECK_MS the
 * config file's sections are hashed (one small read, no process) and compared with the hash of
 * what was written; a difference is reported once per distinct content, with the sections as they
 * now are. Both leave out the router's own `cloud` section when the applied version carried none:
 * that section is not the fleet's to manage (a router-wins drift would otherwise make the router's
 * local paths part of the fleet's versions), and its edits are the router owner's.
 */
import { configHashOf } from '../../core/fleet/config-version.ts';
import { carriesCloud, driftOf, EMPTY_BOOK, linkVerdict, managedSections, parseBook, parsePending, planApply, recordGood, renderBook, renderPending, sectionsToWrite, touchesCloudLink, type VersionBook } from '../../core/fleet/router/config-book.ts';
import { renderVersion, sectionsOfFile } from '../../core/fleet/router/config-file.ts';
import { detach } from '../../core/detach.ts';
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import type { ConfigApplyBody, ConfigReportBody, ConfigSection, SelfTest } from '../../core/protocol/messages/config.ts';
import { MAX_CONFIG_SECTIONS } from '../../core/protocol/messages/config.ts';
import { REASON_MAX } from '../../core/protocol/limits.ts';
import type { Result } from '../../core/result.ts';
import { bounded } from '../../core/text/bounded.ts';
import { execute } from '../exec.ts';

export const DRIFT_CHECK_MS = 300_000;
export const VERSIONS_DIR = 'config-versions';
const UCI_BIN = '/sbin/uci';
const MAX_PROBLEMS = 32;

export interface ConfigApplyPorts {
  /** The daemon's reload: re-reads the config file, keeps live gates, re-renders the data plane. */
  reload(): Promise<Result<void>>;
  /** Restarts the cloud link from the config file as it now is. */
  relink(): void;
  selfTest(): Promise<SelfTest>;
  /** Sends a report on the accepted session; false when there is none (the report waits). */
  send(body: ConfigReportBody, corr: string | undefined): boolean;
}

export interface ConfigApplyOptions {
  readonly configPath: string;
  /** Where versions are kept (`<credentials_dir>/config-versions`). */
  readonly versionsDir: string;
}

export class ConfigApplier {
  private book: VersionBook = EMPTY_BOOK;
  private chain: Promise<void> = Promise.resolve();
  /** Reports waiting for an accepted session, oldest first (a rolled-back report waits for the old link). */
  private outbox: { body: ConfigReportBody; corr: string | undefined }[] = [];
  private acceptWaiters: (() => void)[] = [];
  private applying = false;
  private lastDriftReported: string | null = null;
  private driftTimer: unknown = null;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly options: ConfigApplyOptions,
    private readonly ports: ConfigApplyPorts,
  ) {}

  /** A leftover file costs only disk space: logged, not fatal. */
  private removeFile(path: string): void {
    const removed = this.host.files.remove(path);
    if (!removed.ok) this.log.warn('cannot remove a kept file', { path, code: removed.error.code });
  }

  private get bookPath(): string {
    return `${this.options.versionsDir}/book.json`;
  }

  /** Reads the book, checks for drift once and then every DRIFT_CHECK_MS. */
  start(): void {
    const read = this.host.files.readText(this.bookPath);
    this.book = read.ok ? parseBook(read.value) : EMPTY_BOOK;
    if (this.book.applied !== null) this.log.info('configuration version applied earlier', { version: this.book.applied.version, hash: this.book.applied.hash });
    if (!this.resumeInterruptedCheck()) this.checkDrift('start');
    const tick = () => {
      this.driftTimer = this.host.timers.setTimeout(tick, DRIFT_CHECK_MS);
      this.checkDrift('periodic check');
    };
    this.driftTimer = this.host.timers.setTimeout(tick, DRIFT_CHECK_MS);
  }

  stop(): void {
    if (this.driftTimer !== null) this.host.timers.clearTimeout(this.driftTimer as never);
    this.driftTimer = null;
  }

  applied(): VersionBook['applied'] {
    return this.book.applied;
  }

  /** The session was accepted: waiting reports go out, a link check under way hears of it. */
  linkAccepted(): void {
    const waiting = this.outbox;
    this.outbox = [];
    for (const { body, corr } of waiting) this.report(body, corr);
    const waiters = this.acceptWaiters;
    this.acceptWaiters = [];
    for (const wake of waiters) wake();
  }

  /** A `config.apply` from the server; versions are applied one at a time, in the order they came. */
  apply(id: string, body: ConfigApplyBody): void {
    const next = this.chain.then(() => this.applyNow(id, body));
    this.chain = next.catch((err: unknown) => this.log.error('configuration apply failed', { error: String(err) }));
    detach(next, () => undefined);
  }

  private report(body: ConfigReportBody, corr: string | undefined): void {
    if (!this.ports.send(body, corr)) this.outbox.push({ body, corr });
  }

  private async applyNow(id: string, body: ConfigApplyBody): Promise<void> {
    const ref = { version: body.version, hash: body.hash };
    const plan = planApply(this.book, ref);
    if (plan.kind === 'same') {
      this.log.info('configuration version already applied', ref);
      this.report({ ...ref, state: 'applied' }, id);
      return;
    }
    if (plan.kind === 'conflict') return this.reject(id, ref, plan.reason, []);
    if (configHashOf(body.sections) !== body.hash) return this.reject(id, ref, `E_CONFIG: the hash ${body.hash} is not the hash of these sections`, []);
    const before = this.host.files.readText(this.options.configPath);
    if (!before.ok) return this.reject(id, ref, `E_CONFIG_WRITE: cannot read ${this.options.configPath}: ${before.error.code}`, []);
    const beforeSections = sectionsOfFile(before.value) ?? [];
    // Cloud sections come after the version's, so the paths of problems in the version's own
    // sections (`gate[2].rate_kbit`) are the same as the server's.
    const rendered = renderVersion(sectionsToWrite(beforeSections, body.sections));
    if (!rendered.ok) return this.reject(id, ref, `E_CONFIG: ${rendered.error.length} problem${rendered.error.length === 1 ? '' : 's'}`, rendered.error);
    const keepsCloud = !carriesCloud(body.sections);
    const linkChanged = touchesCloudLink(beforeSections, body.sections);
    this.applying = true;
    try {
      this.report({ ...ref, state: 'applying' }, id);
      const kept = await this.keepFiles(linkChanged ? [['before.uci', before.value], ['pending.json', renderPending({ ...ref, corr: id })]] : []);
      if (!kept.ok) return this.reject(id, ref, `E_CONFIG_WRITE: ${kept.error}`, []);
      const written = await this.writeConfig(rendered.value);
      if (!written.ok) return this.reject(id, ref, `E_CONFIG_WRITE: ${written.error}`, []);
      const reloaded = await this.ports.reload();
      if (!reloaded.ok) this.log.warn('the data plane did not take the new version fully', { code: reloaded.error.code, reason: reloaded.error.message });
      if (linkChanged) {
        this.log.info('the version changes the cloud link: reconnecting, checking it', { version: ref.version, within_s: body.linkCheckS });
        const accepted = this.waitForAccept(body.linkCheckS * 1000);
        this.ports.relink();
        if (linkVerdict(await accepted) === 'roll-back') return await this.rollBack(id, ref, before.value, `the server did not accept the session within ${body.linkCheckS} s with the new cloud settings`);
        this.endLinkCheck();
      }
      const selfTest = await this.ports.selfTest();
      const recorded = await this.recordApplied(ref, rendered.value, keepsCloud);
      if (!recorded) this.log.error('cannot keep the version book; the version is applied but will look like drift after a restart', { path: this.bookPath });
      this.log.info('configuration version applied', { version: ref.version, hash: ref.hash, table: selfTest.table, queues: selfTest.queues, counters: selfTest.counters });
      this.report({ ...ref, state: 'applied', selfTest }, id);
    } finally {
      this.applying = false;
    }
  }

  private reject(id: string, ref: { version: number; hash: string }, reason: string, problems: readonly { path: string; message: string }[]): void {
    this.log.warn('configuration version rejected', { version: ref.version, reason });
    const list = problems.slice(0, MAX_PROBLEMS).map((p) => ({ path: bounded(p.path, 128), message: bounded(p.message, REASON_MAX) }));
    this.report({ ...ref, state: 'rejected', reason: bounded(reason, REASON_MAX), ...(list.length > 0 ? { problems: list } : {}) }, id);
  }

  /** Resolves true when a session is accepted within `ms`, false when the deadline passes first. */
  private waitForAccept(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let done = false;
      const timer = this.host.timers.setTimeout(() => {
        if (done) return;
        done = true;
        this.acceptWaiters = this.acceptWaiters.filter((w) => w !== wake);
        resolve(false);
      }, ms);
      const wake = () => {
        if (done) return;
        done = true;
        this.host.timers.clearTimeout(timer);
        resolve(true);
      };
      this.acceptWaiters.push(wake);
    });
  }

  private endLinkCheck(): void {
    this.removeFile(`${this.options.versionsDir}/pending.json`);
    this.removeFile(`${this.options.versionsDir}/before.uci`);
  }

  /**
   * A link check the agent stopped in the middle of (a crash, a reboot): nobody knows whether the
   * new link works, so the file from before comes back. True when one was found.
   */
  private resumeInterruptedCheck(): boolean {
    const dir = this.options.versionsDir;
    const pendingText = this.host.files.readText(`${dir}/pending.json`);
    if (!pendingText.ok) return false;
    const pending = parsePending(pendingText.value);
    const before = this.host.files.readText(`${dir}/before.uci`);
    if (pending === null || !before.ok) {
      this.log.warn('an unreadable record of an interrupted link check; leaving the config as it is', { path: `${dir}/pending.json` });
      this.endLinkCheck();
      return false;
    }
    const ref = { version: pending.version, hash: pending.hash };
    const next = this.chain.then(() => this.rollBack(pending.corr, ref, before.value, 'the agent stopped before the link check ended'));
    this.chain = next.catch((err: unknown) => this.log.error('configuration rollback failed', { error: String(err) }));
    detach(next, () => undefined);
    return true;
  }

  private async rollBack(id: string, ref: { version: number; hash: string }, beforeText: string, why: string): Promise<void> {
    this.log.warn('the cloud link did not come back with the new version: rolling back', { version: ref.version, reason: why });
    const restored = await this.writeConfig(beforeText);
    if (!restored.ok) this.log.error('cannot restore the configuration from before', { reason: restored.error });
    const reloaded = await this.ports.reload();
    if (!reloaded.ok) this.log.warn('the data plane did not take the restored configuration fully', { reason: reloaded.error.message });
    this.endLinkCheck();
    // The report waits in the outbox until the old link's session is accepted.
    this.report({ ...ref, state: 'rolled-back', reason: bounded(`E_LINK: ${why}; the previous settings are back`, REASON_MAX) }, id);
    this.ports.relink();
  }

  /** Mode 0700 directory, files 0600 written whole (renamed into place). */
  private async keepFiles(files: readonly (readonly [string, string])[]): Promise<Result<void, string>> {
    const dir = this.options.versionsDir;
    const made = this.host.files.makeDir(dir);
    if (!made.ok) return { ok: false, error: `cannot create ${dir}: ${made.error.code}` };
    const chmodDir = await execute(this.host, ['chmod', '0700', dir]);
    if (chmodDir.status.code !== 0) return { ok: false, error: `cannot restrict ${dir}` };
    for (const [name, text] of files) {
      const path = `${dir}/${name}`;
      const written = this.host.files.writeAtomic(path, text);
      if (!written.ok) return { ok: false, error: `cannot write ${path}: ${written.error.code}` };
      const chmod = await execute(this.host, ['chmod', '0600', path]);
      if (chmod.status.code !== 0) return { ok: false, error: `cannot restrict ${path}` };
    }
    return { ok: true, value: undefined };
  }

  private async writeConfig(text: string): Promise<Result<void, string>> {
    const path = this.options.configPath;
    if (path.startsWith('/etc/config/') && this.host.files.exists(UCI_BIN)) {
      // Fixed argv, no shell: the package name comes from the config path, not from a message.
      const revert = await execute(this.host, [UCI_BIN, 'revert', path.slice('/etc/config/'.length)]);
      if (revert.status.code !== 0) this.log.warn('uci revert failed; staged changes may remain', { path });
    }
    const written = this.host.files.writeAtomic(path, text);
    return written.ok ? { ok: true, value: undefined } : { ok: false, error: `cannot write ${path}: ${written.error.code}` };
  }

  /** `fileHash` is of what was written (the managed part), so a kept `cloud` section is no drift. */
  private async recordApplied(ref: { version: number; hash: string }, text: string, keepsCloud: boolean): Promise<boolean> {
    const fileHash = configHashOf(managedSections(sectionsOfFile(text) ?? [], keepsCloud));
    const { book, dropped } = recordGood(this.book, ref, fileHash, keepsCloud);
    const kept = await this.keepFiles([[`v${ref.version}.uci`, text], ['book.json', renderBook(book)]]);
    this.book = book;
    this.lastDriftReported = null;
    for (const version of dropped) this.removeFile(`${this.options.versionsDir}/v${version}.uci`);
    return kept.ok;
  }

  /** Compares the config file with the applied version and reports drift once per distinct content. */
  checkDrift(why: string): void {
    if (this.applying || this.book.applied === null) return;
    const read = this.host.files.readText(this.options.configPath);
    const all = read.ok ? sectionsOfFile(read.value) : null;
    if (all === null) {
      this.log.warn('cannot read the config file to compare it with the applied version', { path: this.options.configPath });
      return;
    }
    const sections = managedSections(all, this.book.keepsCloud);
    const hash = configHashOf(sections);
    if (driftOf(this.book, hash, this.lastDriftReported) !== 'report') return;
    this.lastDriftReported = hash;
    this.log.warn('the config file differs from the applied version (edited on the router)', { version: this.book.applied.version, reason: why });
    this.report({ version: this.book.applied.version, hash, state: 'drift', sections: sections.slice(0, MAX_CONFIG_SECTIONS) as ConfigSection[] }, undefined);
  }
}
