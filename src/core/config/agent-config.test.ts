import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfig } from './agent-config.ts';
import { prng } from '../../../test/support/random.ts';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/config');
const EXAMPLE = join(import.meta.dirname, '../../../openwrt/examples/callqos.uci');
const SHIPPED_DEFAULT = join(import.meta.dirname, '../../../openwrt/files/etc/config/callqos');
const RATES = "config qos 'qos'\n\toption uplink_kbit '20000'\n\toption downlink_kbit '100000'\n";

function read(text: string): { config: AgentConfig; warnings: string[] } {
  const r = parseAgentConfig(text);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function gates(text: string) {
  return read(RATES + text).config.gates;
}

describe('the default config the package installs', () => {
  it('reads without warnings, with its example gates disabled', () => {
    const r = read(readFileSync(SHIPPED_DEFAULT, 'utf8'));
    expect(r.warnings).toEqual([]);
    expect(r.config.gates).toEqual([]);
    expect(r.config.qos.uplinkKbit).toBe(20000);
  });

  it('has only real options with valid values in its commented-out examples', () => {
    const uncommented = readFileSync(SHIPPED_DEFAULT, 'utf8').replace(/^\t#option /gm, '\toption ');
    const r = read(uncommented);
    expect(r.warnings).toEqual([]);
    expect(r.config.cloud.enrolKey).toBe('k3y1.replace-with-the-secret-from-the-dashboard');
    expect(r.config.cloud.credentialsDir).toBe('/etc/callqos');
  });
});

describe('the example config openwrt/examples/callqos.uci', () => {
  it('reads without warnings into this config', () => {
    const r = read(readFileSync(EXAMPLE, 'utf8'));
    expect(r.warnings).toEqual([]);
    expect(r.config).toEqual({
      agent: { enabled: true, logLevel: 'info', stateDir: '/var/run/callqos' },
      qos: {
        wanInterface: 'wan',
        lanInterface: 'lan',
        uplinkKbit: 20000,
        downlinkKbit: 100000,
        efBudgetPercent: 30,
        queueBackend: 'auto',
        policeMarginPercent: 10,
        washUnadmittedEf: true,
        markMask: 0x003f0000,
        wifiEfToVoice: true,
        gateLifetimeS: 3600,
      },
      cloud: { enabled: false, port: 8883, tls: true, keepaliveS: 30, credentialsDir: '/etc/callqos' },
      gates: [
        { id: 'deskphone', lan: { address: '192.168.1.20', port: 10000 }, remote: { address: null, port: null }, direction: 'both', dscp: 46, rateKbit: 100 },
        {
          id: 'ata_v6',
          lan: { address: '2001:db8:10:1::50', port: 4000 },
          remote: { address: '2001:db8:ffff::5060', port: 40000 },
          direction: 'both',
          dscp: 46,
          rateKbit: 100,
        },
      ],
    } satisfies AgentConfig);
  });
});

describe('bad configs', () => {
  const dir = join(FIXTURES, 'bad');
  const cases = readdirSync(dir).filter((f) => f.endsWith('.uci'));
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(6));
  for (const name of cases) {
    it(name, () => {
      const expected = JSON.parse(readFileSync(join(dir, name.replace(/\.uci$/, '.expected.json')), 'utf8')) as {
        error?: { code: string; path: string; message: string };
        warnings?: string[];
        config?: AgentConfig;
      };
      const r = parseAgentConfig(readFileSync(join(dir, name), 'utf8'));
      if (expected.error !== undefined) {
        expect(r).toEqual({ ok: false, error: expected.error });
      } else {
        expect(r).toEqual({ ok: true, value: { config: expected.config, warnings: expected.warnings } });
      }
    });
  }
});

describe('parseAgentConfig', () => {
  it('needs only the two rates; everything else has a default', () => {
    const r = read(RATES);
    expect(r.warnings).toEqual([]);
    expect(r.config.agent).toEqual({ enabled: true, logLevel: 'info', stateDir: '/var/run/callqos' });
    expect(r.config.agent).not.toHaveProperty('deviceId');
    expect(r.config.qos).toMatchObject({ efBudgetPercent: 30, queueBackend: 'auto', markMask: 0x3f0000, washUnadmittedEf: true });
    expect(r.config.gates).toEqual([]);
  });

  it('reads the agent section', () => {
    const r = read(`${RATES}config agent 'agent'\n\toption enabled 'no'\n\toption device_id 'office-gw-01'\n\toption log_level 'debug'\n\toption state_dir '/tmp/callqos'\n`);
    expect(r.config.agent).toEqual({ enabled: false, deviceId: 'office-gw-01', logLevel: 'debug', stateDir: '/tmp/callqos' });
  });

  it('leaves a bad device id undefined with a warning, so the hostname is used', () => {
    const r = read(`${RATES}config agent 'agent'\n\toption device_id '-bad id'\n\toption state_dir 'relative'\n`);
    expect(r.config.agent.deviceId).toBeUndefined();
    expect(r.config.agent.stateDir).toBe('/var/run/callqos');
    expect(r.warnings).toEqual([
      `section agent 'agent': option 'device_id' has invalid value "-bad id": expected a device id ([A-Za-z0-9][A-Za-z0-9_.-], 1..64 characters); ignored`,
      `section agent 'agent': option 'state_dir' has invalid value "relative": expected an absolute path; using the default /var/run/callqos`,
    ]);
  });

  it('reads every qos option', () => {
    const r = read(
      `config qos\n\toption wan_interface wan6\n\toption lan_interface br-lan\n\toption uplink_kbit 64\n\toption downlink_kbit 10000000\n` +
        `\toption ef_budget_percent 90\n\toption queue_backend htb\n\toption police_margin_percent 0\n\toption wash_unadmitted_ef off\n` +
        `\toption mark_mask 0xff000000\n\toption wifi_ef_to_voice false\n\toption wan_device pppoe-wan\n\toption lan_device br-lan\n` +
        `\toption gate_lifetime_s 600\n`,
    );
    expect(r.warnings).toEqual([]);
    expect(r.config.qos).toEqual({
      wanInterface: 'wan6',
      lanInterface: 'br-lan',
      uplinkKbit: 64,
      downlinkKbit: 10_000_000,
      efBudgetPercent: 90,
      queueBackend: 'htb',
      policeMarginPercent: 0,
      washUnadmittedEf: false,
      markMask: 0xff000000,
      wifiEfToVoice: false,
      wanDevice: 'pppoe-wan',
      lanDevice: 'br-lan',
      gateLifetimeS: 600,
    });
  });

  it('reads the cloud section, and refuses a password given inline rather than in a file', () => {
    const r = read(
      `${RATES}config cloud 'cloud'\n\toption enabled 1\n\toption broker mqtt.example.net\n\toption port 8884\n\toption tls 1\n` +
        `\toption ca_file /etc/callqos/ca.pem\n\toption username router-7\n\toption password_file /etc/callqos/password\n\toption password hunter2\n`,
    );
    expect(r.config.cloud).toEqual({
      enabled: true,
      broker: 'mqtt.example.net',
      port: 8884,
      tls: true,
      caFile: '/etc/callqos/ca.pem',
      username: 'router-7',
      passwordFile: '/etc/callqos/password',
      keepaliveS: 30,
      credentialsDir: '/etc/callqos',
    });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain("'password'");
  });

  it('takes an enrolment key and a credentials directory, and refuses a key of the wrong form, naming the option', () => {
    const key = 'k3y1.abcdefghijklmnop_-QR';
    const cloud = read(`${RATES}config cloud 'cloud'\n\toption enrol_key '${key}'\n\toption credentials_dir '/overlay/callqos'\n`).config.cloud;
    expect(cloud.enrolKey).toBe(key);
    expect(cloud.credentialsDir).toBe('/overlay/callqos');
    const r = parseAgentConfig(`${RATES}config cloud 'cloud'\n\toption enrol_key 'no-dot-here'\n\toption credentials_dir 'relative'\n`);
    const said = r.ok ? r.value.warnings.join('\n') : r.error.message;
    expect(said).toMatch(/option 'enrol_key' has invalid value "no-dot-here"/);
    expect(said).toMatch(/option 'credentials_dir' has invalid value "relative"/);
  });

  it('takes the policy domain for a broker several domains share, and refuses one that is not a topic level', () => {
    expect(read(`${RATES}config cloud 'cloud'\n\toption domain 'domain-a'\n`).config.cloud.domain).toBe('domain-a');
    const r = parseAgentConfig(`${RATES}config cloud 'cloud'\n\toption domain 'a/b'\n`);
    expect(r.ok ? r.value.warnings.join('\n') : r.error.message).toMatch(/option 'domain' has invalid value "a\/b"/);
  });

  it('fails when a rate is out of range, naming the option', () => {
    const r = parseAgentConfig("config qos\n\toption uplink_kbit 63\n\toption downlink_kbit 1000\n");
    expect(r.ok === false && r.error).toEqual({
      code: 'E_CONFIG',
      message: `section @qos[0]: option 'uplink_kbit' has invalid value "63": 63 is outside 64..10000000`,
      path: 'qos.uplink_kbit',
    });
  });

  it('passes syntax errors through', () => {
    const r = parseAgentConfig(`${RATES}\toption x "open\n`);
    expect(r.ok === false && r.error).toEqual({ code: 'E_UCI_SYNTAX', message: 'line 4: unterminated double quote', path: 'line 4' });
  });

  it('accepts its own package name and warns about another', () => {
    expect(read(`package callqos\n${RATES}`).warnings).toEqual([]);
    expect(read(`package network\n${RATES}`).warnings).toEqual(['package "network" is not callqos; read anyway']);
  });
});

describe('static gates', () => {
  const gate = (body: string, head = 'config gate') => `${head}\n\toption lan_address '192.168.1.20'\n\toption lan_port '10000'\n\toption rate_kbit '100'\n${body}`;

  it('takes the section name as id, or gate-<index> for an anonymous section', () => {
    expect(gates(gate('', "config gate 'phone'") + gate('') + gate("\toption id 'x:1'\n") + gate('')).map((g) => g.id)).toEqual(['phone', 'gate-1', 'x:1', 'gate-3']);
  });

  it('reads every gate option; names and numbers of DSCPs alike', () => {
    const [g] = gates(gate("\toption remote_address '198.51.100.7'\n\toption remote_port '20000'\n\toption direction 'up'\n\toption dscp 'af41'\n"));
    expect(g).toEqual({ id: 'gate-0', lan: { address: '192.168.1.20', port: 10000 }, remote: { address: '198.51.100.7', port: 20000 }, direction: 'up', dscp: 34, rateKbit: 100 });
    expect(gates(gate("\toption dscp '40'\n"))[0]?.dscp).toBe(40);
  });

  it('allows a remote port without a remote address', () => {
    expect(gates(gate("\toption remote_port '5004'\n"))[0]?.remote).toEqual({ address: null, port: 5004 });
  });

  it('writes IPv6 addresses in RFC 5952 form', () => {
    const [g] = gates("config gate\n\toption lan_address '2001:DB8:0000:0:0:0:0:10'\n\toption lan_port 1\n\toption remote_address '2001:db8:0:0:1::1'\n\toption rate_kbit 1\n");
    expect(g?.lan.address).toBe('2001:db8::10');
    // Two equal runs of zeros: the first is compressed (RFC 5952 section 4.2.3).
    expect(g?.remote.address).toBe('2001:db8::1:0:0:1');
  });

  it('leaves out disabled gates, which claim no id', () => {
    const r = read(RATES + gate("\toption enabled '0'\n", "config gate 'a'") + gate("\toption id 'a'\n"));
    expect(r.config.gates.map((g) => g.id)).toEqual(['a']);
    expect(r.warnings).toEqual([]);
  });

  it('skips a gate whose remote address is of the other family', () => {
    const r = read(RATES + gate("\toption remote_address '::ffff:198.51.100.7'\n"));
    expect(r.config.gates).toEqual([]);
    expect(r.warnings).toEqual(['section @gate[0]: remote_address is IPv6 but lan_address is IPv4; section skipped']);
  });

  it('skips the later of two gates with one id', () => {
    const r = read(RATES + gate('', "config gate 'a'") + gate("\toption id 'a'\n\toption dscp CS5\n"));
    expect(r.config.gates).toHaveLength(1);
    expect(r.config.gates[0]?.dscp).toBe(46);
    expect(r.warnings).toEqual([`section @gate[1]: gate id 'a' is already used by an earlier gate section; section skipped`]);
  });

  it('needs an id option when the section name cannot be one', () => {
    const r = read(RATES + gate('', "config gate '_x'") + gate("\toption id 'ok'\n", "config gate '_y'"));
    expect(r.config.gates.map((g) => g.id)).toEqual(['ok']);
    expect(r.warnings).toEqual([`section gate '_x': the section name is not a valid gate id, set option 'id'; section skipped`]);
  });

  it('refuses what no host holds and DSCPs a gate cannot give', () => {
    const r = read(RATES + gate("\toption dscp 'CS1'\n") + "config gate\n\toption lan_address '0.0.0.0'\n\toption lan_port 1\n\toption rate_kbit 1\n");
    expect(r.config.gates).toEqual([]);
    expect(r.warnings).toEqual([
      `section @gate[0]: option 'dscp' has invalid value "CS1": expected a DSCP: EF (46), AF41 (34), CS5 (40); section skipped`,
      `section @gate[1]: option 'lan_address' has invalid value "0.0.0.0": the unspecified address is not a host; section skipped`,
    ]);
  });
});

describe('parseAgentConfig on damaged files (seeded)', () => {
  it('returns a valid config or a coded error for 3,000 mutations of the shipped file', () => {
    const base = readFileSync(EXAMPLE, 'utf8');
    const pieces = ["'", '"', '\\', '#', '\n', ' ', '0', '9', '-', ':', 'x', 'option rate_kbit 5\n', 'config gate\n', 'list dscp EF\n'];
    const rand = prng(0xc0ffee);
    const codes = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      let text = base;
      for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) {
        const at = Math.floor(rand() * text.length);
        text = rand() < 0.4 ? text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 3)) : text.slice(0, at) + (pieces[Math.floor(rand() * pieces.length)] as string) + text.slice(at);
      }
      const r = parseAgentConfig(text);
      if (!r.ok) {
        codes.add(r.error.code);
        expect(['E_UCI_SYNTAX', 'E_CONFIG']).toContain(r.error.code);
        continue;
      }
      codes.add('ok');
      const { qos, gates: list } = r.value.config;
      expect(qos.uplinkKbit).toBeGreaterThanOrEqual(64);
      expect(qos.efBudgetPercent).toBeLessThanOrEqual(90);
      expect(new Set(list.map((g) => g.id)).size).toBe(list.length);
      for (const g of list) {
        expect(g.lan.port).toBeGreaterThanOrEqual(1);
        expect(g.lan.port).toBeLessThanOrEqual(65535);
        expect([46, 34, 40]).toContain(g.dscp);
        if (g.remote.address !== null) expect(g.remote.address.includes(':')).toBe(g.lan.address.includes(':'));
      }
    }
    expect([...codes].sort()).toEqual(['E_CONFIG', 'E_UCI_SYNTAX', 'ok']);
  });
});
