/**
 * client: the QoS control server's connection to the broker (MQTT.js 5).
 *
 * - TCP_NODELAY on every socket it opens, reconnects included: the socket is built here (MQTT.js
 *   takes a stream builder), because MQTT.js leaves Nagle's algorithm on, and a request/answer
 *   exchange then waits for delayed ACKs (88 ms instead of 0.3 ms, /work/shared/MEASURED.md).
 * - MQTT 5 first (shared subscriptions); a broker that refuses it (aedes 1.x speaks 3.1.1 only)
 *   gets 3.1.1 on a second try.
 * - Shared subscriptions: with a `shareGroup`, plain filters become `$share/<group>/<filter>` where
 *   the broker has them; without them (aedes) a `$share/...` filter is subscribed plainly, so
 *   this instance is the single consumer.
 * - Reconnects by itself after the first connection succeeded, and subscribes again.
 * - Writes are coalesced per turn of the event loop: the publishes and acknowledgements one burst
 *   of work produces leave in one write. A system call is the dearest part of a small publish, and
 *   handling one report can publish several messages across awaits (MQTT.js flushes each alone).
 * Payloads are text; publishMessage validates and encodes a protocol message first.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { MqttClient, type IClientOptions, type IClientSubscribeOptions, type ISubscriptionGrant } from 'mqtt';
import { encodeMessage, type Message } from '../../core/protocol/envelope.ts';
import { isValidTopicName, parseSubscription, topicMatches } from '../../core/protocol/acl.ts';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { fail, ok, type Result } from '../../core/result.ts';
import { createLogger } from '../../core/log.ts';
import { libraryLog } from '../cli/logging.ts';

export interface MqttLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface ServerMqttOptions {
  /** `mqtt://host:port` or `mqtts://host:port`. */
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  /** 'auto' (default): MQTT 5, and 3.1.1 if the broker refuses 5. */
  readonly protocolVersion?: 4 | 5 | 'auto';
  /** Share group for several server instances on one broker; ignored where the broker lacks them. */
  readonly shareGroup?: string;
  readonly keepaliveS?: number;
  /** Pause between reconnect attempts; default 1000 ms. */
  readonly reconnectPeriodMs?: number;
  /** How long the first connection may take; default 10 s. */
  readonly connectTimeoutMs?: number;
  /** For mqtts: certificate authority, client certificate, server name and so on. */
  readonly tls?: ConnectionOptions;
  readonly log?: MqttLog;
}

export interface PublishOptions {
  readonly retain?: boolean;
  /** Default 1. */
  readonly qos?: 0 | 1;
}

export type MessageHandler = (topic: string, text: string) => void;

export interface ServerMqttClient {
  readonly protocolVersion: 4 | 5;
  /** Whether `$share/...` subscriptions are in use (MQTT 5 and the broker offers them). */
  readonly sharedSubscriptions: boolean;
  /** Publishes text, QoS 1 unless told; failures are logged (fits the server's `Publisher`). */
  publish(topic: string, text: string, options?: PublishOptions): void;
  /** Publishes text and resolves when the broker acknowledged it (QoS 1) or it was written (QoS 0). */
  publishAsync(topic: string, text: string, options?: PublishOptions): Promise<void>;
  /** Validates and encodes a protocol message, then publishes it; resolves to a Result, never throws for bad messages. */
  publishMessage(topic: string, message: Message, options?: PublishOptions): Promise<Result<void>>;
  /** Subscribes (QoS 1) and calls `handler` for every message whose topic the filter matches. */
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  /** Called after every reconnect (not the first connect), once the subscriptions are restored. */
  onReconnect(listener: () => void): void;
  close(): Promise<void>;
}

/** Without a log of the caller's: text lines on standard error, in the cloud program's one format. */
const defaultLog: MqttLog = libraryLog(createLogger((line) => process.stderr.write(`${line}\n`)), 'mqtt');

interface Endpoint {
  secure: boolean;
  host: string;
  port: number;
}

function parseBrokerUrl(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`url: not a URL: ${JSON.stringify(url)}`);
  }
  const secure = parsed.protocol === 'mqtts:';
  if (!secure && parsed.protocol !== 'mqtt:') throw new Error(`url: expected mqtt:// or mqtts://, got ${parsed.protocol}`);
  const port = parsed.port === '' ? (secure ? 8883 : 1883) : Number(parsed.port);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new Error(`url: no host in ${JSON.stringify(url)}`);
  return { secure, host, port };
}

/** Connection refusals that mean "speak an older protocol": 3.1.1 code 1, MQTT 5 reason 0x84. */
function isProtocolRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === 1 || code === 0x84;
}

export async function connectServerMqtt(options: ServerMqttOptions): Promise<ServerMqttClient> {
  const log = options.log ?? defaultLog;
  const endpoint = parseBrokerUrl(options.url);
  if (!DEVICE_ID.test(options.clientId)) throw new Error(`clientId: not a valid id: ${JSON.stringify(options.clientId)}`);
  if (options.shareGroup !== undefined && !DEVICE_ID.test(options.shareGroup)) {
    throw new Error(`shareGroup: not a valid group name: ${JSON.stringify(options.shareGroup)}`);
  }
  const wanted = options.protocolVersion ?? 'auto';

  let socket: Socket | null = null;
  let corked = false;
  /** Holds this turn's writes back until the event loop's check phase, then sends them in one write. */
  const coalesceWrites = (): void => {
    if (corked || socket === null) return;
    const held = socket;
    corked = true;
    held.cork();
    setImmediate(() => {
      corked = false;
      held.uncork();
    });
  };

  const openSocket = (): Socket => {
    const opened = endpoint.secure
      ? tlsConnect({ ...options.tls, host: endpoint.host, port: endpoint.port, servername: options.tls?.servername ?? endpoint.host })
      : netConnect({ host: endpoint.host, port: endpoint.port });
    // Nagle off before the first byte, on every (re)connect.
    opened.setNoDelay(true);
    socket = opened;
    return opened;
  };

  const attempt = (version: 4 | 5): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const clientOptions: IClientOptions = {
        clientId: options.clientId,
        protocolVersion: version,
        clean: true,
        keepalive: options.keepaliveS ?? 30,
        reconnectPeriod: 0, // off until the first connection succeeded
        connectTimeout: options.connectTimeoutMs ?? 10_000,
        resubscribe: true,
      };
      if (options.username !== undefined) clientOptions.username = options.username;
      if (options.password !== undefined) clientOptions.password = options.password;
      const client = new MqttClient(openSocket, clientOptions);
      const onError = (error: Error): void => {
        cleanup();
        client.end(true);
        reject(error);
      };
      const onClose = (): void => {
        cleanup();
        client.end(true);
        reject(new Error(`connection to ${options.url} closed before it was accepted`));
      };
      const onConnect = (): void => {
        cleanup();
        resolve(client);
      };
      const cleanup = (): void => {
        client.off('error', onError);
        client.off('close', onClose);
        client.off('connect', onConnect);
      };
      client.on('error', onError);
      client.on('close', onClose);
      client.on('connect', onConnect);
    });

  let client: MqttClient;
  let version: 4 | 5;
  if (wanted === 'auto') {
    try {
      client = await attempt(5);
      version = 5;
    } catch (error) {
      if (!isProtocolRefusal(error)) throw error;
      // Worth a line only when shared subscriptions were wanted: otherwise 3.1.1 serves as well.
      if (options.shareGroup !== undefined) log.info('broker refused MQTT 5; using 3.1.1 (no shared subscriptions)', { url: options.url });
      client = await attempt(4);
      version = 4;
    }
  } else {
    client = await attempt(wanted);
    version = wanted;
  }

  // MQTT 5 CONNACK says whether shared subscriptions exist; absent means yes (MQTT 5, 3.2.2.3.15).
  const connackShared = (): boolean =>
    version === 5 && (client as unknown as { _serverProperties?: { sharedSubscriptionAvailable?: boolean } })._serverProperties
      ?.sharedSubscriptionAvailable !== false;
  const sharedSubscriptions = connackShared();

  client.options.reconnectPeriod = options.reconnectPeriodMs ?? 1000;
  client.on('error', (error) => log.warn('connection error', { url: options.url, error: error.message }));
  client.on('reconnect', () => log.info('reconnecting', { url: options.url }));
  const reconnectListeners: (() => void)[] = [];
  client.on('connect', () => {
    log.info('connected again', { url: options.url });
    for (const listener of reconnectListeners) listener();
  });
  client.on('offline', () => log.warn('offline', { url: options.url }));

  // With MQTT 5 every subscription carries an identifier and each delivery names the ones it
  // matched: Mosquitto delivers a copy per matching subscription, so routing by topic alone would
  // hand one message to a handler twice when filters overlap. MQTT 3.1.1 has no identifiers;
  // there the topic decides (aedes delivers one copy per client).
  const serverProperties = (client as unknown as { _serverProperties?: { subscriptionIdentifiersAvailable?: boolean } })._serverProperties;
  const useIdentifiers = version === 5 && serverProperties?.subscriptionIdentifiersAvailable !== false;
  let nextIdentifier = 1;
  const routes: { id: number; filter: string; handler: MessageHandler }[] = [];
  client.on('message', (topic, payload, packet) => {
    // The acknowledgement and whatever the handler publishes go out together.
    coalesceWrites();
    const text = payload.toString('utf8');
    const ids = packet.properties?.subscriptionIdentifier;
    const matched = ids === undefined ? undefined : Array.isArray(ids) ? ids : [ids];
    for (const route of routes) {
      if (useIdentifiers && matched !== undefined ? !matched.includes(route.id) : !topicMatches(route.filter, topic)) continue;
      try {
        route.handler(topic, text);
      } catch (error) {
        log.warn('message handler failed', { topic, error: String(error) });
      }
    }
  });

  const publishAsync = (topic: string, text: string, publishOptions: PublishOptions = {}): Promise<void> => {
    if (!isValidTopicName(topic)) return Promise.reject(new Error(`topic: not a valid topic name: ${JSON.stringify(topic)}`));
    coalesceWrites();
    return new Promise((resolve, reject) => {
      client.publish(topic, text, { qos: publishOptions.qos ?? 1, retain: publishOptions.retain ?? false }, (error) =>
        error ? reject(error) : resolve());
    });
  };

  return {
    protocolVersion: version,
    sharedSubscriptions,
    publish(topic, text, publishOptions) {
      publishAsync(topic, text, publishOptions).catch((error: Error) => log.warn('publish failed', { topic, error: error.message }));
    },
    publishAsync,
    async publishMessage(topic, message, publishOptions) {
      const encoded = encodeMessage(message);
      if (!encoded.ok) return encoded;
      try {
        await publishAsync(topic, encoded.value, publishOptions);
        return ok(undefined);
      } catch (error) {
        return fail({ code: 'E_PUBLISH', message: `publish to ${topic} failed: ${(error as Error).message}` });
      }
    },
    async subscribe(filter, handler) {
      const parsed = parseSubscription(filter);
      if (parsed === undefined) throw new Error(`filter: not a valid subscription: ${JSON.stringify(filter)}`);
      const group = parsed.shareGroup ?? options.shareGroup;
      const wire = sharedSubscriptions && group !== undefined ? `$share/${group}/${parsed.filter}` : parsed.filter;
      if (group !== undefined && !sharedSubscriptions) {
        log.info('broker has no shared subscriptions: subscribing plainly, this instance is the only consumer', { filter: parsed.filter });
      }
      // Routed before the SUBACK, so a retained message that follows it is not missed.
      const route = { id: nextIdentifier++, filter: parsed.filter, handler };
      routes.push(route);
      try {
        const subscribeOptions: IClientSubscribeOptions = useIdentifiers ? { qos: 1, properties: { subscriptionIdentifier: route.id } } : { qos: 1 };
        const granted = await new Promise<ISubscriptionGrant[]>((resolve, reject) => {
          client.subscribe(wire, subscribeOptions, (error, grants) => (error ? reject(error) : resolve(grants ?? [])));
        });
        if (granted.length === 0 || granted.some((g) => g.qos === 128 || g.qos > 2)) {
          throw new Error(`subscription to ${wire} refused by the broker`);
        }
      } catch (error) {
        routes.splice(routes.indexOf(route), 1);
        throw error;
      }
    },
    onReconnect: (listener) => void reconnectListeners.push(listener),
    close: () => new Promise<void>((resolve) => client.end(false, {}, () => resolve())),
  };
}
