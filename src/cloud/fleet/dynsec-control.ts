/**
 * dynsec-control: commands to Mosquitto's dynamic-security plugin over MQTT (MQTT.js), as the
 * admin login given here. The plugin reads `{"commands":[…]}` on `$CONTROL/dynamic-security/v1`
 * and answers every command of one message, in order, in one `{"responses":[…]}` message on
 * `$CONTROL/dynamic-security/v1/response`, echoing each command's `correlationData`.
 *
 * Every send has a deadline and gets an answer: the plugin's answers (each may carry an `error`
 * text of the broker's), or a failure with a code:
 *   E_DYNSEC_UNREACHABLE  not connected and subscribed to the answers before the deadline
 *                         (broker down, admin login refused, TLS failure; the message says which)
 *   E_DYNSEC_TIMEOUT      sent, but no answer before the deadline (no plugin, or not this admin's)
 *   E_DYNSEC_BAD_ANSWER   an answer that does not fit the commands sent
 *   E_DYNSEC_CLOSED       the control was closed
 *
 * Commands go out at QoS 0 and only while connected: a command whose deadline passed is never
 * replayed later by a reconnect (MQTT.js resends QoS 1 messages in flight), so a late, stale
 * createClient cannot undo a newer deleteClient.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { coreError, fail, ok, type Result } from '../../core/result.ts';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

export interface DynsecCommand {
  readonly command: string;
  readonly [field: string]: unknown;
}

export interface DynsecAnswer {
  readonly command: string;
  /** The broker's error text ("Client not found", "Role already exists", …); absent on success. */
  readonly error?: string;
  readonly data?: unknown;
}

export interface DynsecControlOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string;
  /** The dynsec admin login (a client with the plugin's `admin` role, see deploy/mosquitto/callqos-dynsec.conf). */
  readonly username: string;
  readonly password: string;
  /** Deadline of one send, connecting included. Default 5000 ms. */
  readonly timeoutMs?: number;
  readonly clientId?: string;
  /** More MQTT.js options (TLS: ca, cert, key, servername …). */
  readonly mqtt?: IClientOptions;
}

export interface DynsecControl {
  /** Sends the commands in one message; the answers come back in the same order. */
  send(commands: readonly DynsecCommand[]): Promise<Result<DynsecAnswer[]>>;
  close(): Promise<void>;
}

interface Pending {
  readonly count: number;
  settle(result: Result<DynsecAnswer[]>): void;
}

const DEFAULT_TIMEOUT_MS = 5000;

export function openDynsecControl(options: DynsecControlOptions): DynsecControl {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A prefix of this control's own, so answers meant for another admin connection are never taken for ours.
  const prefix = randomBytes(6).toString('hex');
  let sequence = 0;
  let ready = false;
  let closed = false;
  let lastProblem = 'not connected yet';
  const pending = new Map<string, Pending>();
  const readyWaiters = new Set<() => void>();

  const client: MqttClient = mqtt.connect(options.url, {
    protocolVersion: 5,
    clientId: options.clientId ?? `callqos-dynsec-${prefix}`,
    clean: true,
    connectTimeout: Math.min(timeoutMs, 10_000),
    reconnectPeriod: 1000,
    queueQoSZero: false,
    resubscribe: false,
    ...options.mqtt,
    username: options.username,
    password: options.password,
  });

  client.on('connect', () => {
    client.subscribe(DYNSEC_RESPONSE_TOPIC, { qos: 0 }, (error, granted) => {
      const code = granted?.[0]?.qos;
      if (error || code === undefined || code >= 128) {
        lastProblem = `subscribing to ${DYNSEC_RESPONSE_TOPIC} refused${error ? `: ${error.message}` : ''} (is this login a dynsec admin?)`;
        return;
      }
      ready = true;
      for (const wake of readyWaiters) wake();
    });
  });
  client.on('close', () => {
    ready = false;
    if (lastProblem === 'not connected yet') lastProblem = 'connection closed';
  });
  client.on('error', (error) => {
    lastProblem = error.message;
  });
  client.on('message', (topic, payload) => {
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let responses: unknown;
    try {
      responses = (JSON.parse(payload.toString()) as { responses?: unknown }).responses;
    } catch {
      return;
    }
    if (!Array.isArray(responses) || responses.length === 0) return;
    const first = (responses[0] as { correlationData?: unknown }).correlationData;
    if (typeof first !== 'string') return;
    const batch = first.slice(0, first.lastIndexOf('.'));
    const waiting = pending.get(batch);
    if (waiting === undefined) return;
    const answers: DynsecAnswer[] = [];
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i] as Record<string, unknown>;
      if (typeof r !== 'object' || r === null || r.correlationData !== `${batch}.${i}` || typeof r.command !== 'string') {
        return waiting.settle(fail(coreError('E_DYNSEC_BAD_ANSWER', `answer ${i} does not match command ${i} of the request`)));
      }
      answers.push({
        command: r.command,
        ...(typeof r.error === 'string' ? { error: r.error } : {}),
        ...(r.data !== undefined ? { data: r.data } : {}),
      });
    }
    if (answers.length !== waiting.count) {
      return waiting.settle(fail(coreError('E_DYNSEC_BAD_ANSWER', `${answers.length} answers to ${waiting.count} commands`)));
    }
    waiting.settle(ok(answers));
  });

  function waitReady(deadline: number): Promise<boolean> {
    if (ready) return Promise.resolve(true);
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        readyWaiters.delete(wake);
        resolve(ready);
      };
      const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
      readyWaiters.add(wake);
    });
  }

  async function send(commands: readonly DynsecCommand[]): Promise<Result<DynsecAnswer[]>> {
    if (closed) return fail(coreError('E_DYNSEC_CLOSED', 'the dynsec control is closed'));
    if (commands.length === 0) return ok([]);
    const deadline = Date.now() + timeoutMs;
    const connected = await waitReady(deadline);
    if (closed) return fail(coreError('E_DYNSEC_CLOSED', 'the dynsec control is closed'));
    if (!connected) {
      return fail(coreError('E_DYNSEC_UNREACHABLE', `no dynsec admin connection to ${options.url} within ${timeoutMs} ms: ${lastProblem}`));
    }
    const batch = `${prefix}-${++sequence}`;
    const body = JSON.stringify({ commands: commands.map((c, i) => ({ ...c, correlationData: `${batch}.${i}` })) });
    return new Promise((resolve) => {
      const settle = (result: Result<DynsecAnswer[]>): void => {
        if (!pending.delete(batch)) return;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => settle(fail(coreError('E_DYNSEC_TIMEOUT',
        `no answer from the dynsec plugin at ${options.url} within ${timeoutMs} ms (${commands.map((c) => c.command).join(', ')})`))),
      Math.max(0, deadline - Date.now()));
      pending.set(batch, { count: commands.length, settle });
      client.publish(DYNSEC_TOPIC, body, { qos: 0 }, (error) => {
        if (error) settle(fail(coreError('E_DYNSEC_UNREACHABLE', `sending to ${options.url} failed: ${error.message}`)));
      });
    });
  }

  return {
    send,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const waiting of [...pending.values()]) waiting.settle(fail(coreError('E_DYNSEC_CLOSED', 'the dynsec control is closed')));
      for (const wake of [...readyWaiters]) wake();
      await client.endAsync(true);
    },
  };
}
