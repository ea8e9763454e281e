/**
 * A SIP call end to end through Kamailio from Debian, configured by deploy/kamailio/callqos.cfg to
 * feed the session API over HTTP (the suite: support/sip-call-suite.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../support/bundles.ts';
import { CLOUD_ADDRESS } from './support/cloud-lab.ts';
import { HTTP_PORT, start, waitFor } from './support/cloud-rig.ts';
import { sipCallSuite } from './support/sip-call-suite.ts';

sipCallSuite({
  name: 'Kamailio',
  tools: ['kamailio'],
  answeredLog: 'callqos: QoS asked for sipcall-1@lab',
  async start(rig) {
    const runtime = join(rig.temp, 'kamailio');
    mkdirSync(runtime, { recursive: true });
    const kamailio = start(rig.lab.cloud, [
      'kamailio', '-DD', '-E', '-f', join(repoRoot, 'deploy/kamailio/callqos.cfg'), '-l', `udp:${CLOUD_ADDRESS}:5060`, '-l', `tcp:${CLOUD_ADDRESS}:5060`,
      '-A', `CALLQOS_API="http://127.0.0.1:${HTTP_PORT}"`, '-Y', runtime, '-P', join(runtime, 'kamailio.pid'),
    ]);
    // The receive buffers are set as the UDP workers start: from then on it takes calls.
    await waitFor(kamailio, 'SO_RCVBUF is finally');
    return kamailio;
  },
});
