import { describe, expect, it } from 'vitest';
import { createLogger, formatJsonLogLine, formatLogLine } from './log.ts';

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

  it('writes one JSON object per record with --log-format json, its own keys winning over fields', () => {
    const lines: string[] = [];
    createLogger((line) => lines.push(line), 'info', { service: 'x' }, 'json').child('broker').warn('refused\nlogin', { client: 'a b', level: 'fake', n: 2 });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ service: 'x', component: 'broker', client: 'a b', n: 2, level: 'warn', msg: 'refused\nlogin' });
    expect(typeof record.time).toBe('string');
    expect(formatJsonLogLine('info', 'm', {}, new Date(0))).toBe('{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"m"}');
  });
});
