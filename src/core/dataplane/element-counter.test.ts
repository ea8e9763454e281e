import { describe, expect, it } from 'vitest';
import { parseElementCounter, parseElementCounters } from './element-counter.ts';

// As nft 1.0.6 prints a batch of two `get element` commands.
const TWO_MAPS = `table inet callqos {
\tmap up_v4 {
\t\ttype ipv4_addr . inet_service . ipv4_addr . inet_service : verdict
\t\tflags timeout
\t\telements = { 192.168.1.20 . 49170 . 198.18.20.20 . 50170 counter packets 30 bytes 5160 timeout 1h expires 59m58s comment "g1.0o" : goto mark_ef_v4 }
\t}
}
table inet callqos {
\tmap down_v4 {
\t\ttype ipv4_addr . inet_service . ipv4_addr . inet_service : verdict
\t\tflags timeout
\t\telements = { 192.168.1.20 . 49170 . 198.18.20.20 . 50170 counter packets 29 bytes 4988 timeout 1h expires 59m58s comment "g1.0o" : goto mark_ef_v4 }
\t}
}
`;

describe('element counters', () => {
  it('reads the one counter of a single get', () => {
    expect(parseElementCounter('elements = { 1.2.3.4 . 5 counter packets 3 bytes 30 : jump c }')).toEqual({ packets: 3, bytes: 30 });
    expect(parseElementCounter('elements = { 1.2.3.4 . 5 : jump c }')).toBeNull();
  });

  it('attributes each counter of a batch to the map printed before it', () => {
    const counters = parseElementCounters(TWO_MAPS);
    expect([...counters.entries()]).toEqual([
      ['up_v4', { packets: 30, bytes: 5160 }],
      ['down_v4', { packets: 29, bytes: 4988 }],
    ]);
  });

  it('leaves out a map whose element printed no counter, and reads nothing from noise', () => {
    const partial = TWO_MAPS.replace('counter packets 29 bytes 4988 ', '');
    expect([...parseElementCounters(partial).keys()]).toEqual(['up_v4']);
    expect(parseElementCounters('Error: Could not process rule: No such file or directory').size).toBe(0);
  });
});
