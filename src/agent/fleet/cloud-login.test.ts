import { describe, expect, it } from 'vitest';
import { parseAgentConfig, type AgentConfig } from '../../core/config/index.ts';
import { ok, fail, type Result } from '../../core/result.ts';
import type { FileError, Host } from '../../core/host/index.ts';
import { chooseCloudLogin, withLogin } from './cloud-login.ts';
import { readSavedLogin, type SavedLogin } from './credentials.ts';

const KEY = 'grp1.0123456789abcdefXYZ_-';

function config(cloud: string): AgentConfig {
  const r = parseAgentConfig(`config qos 'qos'\n\toption uplink_kbit 20000\n\toption downlink_kbit 100000\nconfig cloud 'cloud'\n${cloud}`);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.config;
}

const saved: SavedLogin = { deviceId: 'dev-1', username: 'dev-1', hardwareId: 'mac-9c53220a0b0c', broker: 'mqtt.example.net', enrolledAtMs: 1, passwordFile: '/etc/callqos/enrolled-password' };
const on = '\toption enabled 1\n\toption broker mqtt.example.net\n';

describe('which login the cloud link uses', () => {
  it('a login configured by hand wins over the key and over a saved login', () => {
    expect(chooseCloudLogin(config(`${on}\toption username router-7\n\toption enrol_key '${KEY}'\n`), saved)).toEqual({ kind: 'as-configured' });
    expect(chooseCloudLogin(config(`${on}\toption password_file /etc/callqos/password\n\toption enrol_key '${KEY}'\n`), null)).toEqual({ kind: 'as-configured' });
  });

  it('a saved login is used with or without the key, which is then never used', () => {
    expect(chooseCloudLogin(config(`${on}\toption enrol_key '${KEY}'\n`), saved)).toEqual({ kind: 'saved', login: saved });
    expect(chooseCloudLogin(config(on), saved)).toEqual({ kind: 'saved', login: saved });
  });

  it('enrols only with a key, the cloud enabled and a broker', () => {
    expect(chooseCloudLogin(config(`${on}\toption enrol_key '${KEY}'\n`), null)).toEqual({ kind: 'enrol', key: KEY, broker: 'mqtt.example.net' });
    expect(chooseCloudLogin(config(`\toption enabled 0\n\toption broker b\n\toption enrol_key '${KEY}'\n`), null)).toEqual({ kind: 'as-configured' });
    expect(chooseCloudLogin(config(`\toption enabled 1\n\toption enrol_key '${KEY}'\n`), null)).toEqual({ kind: 'as-configured' });
    expect(chooseCloudLogin(config(on), null)).toEqual({ kind: 'as-configured' });
  });

  it('puts the enrolled username and password file into the cloud settings, nothing else changed', () => {
    const before = config(`${on}\toption enrol_key '${KEY}'\n`);
    const after = withLogin(before, saved);
    expect(after.cloud).toEqual({ ...before.cloud, username: 'dev-1', passwordFile: '/etc/callqos/enrolled-password' });
    expect(after.qos).toBe(before.qos);
  });
});

describe('reading the saved login', () => {
  function filesHost(files: Record<string, string>): Host {
    const missing = (path: string): Result<never, FileError> => fail({ code: 'ENOENT', message: 'no file', path });
    return { files: { exists: (p: string) => p in files, readText: (p: string) => (p in files ? ok(files[p]!) : missing(p)) } } as unknown as Host;
  }
  const json = JSON.stringify({ deviceId: 'dev-1', username: 'dev-1', hardwareId: 'mac-9c53220a0b0c', broker: 'mqtt.example.net', enrolledAtMs: 5 });

  it('none saved: null', () => {
    expect(readSavedLogin(filesHost({}), '/etc/callqos')).toEqual({ ok: true, value: null });
  });

  it('a whole saved login, with its password file', () => {
    const host = filesHost({ '/etc/callqos/enrolled.json': json, '/etc/callqos/enrolled-password': 'x\n' });
    expect(readSavedLogin(host, '/etc/callqos')).toEqual({ ok: true, value: { ...saved, enrolledAtMs: 5 } });
  });

  it('a bad field or a missing password file is E_CREDENTIALS naming what', () => {
    const bad = filesHost({ '/etc/callqos/enrolled.json': json.replace('"dev-1","username"', '"a/b","username"'), '/etc/callqos/enrolled-password': 'x' });
    expect(readSavedLogin(bad, '/etc/callqos')).toMatchObject({ ok: false, error: { code: 'E_CREDENTIALS', path: '/etc/callqos/enrolled.json:deviceId' } });
    const noPassword = filesHost({ '/etc/callqos/enrolled.json': json });
    expect(readSavedLogin(noPassword, '/etc/callqos')).toMatchObject({ ok: false, error: { code: 'E_CREDENTIALS', path: '/etc/callqos/enrolled-password' } });
    const notJson = filesHost({ '/etc/callqos/enrolled.json': '{', '/etc/callqos/enrolled-password': 'x' });
    expect(readSavedLogin(notJson, '/etc/callqos')).toMatchObject({ ok: false, error: { code: 'E_CREDENTIALS' } });
  });
});
