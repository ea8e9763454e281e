/**
 * The router's enrolment code under real qjs: prints one JSON line per event for
 * test/quickjs/enrol.test.ts.
 *   {"kind":"probe", ...}     the probe of the fake router under CALLQOS_FAKE_ROOT, the password
 *                             made from /dev/urandom, and the enrol.request built from both
 *   {"kind":"status", ...}    each enrolment status, when CALLQOS_BROKER_PORT names a broker
 *   {"kind":"started", ...}   the cloud link's login after acceptance; then it exits 0
 * CALLQOS_STATE is a writable directory for the state and the credentials.
 */
import * as std from 'std';
import type { Host } from '../../../src/core/host/index.ts';
import { createQuickjsHost } from '../../../src/hosts/quickjs/index.ts';
import { createLogger } from '../../../src/core/log.ts';
import { parseAgentConfig } from '../../../src/core/config/index.ts';
import { encodeMessage } from '../../../src/core/protocol/envelope.ts';
import { enrolRequestMessage, passwordFromBytes, PASSWORD_LENGTH } from '../../../src/core/fleet/router/enrol-steps.ts';
import { pathsUnder, probeRouter, startCloudWithLogin } from '../../../src/agent/fleet/index.ts';

const KEY = 'grp1.0123456789abcdefXYZ_-';

async function main(): Promise<void> {
  const host: Host = createQuickjsHost();
  const root = std.getenv('CALLQOS_FAKE_ROOT');
  const state = std.getenv('CALLQOS_STATE');
  if (!root || !state) {
    host.writeErrLine('CALLQOS_FAKE_ROOT and CALLQOS_STATE must be set');
    host.exit(2);
  }
  const print = (value: unknown) => host.writeOut(JSON.stringify(value) + '\n');
  const paths = pathsUnder(root);

  const probe = await probeRouter(host, paths);
  const random = host.files.readBytes('/dev/urandom', PASSWORD_LENGTH);
  const password = random.ok ? passwordFromBytes(random.value) : '';
  const message = enrolRequestMessage({ key: KEY, hardwareId: probe.hardwareId, password, hostname: probe.hostname, hardware: probe.hardware, versions: probe.versions, features: probe.features }, 1, host.clock.wallMs());
  const text = message.ok ? encodeMessage(message.value) : message;
  print({ kind: 'probe', probe, randomBytes: random.ok ? random.value.length : random.error.message, request: text.ok ? text.value : text.error.message });

  const port = std.getenv('CALLQOS_BROKER_PORT');
  if (!port) host.exit(0);
  const parsed = parseAgentConfig(
    `config agent 'agent'\n\toption state_dir '${state}/state'\nconfig qos 'qos'\n\toption uplink_kbit 20000\n\toption downlink_kbit 100000\n` +
      `config cloud 'cloud'\n\toption enabled 1\n\toption broker 127.0.0.1\n\toption port ${port}\n\toption tls 0\n\toption enrol_key '${KEY}'\n\toption credentials_dir '${state}/credentials'\n`,
  );
  if (!parsed.ok) {
    host.writeErrLine(parsed.error.message);
    host.exit(2);
  }
  const log = createLogger((line) => host.writeErrLine(line), 'debug');
  const deadline = host.timers.setTimeout(() => {
    host.writeErrLine('no enrolment within 60 s');
    host.exit(3);
  }, 60_000);
  startCloudWithLogin(
    host,
    log,
    parsed.value.config,
    'OpenWrt',
    (config, deviceId) => {
      host.timers.clearTimeout(deadline);
      print({ kind: 'started', deviceId, username: config.cloud.username, passwordFile: config.cloud.passwordFile });
      host.exit(0);
    },
    (status) => print({ kind: 'status', status }),
    { timings: { settleMs: 500, answerTimeoutMs: 5_000, backoffMinMs: 200, backoffMaxMs: 1_000 }, paths },
  );
}

main().catch((err) => {
  std.err.puts(`enrolment runner crashed: ${String(err)}\n`);
  std.exit(3);
});
