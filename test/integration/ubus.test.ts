// The ubus bindings under Node, in-process, against the fake ubus (test/fixtures/ubus/bin/ubus).
// test/quickjs/ubus.test.ts runs the same cases under qjs.
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createNodeHost } from '../../src/hosts/node/index.ts';
import { ubusCases } from '../quickjs/entries/ubus-scenario.ts';
import { repoRoot } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';

const fixtures = join(repoRoot, 'test', 'fixtures', 'ubus');

describe('ubus bindings: Node', () => {
  const state = makeTempDir('ubus-node');
  const saved = { PATH: process.env.PATH, CALLQOS_FAKE_UBUS: process.env.CALLQOS_FAKE_UBUS };

  // The host spawns with this process's environment: the fake comes first in PATH.
  beforeAll(() => {
    chmodSync(join(fixtures, 'bin', 'ubus'), 0o755);
    process.env.PATH = `${join(fixtures, 'bin')}:${saved.PATH ?? '/usr/bin:/bin'}`;
    process.env.CALLQOS_FAKE_UBUS = state.path;
  });
  afterAll(() => {
    process.env.PATH = saved.PATH;
    if (saved.CALLQOS_FAKE_UBUS === undefined) delete process.env.CALLQOS_FAKE_UBUS;
    else process.env.CALLQOS_FAKE_UBUS = saved.CALLQOS_FAKE_UBUS;
    state.remove();
  });

  const host = createNodeHost([]);
  for (const ubusCase of ubusCases) {
    it(ubusCase.name, () => ubusCase.run({ host, fixtures, state: state.path }));
  }
});
