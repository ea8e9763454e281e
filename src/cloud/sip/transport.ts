/**
 * SIP over UDP and TCP on one address (RFC 3261 section 18). Messages travel as byte strings
 * (latin1: one character per byte), so that what is forwarded is what arrived. A TCP connection a
 * client opened is kept and used for what goes back to that client (its registration's flow, the
 * responses to its requests); a connection to a peer we reach first is opened on demand and reused.
 * A malformed datagram or a broken stream is dropped with a rate-limited log line.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../core/log.ts';
import { Rejections } from '../../core/rejections.ts';
import { parseSipMessage, serializeSipMessage, type SipMessage } from '../../core/sip/message.ts';
import { SipStreamFramer } from '../../core/sip/stream.ts';

export type SipTransportName = 'UDP' | 'TCP';

/** Where a message came from or goes to. */
export interface Peer {
  readonly transport: SipTransportName;
  readonly host: string;
  readonly port: number;
}

export const peerKey = (p: Peer): string => `${p.transport} ${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`;

export type SipHandler = (msg: SipMessage, source: Peer) => void;

/** TCP connections nothing has used for this long are closed. */
const IDLE_TCP_MS = 5 * 60_000;

export class SipTransport {
  private handler: SipHandler = () => {};
  private readonly connections = new Map<string, Socket>();
  private closed = false;
  private readonly rejections: Rejections;

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly host: string,
    readonly port: number,
    private readonly log: Logger,
  ) {
    this.rejections = new Rejections(log, 'SIP message dropped', Date.now);
    udp.on('message', (data, rinfo) => this.receive(data.toString('latin1'), { transport: 'UDP', host: rinfo.address, port: rinfo.port }));
    tcp.on('connection', (socket) => this.adopt(socket));
  }

  /** Binds UDP and TCP on `host:port` (port 0: a free port, the same for both). */
  static async listen(host: string, port: number, log: Logger): Promise<SipTransport> {
    const family = host.includes(':') ? 'udp6' : 'udp4';
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket({ type: family, reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(port, host, () => resolve());
      });
      const bound = udp.address().port;
      const tcp = createServer({ noDelay: true });
      const listening = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(bound, host, () => resolve(true));
      });
      if (listening) return new SipTransport(udp, tcp, host, bound, log);
      udp.close();
      // With port 0 the TCP side of the UDP port chosen may be taken: try another.
      if (port !== 0 || attempt > 20) throw new Error(`cannot listen for SIP on TCP ${host}:${bound}`);
    }
  }

  onMessage(handler: SipHandler): void {
    this.handler = handler;
  }

  private receive(bytes: string, source: Peer): void {
    const parsed = parseSipMessage(bytes);
    if (!parsed.ok) {
      this.rejections.note(parsed.error.code, { from: peerKey(source), reason: parsed.error.message.slice(0, 200) });
      return;
    }
    try {
      this.handler(parsed.value, source);
    } catch (err) {
      this.log.error('SIP handler failed', { from: peerKey(source), error: String(err) });
    }
  }

  private adopt(socket: Socket, knownAs?: Peer): void {
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TCP_MS, () => socket.destroy());
    const peer: Peer = knownAs ?? { transport: 'TCP', host: (socket.remoteAddress ?? '').replace(/^::ffff:/, ''), port: socket.remotePort ?? 0 };
    const key = peerKey(peer);
    this.connections.set(key, socket);
    const framer = new SipStreamFramer();
    socket.on('data', (data) => {
      const framed = framer.push(data.toString('latin1'));
      if (!framed.ok) {
        this.rejections.note(framed.error.code, { from: key, reason: framed.error.message.slice(0, 200) });
        socket.destroy();
        return;
      }
      // RFC 5626 section 4.4.1: a double-CRLF ping gets a CRLF pong.
      if (framed.value.pings > 0) socket.write('\r\n'.repeat(framed.value.pings));
      for (const message of framed.value.messages) this.receive(message, peer);
    });
    const forget = () => {
      if (this.connections.get(key) === socket) this.connections.delete(key);
    };
    socket.on('close', forget);
    socket.on('error', (err) => this.log.debug('SIP TCP connection error', { peer: key, error: err.message }));
  }

  /** Sends a message; over TCP on the connection to that peer, opened if there is none. */
  send(to: Peer, msg: SipMessage): void {
    // Work that began before close() (an answer from the session API, a retransmission) may end
    // after it: nothing goes out then, and nothing throws into a timer or a promise.
    if (this.closed) {
      this.log.debug('SIP message not sent: the transport is closed', { to: peerKey(to) });
      return;
    }
    const bytes = Buffer.from(serializeSipMessage(msg), 'latin1');
    if (to.transport === 'UDP') {
      const notSent = (err: Error | null) => {
        if (err) this.log.warn('SIP datagram not sent', { to: peerKey(to), error: err.message });
      };
      try {
        this.udp.send(bytes, to.port, to.host, notSent);
      } catch (err) {
        notSent(err instanceof Error ? err : new Error(String(err)));
      }
      return;
    }
    let socket = this.connections.get(peerKey(to));
    if (!socket || socket.destroyed) {
      socket = createConnection({ host: to.host, port: to.port, noDelay: true });
      this.adopt(socket, to);
    }
    socket.write(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.connections.values()) socket.destroy();
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
  }
}
