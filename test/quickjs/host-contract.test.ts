// The host contract under real qjs 2021-03-27: the bundled runner prints one JSON result per case.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { hostContract } from '../contract/host-contract.ts';
import { bundles } from '../support/bundles.ts';
import { makeTempDir } from '../support/temp.ts';

interface CaseResult {
  case: string;
  ok: boolean;
  error: string | null;
  ms: number;
}

describe('host contract: QuickJS', () => {
  const results = new Map<string, CaseResult>();
  let runnerOutput = '';

  beforeAll(() => {
    const qjs = inject('qjsPath');
    const temp = makeTempDir('contract-qjs');
    try {
      const run = spawnSync(qjs, [bundles.contractRunnerQuickjs], {
        encoding: 'utf8',
        timeout: 300_000,
        env: {
          ...process.env,
          CALLQOS_CONTRACT_TMP: temp.path,
          CALLQOS_CONTRACT_CHILD: JSON.stringify([qjs, bundles.contractChildQuickjs]),
        },
      });
      runnerOutput = `exit ${run.status} ${run.signal ?? ''}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
      for (const line of run.stdout.split('\n').filter(Boolean)) {
        const result = JSON.parse(line) as CaseResult;
        results.set(result.case, result);
      }
    } finally {
      temp.remove();
    }
  });

  for (const contractCase of hostContract) {
    it(contractCase.name, () => {
      const result = results.get(contractCase.name);
      expect(result, `no result from qjs for this case\n${runnerOutput}`).toBeDefined();
      expect(result?.error ?? null).toBeNull();
      expect(result?.ok).toBe(true);
    });
  }
});
