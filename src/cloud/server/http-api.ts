/**
 * The session API over HTTP, for Kamailio's http_client, a PBX or an operator's script: JSON in,
 * JSON out, the same bodies and semantics as over MQTT (src/core/protocol/messages/cc.ts).
 *
 *   POST   /v1/sessions              session.add body      -> 200 session.state body
 *   PUT    /v1/sessions/<callId>     session.modify body   -> 200 session.state body
 *   DELETE /v1/sessions/<callId>     optional {reason}     -> 200 session.state body
 *   GET    /v1/sessions/<callId>                           -> 200 session.state body, or 404
 *   GET    /v1/health                                      -> 200 {ok, ...} from the service
 *   GET    /v1/scopes                                      -> 200 {scopes: [...]}: routed scopes, their networks and conflicts (scopes-view.ts)
 *   POST   /v1/sip/answered          offer and answer SDP  -> 200 session.state body (see src/cloud/sip/answered.ts);
 *                                    with ?format=token the body is the call's token alone, text/plain
 *   POST   /v1/sip/ended             session.delete body   -> 200 session.state body
 *
 * A body that does not validate gets 400 with `{error: {code, message, path}}` naming the field;
 * nothing of it reaches the service. A session the server refuses is not an HTTP error: it is
 * 200 with `"state": "rejected"` and the reason, the same body the MQTT front answers with
 * (session-answer.ts). The caller is identified by the `X-Callqos-Client` header
 * (a call-control id), checked against the configured API keys when there are any.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { DEVICE_ID } from '../../core/protocol/fields.ts';
import { sessionAddBody, sessionDeleteBody, sessionModifyBody } from '../../core/protocol/messages/cc.ts';
import type { SessionAddBody, SessionDeleteBody, SessionStateBody } from '../../core/protocol/messages/cc.ts';
import { validate } from '../../core/protocol/schema.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';
import type { CoreError, Result } from '../../core/result.ts';
import type { Logger } from '../../core/log.ts';
import { sessionFromAnswered } from '../sip/answered.ts';
import { checkedState } from './session-answer.ts';

/** The client id of requests without X-Callqos-Client; it gets no notices over MQTT, having nobody to read them. */
export const ANONYMOUS_HTTP_CLIENT = 'http';

/** What the HTTP and MQTT fronts call; the server's session manager implements it. */
export interface SessionApi {
  add(client: string, body: SessionAddBody): Promise<Result<SessionStateBody>>;
  modify(client: string, body: SessionAddBody): Promise<Result<SessionStateBody>>;
  remove(client: string, body: SessionDeleteBody): Promise<Result<SessionStateBody>>;
  get(callId: string): Promise<SessionStateBody | null>;
  health(): Promise<Record<string, unknown>>;
}

export interface HttpApiOptions {
  readonly host: string;
  readonly port: number;
  /** client id -> API key; when empty, any client id is taken at its word (development). */
  readonly apiKeys?: ReadonlyMap<string, string>;
  readonly maxBodyBytes?: number;
  /** The routed scopes with their networks and conflicts (`GET /v1/scopes`); absent: 404. */
  readonly routedScopes?: () => Promise<unknown>;
  readonly onError?: (message: string, fields: Record<string, unknown>) => void;
  /** Where an answer that cannot be built is reported (with the field's path); it is answered rejected. */
  readonly log?: Pick<Logger, 'error'>;
}

const DEFAULT_MAX_BODY = 64 * 1024;

/** Error codes that are the caller's fault map to 4xx; the rest to 503 (try again). */
function statusOf(error: CoreError): number {
  if (error.code === 'E_NOT_FOUND') return 404;
  if (error.code === 'E_CONFLICT') return 409;
  if (error.code === 'E_UNAVAILABLE' || error.code === 'E_STORE' || error.code === 'E_INTERNAL') return 503;
  return 400;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

const sendError = (res: ServerResponse, status: number, code: string, message: string, path = ''): void =>
  send(res, status, { error: { code, message, path } });

function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Past the limit the rest is read and dropped, so the client still gets its 413; far past
    // it the connection is cut.
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else if (size > 16 * limit) req.destroy();
    });
    req.on('close', () => resolve(null));
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class HttpApi {
  private server: Server | null = null;

  constructor(
    private readonly api: SessionApi,
    private readonly options: HttpApiOptions,
  ) {}

  /** The request handler alone, for a server that also serves other paths (the fleet API mounts /v1/ on its port). */
  listener(): RequestListener {
    return (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.onError?.('http request failed', { error: String(err) });
        if (!res.headersSent) sendError(res, 500, 'E_INTERNAL', 'internal error');
      });
    };
  }

  async start(): Promise<{ host: string; port: number }> {
    const server = createServer(this.listener());
    // Answers go out at once: a session API call is a few hundred bytes, Nagle would hold it.
    server.on('connection', (socket) => socket.setNoDelay(true));
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private client(req: IncomingMessage): string | CoreError {
    const header = req.headers['x-callqos-client'];
    const client = typeof header === 'string' ? header : ANONYMOUS_HTTP_CLIENT;
    if (!DEVICE_ID.test(client)) return { code: 'E_CLIENT', message: 'X-Callqos-Client is not a valid client id', path: 'X-Callqos-Client' };
    const keys = this.options.apiKeys;
    if (keys && keys.size > 0) {
      const want = keys.get(client);
      const auth = req.headers.authorization ?? '';
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (want === undefined || !sameSecret(given, want)) return { code: 'E_AUTH', message: 'unknown client or wrong API key', path: 'authorization' };
    }
    return client;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter((p) => p !== '');
    if (parts[0] !== 'v1') return sendError(res, 404, 'E_NOT_FOUND', `no such resource: ${url.pathname}`);
    if (parts.length === 2 && parts[1] === 'health' && req.method === 'GET') return send(res, 200, await this.api.health());
    const scopes = this.options.routedScopes;
    if (parts.length === 2 && parts[1] === 'scopes' && req.method === 'GET' && scopes) return send(res, 200, await scopes());
    const sip = parts[1] === 'sip' && parts.length === 3 && (parts[2] === 'answered' || parts[2] === 'ended');
    if (!sip && (parts[1] !== 'sessions' || parts.length > 3)) return sendError(res, 404, 'E_NOT_FOUND', `no such resource: ${url.pathname}`);

    const client = this.client(req);
    if (typeof client !== 'string') return sendError(res, client.code === 'E_AUTH' ? 401 : 400, client.code, client.message, client.path);
    if (sip) return this.handleSip(req, res, client, parts[2] as 'answered' | 'ended', url.searchParams.get('format') === 'token');

    let callId: string | undefined;
    try {
      callId = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);
    } catch {
      return sendError(res, 400, 'E_FORMAT', 'call id in the path is not valid percent-encoding', 'callId');
    }

    if (req.method === 'GET' && callId !== undefined) {
      const state = await this.api.get(callId);
      return state ? send(res, 200, state) : sendError(res, 404, 'E_NOT_FOUND', 'no such session', 'callId');
    }
    const method = req.method ?? '';
    const expectsCallId = method === 'PUT' || method === 'DELETE';
    if (!(method === 'POST' && callId === undefined) && !(expectsCallId && callId !== undefined)) {
      return sendError(res, 405, 'E_METHOD', `${method} is not allowed on ${url.pathname}`);
    }

    const text = await readBody(req, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY);
    if (text === null) return sendError(res, 413, 'E_TOO_LARGE', 'request body too large');
    const parsed = text.trim() === '' && method === 'DELETE' ? { ok: true as const, value: {} } : parseStrictJson(text);
    if (!parsed.ok) return sendError(res, 400, parsed.error.code, parsed.error.message, parsed.error.path);
    // The path names the call for PUT and DELETE; a body that names another one is refused.
    const body: unknown = parsed.value;
    if (expectsCallId && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const given = (body as Record<string, unknown>).callId;
      if (given !== undefined && given !== callId) return sendError(res, 400, 'E_CONFLICT', 'callId in the body differs from the path', 'callId');
      (body as Record<string, unknown>).callId = callId;
    }

    let result: Result<SessionStateBody>;
    if (method === 'DELETE') {
      const valid = validate(sessionDeleteBody, body);
      if (!valid.ok) return sendError(res, 400, valid.error.code, valid.error.message, valid.error.path);
      result = await this.api.remove(client, valid.value);
    } else {
      const valid = validate(method === 'POST' ? sessionAddBody : sessionModifyBody, body);
      if (!valid.ok) return sendError(res, 400, valid.error.code, valid.error.message, valid.error.path);
      result = method === 'POST' ? await this.api.add(client, valid.value) : await this.api.modify(client, valid.value);
    }
    if (!result.ok) return sendError(res, statusOf(result.error), result.error.code, result.error.message, result.error.path);
    send(res, 200, this.checked(result.value));
  }

  /** The answer as the MQTT front would send it: checked against the schema, a rejection naming the error if it does not fit. */
  private checked(state: SessionStateBody): SessionStateBody {
    const log = this.options.log ?? { error: (message: string, fields?: Record<string, unknown>) => this.options.onError?.(message, fields ?? {}) };
    return checkedState(state, log);
  }

  /** The SIP-shaped front for proxies that cannot read SDP (Kamailio): see src/cloud/sip/answered.ts. */
  private async handleSip(req: IncomingMessage, res: ServerResponse, client: string, what: 'answered' | 'ended', tokenOnly: boolean): Promise<void> {
    if (req.method !== 'POST') return sendError(res, 405, 'E_METHOD', `${req.method ?? ''} is not allowed here`);
    const text = await readBody(req, this.options.maxBodyBytes ?? DEFAULT_MAX_BODY);
    if (text === null) return sendError(res, 413, 'E_TOO_LARGE', 'request body too large');
    const parsed = parseStrictJson(text);
    if (!parsed.ok) return sendError(res, 400, parsed.error.code, parsed.error.message, parsed.error.path);
    let result: Result<SessionStateBody>;
    if (what === 'answered') {
      const add = sessionFromAnswered(parsed.value);
      if (!add.ok) return sendError(res, 400, add.error.code, add.error.message, add.error.path);
      result = await this.api.add(client, add.value);
    } else {
      const valid = validate(sessionDeleteBody, parsed.value);
      if (!valid.ok) return sendError(res, 400, valid.error.code, valid.error.message, valid.error.path);
      result = await this.api.remove(client, valid.value);
    }
    if (!result.ok) return sendError(res, statusOf(result.error), result.error.code, result.error.message, result.error.path);
    const state = this.checked(result.value);
    if (!tokenOnly) return send(res, 200, state);
    const token = state.token ?? '';
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(token), 'x-callqos-state': state.state });
    res.end(token);
  }
}
