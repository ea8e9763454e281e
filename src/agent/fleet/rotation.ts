/**
 * Rotating the enrolled router's broker password (the fleet's `rotate-credentials` command).
 *
 * The router chooses a new password from /dev/urandom, as enrolment does, and keeps it beside the
 * current one as `rotating-password` (mode 0600); the command's result carries it to the server,
 * which sets it on the broker, and the broker (or the server) ends the router's connection. The
 * link then connects with the new password; only a connection the broker accepted with it makes it
 * the current one (renamed over `enrolled-password`). Refused, the link tries the old one next, and
 * so on in turn, so a rotation the server never applied costs one refused attempt, not the link.
 * A new password the broker never took is dropped after ROTATION_WINDOW_MS once the old one works.
 *
 * Only for a router with an enrolled login (credentials.ts); a login made by hand is the
 * operator's to change.
 */
import type { Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { passwordFromBytes, PASSWORD_LENGTH } from '../../core/fleet/router/enrol-steps.ts';
import { BROKER_PASSWORD } from '../../core/protocol/messages/enrol.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import { detach } from '../../core/detach.ts';
import { describeFailure, execute } from '../exec.ts';
import type { PasswordChoice } from '../cloud/transport.ts';
import { PASSWORD_FILE, ROTATING_PASSWORD_FILE, writePrivate } from './credentials.ts';

export const ROTATION_WINDOW_MS = 10 * 60_000;


export class CredentialRotation implements PasswordChoice {
  /** The next connect offers the new password (while there is one). */
  private offerNew: boolean;
  private newSinceMs: number;
  private promoting = false;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly dir: string,
    private readonly randomSource = '/dev/urandom',
  ) {
    // One left from before a restart: the broker may have it already, so offer it first.
    this.offerNew = this.hasNew();
    this.newSinceMs = host.clock.monotonicMs();
  }

  private get currentPath(): string {
    return `${this.dir}/${PASSWORD_FILE}`;
  }

  private get newPath(): string {
    return `${this.dir}/${ROTATING_PASSWORD_FILE}`;
  }

  private hasNew(): boolean {
    const read = this.host.files.readText(this.newPath);
    return read.ok && BROKER_PASSWORD.test(read.value.trim());
  }

  /** Chooses and keeps a new password; the link offers it from its next connect on. */
  async rotate(): Promise<Result<{ password: string }>> {
    const random = this.host.files.readBytes(this.randomSource, PASSWORD_LENGTH);
    if (!random.ok || random.value.length < PASSWORD_LENGTH) return fail({ code: 'E_RANDOM', message: `cannot read ${PASSWORD_LENGTH} bytes from ${this.randomSource}` });
    const password = passwordFromBytes(random.value);
    const saved = await writePrivate(this.host, this.newPath, `${password}\n`);
    if (!saved.ok) return saved;
    this.offerNew = true;
    this.newSinceMs = this.host.clock.monotonicMs();
    this.log.info('new broker password chosen; used from the next connection', { path: this.newPath });
    return ok({ password });
  }

  passwordFile(): string {
    return (this.offerNew || this.promoting) && this.hasNew() ? this.newPath : this.currentPath;
  }

  connected(accepted: boolean, file: string): void {
    if (this.promoting || !this.hasNew()) return;
    if (file === this.newPath) {
      if (accepted) this.promote();
      else {
        this.log.warn('the broker refused the new password; trying the current one next');
        this.offerNew = false;
      }
      return;
    }
    if (!accepted) {
      this.log.warn('the broker refused the current password; trying the new one next');
      this.offerNew = true;
    } else if (this.host.clock.monotonicMs() - this.newSinceMs > ROTATION_WINDOW_MS) {
      const removed = this.host.files.remove(this.newPath);
      if (removed.ok) this.log.warn('the new password was never taken by the broker; dropped', { path: this.newPath });
    } else this.offerNew = true;
  }

  /** The broker took the new password: it becomes the current one (rename: never half written). */
  private promote(): void {
    this.promoting = true;
    const mv = ['mv', '-f', this.newPath, this.currentPath];
    const done = execute(this.host, mv).then((moved) => {
      this.promoting = false;
      this.offerNew = false;
      if (moved.status.code === 0) this.log.info('the broker took the new password; it is now the current one');
      else this.log.error('cannot make the new password the current one', { reason: describeFailure(mv, moved) });
    });
    detach(done, (error) => this.log.error('internal error', { error: String(error) }));
  }
}
