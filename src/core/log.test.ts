import { describe, expect, it } from 'vitest';
import { createLogger, formatLogLine } from './log.ts';

describe('logger', () => {
  it('drops records below the minimum level and keeps the rest in order', () => {
    const lines: string[] = [];
    const log = createLogger((line) => lines.push(line), 'warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines).toEqual(['warn: w', 'error: e']);
  });

  it('formats fields as key=value and quotes values that would not split back', () => {
    expect(formatLogLine('info', 'gate installed', { gate: 'g1', rate: 80, note: 'two words', skip: undefined })).toBe(
      'info: gate installed gate=g1 rate=80 note="two words"',
    );
  });

  it('keeps one record on one line', () => {
    expect(formatLogLine('error', 'bad\ninput\r\nhere')).toBe('error: bad input here');
  });

  it('child loggers add their component', () => {
    const lines: string[] = [];
    createLogger((line) => lines.push(line), 'debug').child('nft').debug('applied', { ms: 3 });
    expect(lines).toEqual(['debug: applied component=nft ms=3']);
  });
});
