// The host contract under Node, in-process. test/quickjs/host-contract.test.ts runs the same cases under qjs.
import { afterEach, beforeEach, describe, it } from 'vitest';
import { createNodeHost } from '../../src/hosts/node/index.ts';
import { hostContract } from '../contract/host-contract.ts';
import { bundles } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';

describe('host contract: Node', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir('contract-node');
  });
  afterEach(() => temp.remove());

  const host = createNodeHost([]);
  for (const contractCase of hostContract) {
    it(contractCase.name, () =>
      contractCase.run({ host, tempDir: temp.path, childCommand: [process.execPath, bundles.contractChildNode] }),
    );
  }
});
