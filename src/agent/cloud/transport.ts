/**
 * The agent's MQTT connection, through the OpenWrt client tools (QuickJS has no sockets): a
 * long-running `mosquitto_sub -v` for the downlink and the retained desired state, which also
 * carries the will (the broker publishes the retained `offline` status when the agent dies), and
 * a long-running `mosquitto_pub -l` for the uplink, one message per line. Both run without
 * Nagle's algorithm. The clients reconnect by themselves when the broker goes away; the
 * subscriber's debug output (`-d`, on standard output beside the messages) tells each CONNACK,
 * so the session opens and resynchronises again after every reconnect. mosquitto_sub flushes its
 * output only after a message, so a CONNACK is seen with the next message: the server publishes
 * every router's retained desired state again whenever it reconnects, which provides one. A password goes into an options file (mode 0600 in the state directory,
 * found through XDG_CONFIG_HOME), never onto a command line that `ps` shows.
 *
 * When either client exits, both are restarted after a jittered, growing delay; messages sent
 * meanwhile wait in a bounded queue.
 */
import type { AgentConfig } from '../../core/config/index.ts';
import { detach } from '../../core/detach.ts';
import type { ChildProcess, Host, TimerHandle } from '../../core/host/index.ts';
import type { Logger } from '../../core/log.ts';
import { deviceTopic, treeRoot } from '../../core/protocol/topics.ts';
import { execute } from '../exec.ts';

/** The `config cloud` section, with a broker (the link starts only with one). */
export type CloudSettings = AgentConfig['cloud'] & { readonly broker: string };

export interface TransportOptions extends CloudSettings {
  readonly deviceId: string;
  /** Where the options file goes. */
  readonly stateDir: string;
  /**
   * Part of the MQTT client ids that changes with every agent start: the clients of a killed
   * agent live on until they notice (the publisher at end of input, the subscriber at its next
   * message), and with the same id the old and new ones would take the connection from each other.
   */
  readonly instance: string;
  /** Retained payload the broker publishes on the status topic when the connection dies; built at each connect. */
  readonly willPayload: () => string;
  /** Which password file each connect uses, told whether the broker took it (a password being rotated). */
  readonly passwordChoice?: PasswordChoice;
}

/** Chooses the password file before each connect and hears whether the broker accepted it. */
export interface PasswordChoice {
  passwordFile(): string;
  /** `file`: the password file the connecting client was started with (a client reconnects with its own). */
  connected(accepted: boolean, file: string): void;
}

export const QUEUE_LIMIT = 1000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Values that end up in argv or in the options file: no control characters, no spaces where one word is wanted. */
const SAFE_WORD = /^[\x21-\x7e]{1,256}$/;

export class Transport {
  private sub: ChildProcess | null = null;
  private pub: ChildProcess | null = null;
  private readonly queue: string[] = [];
  private backoffMs = BACKOFF_MIN_MS;
  private restartTimer: TimerHandle | null = null;
  private stopped = false;
  private generation = 0;
  dropped = 0;
  /** The topic tree: this router's domain's, on a broker several domains share. */
  private readonly root: string;

  constructor(
    private readonly host: Host,
    private readonly log: Logger,
    private readonly options: TransportOptions,
    /** A message from the downlink or desired topic: the topic and the payload text. */
    private readonly onMessage: (topic: string, text: string) => void,
    /** The clients (re)started or the subscriber reconnected: the session layer opens again. */
    private readonly onStart: () => void,
  ) {
    this.root = treeRoot(options.domain);
  }

  /** Common arguments: broker, TLS, user, keep-alive, no Nagle. The password is in the options file. */
  private common(role: 'sub' | 'pub' | 'status'): string[] | null {
    const o = this.options;
    const words = [o.broker, o.username, o.caFile, o.certFile, o.keyFile].filter((w): w is string => w !== undefined);
    if (!words.every((w) => SAFE_WORD.test(w))) {
      this.log.error('cloud options contain characters a client argument may not have; not connecting');
      return null;
    }
    const argv = ['-h', o.broker, '-p', String(o.port), '-i', `${o.deviceId}-${role}-${o.instance}`, '-k', String(o.keepaliveS), '-q', '1', '--nodelay'];
    if (o.username !== undefined) argv.push('-u', o.username);
    if (o.tls) {
      if (o.caFile !== undefined) argv.push('--cafile', o.caFile);
      else argv.push('--capath', '/etc/ssl/certs');
      if (o.certFile !== undefined && o.keyFile !== undefined) argv.push('--cert', o.certFile, '--key', o.keyFile);
    }
    return argv;
  }

  /** Writes the options files holding the password; returns the environment that points the clients at them. */
  private passwordEnv(file = this.passwordFile()): Record<string, string> | null | undefined {
    if (file === undefined) return undefined;
    const read = this.host.files.readText(file);
    if (!read.ok) {
      this.log.error('cannot read the MQTT password file', { path: file, code: read.error.code });
      return null;
    }
    const password = read.value.trim();
    if (!SAFE_WORD.test(password)) {
      this.log.error('the MQTT password must be printable without spaces', { path: file });
      return null;
    }
    const dir = `${this.options.stateDir}/mqtt`;
    const made = this.host.files.makeDir(dir);
    if (!made.ok) {
      this.log.error('cannot create the MQTT client config directory', { path: dir, code: made.error.code });
      return null;
    }
    for (const tool of ['mosquitto_sub', 'mosquitto_pub']) {
      const written = this.host.files.writeAtomic(`${dir}/${tool}`, `-P ${password}\n`);
      if (!written.ok) {
        this.log.error('cannot write the MQTT client config', { path: `${dir}/${tool}`, code: written.error.code });
        return null;
      }
    }
    const restricted = execute(this.host, ['chmod', '0600', `${dir}/mosquitto_sub`, `${dir}/mosquitto_pub`]).then((done) => {
      if (done.status.code !== 0) this.log.error('cannot restrict the MQTT client config to the agent', { path: dir });
    });
    detach(restricted, (error) => this.log.error('internal error', { error: String(error) }));
    return { XDG_CONFIG_HOME: dir };
  }

  private passwordFile(): string | undefined {
    return this.options.passwordChoice?.passwordFile() ?? this.options.passwordFile;
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  private launch(): void {
    const generation = ++this.generation;
    const sub = this.common('sub');
    const pub = this.common('pub');
    const passwordFile = this.passwordFile();
    const env = this.passwordEnv(passwordFile);
    if (sub === null || pub === null || env === null) return;
    const id = this.options.deviceId;
    const childEnv = env === undefined ? undefined : { ...this.environment(), ...env };
    // The first CONNACK of this subscriber; later ones are reconnects.
    let connected = false;
    const exited = (which: string) => () => {
      if (generation !== this.generation || this.stopped) return;
      this.log.warn('MQTT client exited; restarting both', { client: which, in_ms: this.backoffMs });
      this.scheduleRestart();
    };
    this.sub = this.host.processes.spawn(
      [
        'mosquitto_sub', ...sub, '-v', '-d',
        '-t', deviceTopic(id, 'down', this.root), '-t', deviceTopic(id, 'desired', this.root),
        '--will-topic', deviceTopic(id, 'status', this.root), '--will-payload', this.options.willPayload(), '--will-retain', '--will-qos', '1',
      ],
      {
        onStdoutLine: (line) => {
          // `-v` prints a message as its topic, a space, then the payload (one line of JSON);
          // everything else is `-d` debug output, of which only the CONNACK matters.
          if (line.startsWith(`${this.root}/`)) {
            const space = line.indexOf(' ');
            if (space > 0) this.onMessage(line.slice(0, space), line.slice(space + 1));
            return;
          }
          const connack = /^Client \S+ received CONNACK \((\d+)\)/.exec(line);
          if (connack === null) return;
          if (passwordFile !== undefined) this.options.passwordChoice?.connected(connack[1] === '0', passwordFile);
          if (connack[1] !== '0') this.log.error('the broker refused the connection', { connack: connack[1] });
          else if (connected) this.onStart();
          connected = true;
        },
        onStderrLine: (line) => this.log.warn('mosquitto_sub', { said: line.slice(0, 200) }),
        ...(childEnv ? { env: childEnv } : {}),
      },
    );
    this.pub = this.host.processes.spawn(['mosquitto_pub', ...pub, '-l', '-t', deviceTopic(id, 'up', this.root)], {
      onStderrLine: (line) => this.log.warn('mosquitto_pub', { said: line.slice(0, 200) }),
      ...(childEnv ? { env: childEnv } : {}),
    });
    const internalError = (error: unknown) => this.log.error('internal error', { error: String(error) });
    detach(this.sub.exited.then(exited('mosquitto_sub')), internalError);
    detach(this.pub.exited.then(exited('mosquitto_pub')), internalError);
    this.flush();
    this.onStart();
  }

  private environment(): Record<string, string> {
    const keep: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'LANG']) {
      const value = this.host.getEnv(name);
      if (value !== undefined) keep[name] = value;
    }
    return keep;
  }

  private scheduleRestart(): void {
    this.kill();
    if (this.restartTimer !== null) return;
    const delay = this.backoffMs * (0.5 + Math.random() / 2);
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.restartTimer = this.host.timers.setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopped) this.launch();
    }, delay);
  }

  /** The link works (a message came back): the next failure starts over with a short delay. */
  healthy(): void {
    this.backoffMs = BACKOFF_MIN_MS;
  }

  /** Kills both clients and starts again: for a link that looks dead though the processes run. */
  restart(reason: string): void {
    if (this.stopped) return;
    this.log.warn('restarting the MQTT link', { reason });
    this.generation += 1;
    this.scheduleRestart();
  }

  send(text: string): void {
    if (this.queue.length >= QUEUE_LIMIT) {
      this.queue.shift();
      this.dropped += 1;
    }
    this.queue.push(text);
    this.flush();
  }

  private flush(): void {
    while (this.pub !== null && this.queue.length > 0) {
      if (!this.pub.write(this.queue[0] + '\n')) return;
      this.queue.shift();
    }
  }

  /** One retained message on the status topic, through a short-lived client. */
  publishRetained(topicChannel: 'status', payload: string): void {
    const argv = this.common('status');
    const env = this.passwordEnv();
    if (argv === null || env === null) return;
    const childEnv = env === undefined ? undefined : { ...this.environment(), ...env };
    this.host.processes.spawn(['mosquitto_pub', ...argv, '-r', '-t', deviceTopic(this.options.deviceId, topicChannel, this.root), '-m', payload], childEnv ? { env: childEnv } : {});
  }

  private kill(): void {
    this.sub?.kill('SIGTERM');
    this.pub?.kill('SIGTERM');
    this.sub = null;
    this.pub = null;
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    if (this.restartTimer !== null) this.host.timers.clearTimeout(this.restartTimer);
    this.restartTimer = null;
    this.kill();
  }
}
