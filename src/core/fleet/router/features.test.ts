import { describe, expect, it } from 'vitest';
import { kernelFeatures, packageVersion, parseNftVersion } from './features.ts';

describe('kernel features from probe evidence', () => {
  it('reads the version from nft --version, old and new output', () => {
    expect(parseNftVersion('nftables v1.0.6 (Lester Gooch #5)')).toBe('1.0.6');
    expect(parseNftVersion('nftables v0.9.6 (Capital Idea #2)\n')).toBe('0.9.6');
    expect(parseNftVersion('nftables v1.1.1')).toBe('1.1.1');
    expect(parseNftVersion('sh: nft: not found')).toBe('');
    expect(parseNftVersion('')).toBe('');
  });

  it('says yes for a feature only with evidence of one of its modules', () => {
    expect(kernelFeatures({ modules: new Set(), defaultQdisc: '', nftVersionLine: '' })).toEqual({ cake: false, fqCodel: false, ctinfo: false, flowOffload: false, nft: '' });
    expect(kernelFeatures({ modules: new Set(['sch_cake', 'act_ctinfo', 'nft_flow_offload']), defaultQdisc: 'pfifo_fast\n', nftVersionLine: 'nftables v1.0.8 (Old Doc Yak #2)' }))
      .toEqual({ cake: true, fqCodel: false, ctinfo: true, flowOffload: true, nft: '1.0.8' });
  });

  it('counts fq_codel as present when it is the default qdisc (built in, no module entry)', () => {
    expect(kernelFeatures({ modules: new Set(), defaultQdisc: 'fq_codel\n', nftVersionLine: '' }).fqCodel).toBe(true);
  });

  it('reads a package version from an opkg control file', () => {
    expect(packageVersion('Package: quickjs\nVersion: 2024-01-13-1\nDepends: libc\n')).toBe('2024-01-13-1');
    expect(packageVersion('Package: quickjs\n')).toBe('');
  });
});
