/** The SIP proxies the system tests run calls through, started in the cloud namespace on CLOUD_ADDRESS:5060. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../support/bundles.ts';
import { CLOUD_ADDRESS } from './cloud-lab.ts';
import { HTTP_PORT, start, waitFor } from './cloud-rig.ts';
import type { ProxyUnderTest } from './sip-stack.ts';

/** callqos's own proxy; `extra`: more `sip run` options. */
export function builtInProxy(extra: string[] = []): ProxyUnderTest {
  return {
    name: 'the built-in proxy',
    tools: [],
    answeredLog: 'state=active',
    async start(stack) {
      const proxy = start(stack.rig.lab.cloud, [
        process.execPath, stack.bundle, 'sip', 'run', '--id', 'sip-1', '--broker', stack.broker, '--listen', `${CLOUD_ADDRESS}:5060`, '--qos', 'hold',
        '--session-timeout-ms', '8000', '--log-level', 'debug', ...extra,
      ]);
      await waitFor(proxy, 'callqos SIP proxy sip-1');
      return proxy;
    },
  };
}

/** Kamailio from Debian with deploy/kamailio/callqos.cfg, feeding the session API over HTTP. */
export function kamailio(): ProxyUnderTest {
  return {
    name: 'Kamailio',
    tools: ['kamailio'],
    answeredLog: 'callqos: QoS asked for sipcall-1@lab',
    async start(stack) {
      const runtime = join(stack.dir, 'kamailio');
      mkdirSync(runtime, { recursive: true });
      const running = start(stack.rig.lab.cloud, [
        'kamailio', '-DD', '-E', '-f', join(repoRoot, 'deploy/kamailio/callqos.cfg'), '-l', `udp:${CLOUD_ADDRESS}:5060`, '-l', `tcp:${CLOUD_ADDRESS}:5060`,
        // Dialogs without a BYE end after 10 s, as the built-in proxy's do here (the lost-BYE case).
        '-A', `CALLQOS_API="http://127.0.0.1:${HTTP_PORT}"`, '-A', 'CALLQOS_DIALOG_TIMEOUT=10', '-Y', runtime, '-P', join(runtime, 'kamailio.pid'),
      ]);
      // The receive buffers are set as the UDP workers start: from then on it takes calls.
      await waitFor(running, 'SO_RCVBUF is finally');
      return running;
    },
  };
}
