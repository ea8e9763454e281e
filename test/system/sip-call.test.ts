/** A SIP call end to end through the built-in SIP proxy (the suite: support/sip-call-suite.ts). */
import { CLOUD_ADDRESS } from './support/cloud-lab.ts';
import { start, waitFor } from './support/cloud-rig.ts';
import { sipCallSuite } from './support/sip-call-suite.ts';

sipCallSuite({
  name: 'the built-in proxy',
  tools: [],
  answeredLog: 'state=active',
  async start(rig, bundle, broker) {
    const proxy = start(rig.lab.cloud, [process.execPath, bundle, 'sip', 'run', '--id', 'sip-1', '--broker', broker, '--listen', `${CLOUD_ADDRESS}:5060`, '--qos', 'hold', '--session-timeout-ms', '8000', '--log-level', 'debug']);
    await waitFor(proxy, 'callqos SIP proxy sip-1');
    return proxy;
  },
});
