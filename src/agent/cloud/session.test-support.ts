/**
 * The agent's cloud session under test: a fake host with in-memory files, the daemon's gates as
 * a map, the link recording what the session sends, and the server's side played by `fromServer`.
 */
import type { FileHost } from '../../core/host/index.ts';
import { createLogger } from '../../core/log.ts';
import { decodeMessage, encodeMessage, makeMessage } from '../../core/protocol/envelope.ts';
import type { BodyOf, Message, MessageType } from '../../core/protocol/envelope.ts';
import type { Gate } from '../../core/protocol/messages/gates.ts';
import type { DataplaneGate } from '../../core/dataplane/model.ts';
import { fail, ok } from '../../core/result.ts';
import { FakeHost } from '../system/fake-host.test-support.ts';
import { CloudSession, toDataplaneGate, type CommandPort } from './session.ts';

export function memoryFiles(): FileHost {
  const files = new Map<string, string>();
  const missing = (path: string) => fail({ code: 'ENOENT', message: 'no file', path });
  return {
    readText: (path) => (files.has(path) ? ok(files.get(path)!) : missing(path)),
    readBytes: (path) => missing(path),
    writeAtomic: (path, text) => (files.set(path, text), ok(undefined)),
    append: (path, text) => (files.set(path, (files.get(path) ?? '') + text), ok(undefined)),
    list: () => ok([...files.keys()]),
    remove: (path) => (files.delete(path), ok(undefined)),
    exists: (path) => files.has(path),
    makeDir: () => ok(undefined),
    listenFifo: () => fail({ code: 'ENOTSUP', message: 'no FIFO', path: '' }),
  };
}

export function textOf(m: Message): string {
  const text = encodeMessage(m);
  if (!text.ok) throw new Error(text.error.message);
  return text.value;
}

export const gate = (id: string, port: number): Gate => ({
  id, direction: 'both', lan: { address: '192.168.1.20', port }, remote: { address: '198.18.20.20', port: port + 1 }, dscp: 46, rateKbps: 80, lifetimeS: 600, session: 'c1@x',
});

/** `refuse`: gate ids the daemon refuses, as a set (E_GATE_CONFLICT) or with the error to refuse each with. */
/** `commands`: the daemon's side of remote commands (absent: each is answered E_UNSUPPORTED). */
export function setup(refuse: Set<string> | Map<string, { code: string; message: string }> = new Set(), held: Gate[] = [], logs: string[] | null = null, commands: CommandPort | null = null) {
  const fake = new FakeHost();
  const host = { ...fake.host, files: memoryFiles() };
  const sent: Message[] = [];
  const statuses: string[] = [];
  const installed = new Map<string, { gate: DataplaneGate; ref?: string }>(held.map((g) => [g.id, { gate: toDataplaneGate(g), ref: g.session }]));
  const adds: string[] = [];
  let serverSeq = 0;
  const session = new CloudSession(
    host,
    createLogger((line) => logs?.push(line), logs ? 'debug' : 'error'),
    {
      deviceId: 'rtA',
      bootSession: 3,
      keepaliveS: 30,
      describe: () => ({
        agentVersion: '0.1.0',
        board: { model: 'm', name: 'n', release: 'r', target: 't' },
        capabilities: { queues: ['htb'], ipv6: true, maxGates: 64 },
        link: { upKbps: 1000, downKbps: 1000, efBudgetPercent: 30 },
      }),
      interfaces: () => ({ version: 1, interfaces: [] }),
    },
    {
      cloudGates: () => [...installed.values()],
      add: async (g, ref) => {
        adds.push(g.id);
        if (refuse.has(g.id)) return fail(refuse instanceof Map ? refuse.get(g.id)! : { code: 'E_GATE_CONFLICT', message: 'overlaps another gate' });
        installed.set(g.id, ref === undefined ? { gate: g } : { gate: g, ref });
        return ok({ replaced: false });
      },
      remove: async (id) => (installed.delete(id) ? ok({ usage: { up: { packets: 5, bytes: 500 }, down: { packets: 4, bytes: 400 } } }) : ok(null)),
    },
    {
      send: (text) => {
        const m = decodeMessage(text);
        if (!m.ok) throw new Error(`agent sent an invalid message: ${m.error.message}`);
        sent.push(m.value);
      },
      publishStatus: (text) => statuses.push(text),
      restart: () => {},
      healthy: () => {},
    },
    commands,
  );
  const fromServer = async <T extends MessageType>(type: T, body: BodyOf<T>, corr?: string, seq?: number): Promise<Message> => {
    serverSeq = seq ?? serverSeq + 1;
    const header = { id: `srv:9:${serverSeq}`, device: 'qos-server-1', session: 9, seq: serverSeq, ts: 1 };
    const m = makeMessage(type, corr ? { ...header, corr } : header, body);
    if (!m.ok) throw new Error(m.error.message);
    await session.receive('callqos/v1/dev/rtA/down', textOf(m.value));
    return m.value;
  };
  return { session, sent, statuses, installed, adds, fromServer, fake };
}

