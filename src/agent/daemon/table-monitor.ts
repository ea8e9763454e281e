/**
 * Watches for the agent's table being deleted (`firewall stop`, `nft flush ruleset`, an admin's
 * `nft delete table`) through a long-running `nft monitor tables`, so the agent rebuilds at once
 * instead of polling: with thousands of gates every nft listing costs tenths of a second and tens
 * of MiB on the router. The child is restarted a second after it exits, until stop().
 */
import type { ChildProcess, Host } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { NFT_TABLE } from '../../core/dataplane/model.ts';
import { detach } from '../../core/detach.ts';

const DELETED = `delete table inet ${NFT_TABLE}`;
const RESTART_MS = 1_000;

export class TableMonitor {
  private child: ChildProcess | null = null;
  private stopped = false;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly onDeleted: () => void,
  ) {}

  start(): void {
    if (this.stopped || this.child) return;
    const child = this.host.processes.spawn(['nft', 'monitor', 'tables'], {
      onStdoutLine: (line) => {
        if (line.trim() === DELETED) this.onDeleted();
      },
    });
    this.child = child;
    const restartAfterExit = child.exited.then((status) => {
      this.child = null;
      if (this.stopped) return;
      this.log.warn('nft monitor ended; restarting', { code: status.code, signal: status.signal });
      this.host.timers.setTimeout(() => this.start(), RESTART_MS);
    });
    detach(restartAfterExit, (error) => this.log.error('internal error', { error: String(error) }));
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill('SIGTERM');
  }
}
