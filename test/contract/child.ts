/**
 * The other end of the contract cases that need a second process on the same runtime:
 * `atomic-writer <path>`, `signals`, `log`. Bundled once for Node and once for QuickJS.
 */
import type { Host } from '../../src/core/host/index.ts';
import { createLogger } from '../../src/core/log.ts';

/** Rewrites the file with ever new self-checking versions until killed (bounded, in case nobody does). */
function atomicWriter(host: Host, path: string): void {
  const filler = ('0123456789abcdef'.repeat(4) + '\n').repeat(30_000); // about 2 MB
  for (let version = 1; version <= 2_000; version += 1) {
    const written = host.files.writeAtomic(path, `begin ${version}\n${filler}\nend ${version}\n`);
    if (!written.ok) {
      host.writeErrLine(`atomic-writer: ${written.error.message}`);
      host.exit(1);
    }
  }
}

function signals(host: Host): void {
  host.onSignal('SIGHUP', () => host.writeOut('got SIGHUP\n'));
  host.onSignal('SIGTERM', () => {
    host.writeOut('got SIGTERM\n');
    host.exit(7);
  });
  host.timers.setTimeout(() => host.exit(1), 30_000); // keeps the event loop alive until a signal comes
  host.writeOut('ready\n');
}

function log(host: Host): void {
  const log = createLogger(host.writeErrLine, 'warn');
  log.debug('hidden');
  log.info('hidden');
  log.warn('disk almost full', { free: '3%' });
  log.child('nft').error('cannot apply batch', { code: 2 });
  createLogger(host.writeErrLine, 'info').info('two words', { msg: 'a b' });
  host.writeOut(`args=${host.args.join(',')}\n`);
}

export function runChild(host: Host): void {
  const [mode, arg] = host.args;
  if (mode === 'atomic-writer' && arg) atomicWriter(host, arg);
  else if (mode === 'signals') signals(host);
  else if (mode === 'log') log(host);
  else {
    host.writeErrLine(`contract child: unknown mode ${String(mode)}`);
    host.exit(2);
  }
}
