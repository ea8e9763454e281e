/**
 * The operators' HTTP layer: the JSON API of src/core/fleet/api.ts on Fastify, its OpenAPI
 * document, the server-sent events, and the dashboard's files.
 *
 * Every request passes, in order: the same-origin check of Origin on a state change (403 E_CSRF),
 * the session cookie (401), the route's role (403 E_FORBIDDEN), the CSRF header on a state change
 * (403 E_CSRF), the core schemas of its params, query and body (400 naming the field, before any
 * handler runs, so a bad request changes nothing), then the handler.
 *
 * The session API for call control (/v1/sessions, src/cloud/server/http-api.ts) stays on its own
 * hand-written handler: it is on the call path (every call set-up waits for it), and moving it
 * onto a framework is a change to measure against the call benchmarks first. Here it shares the
 * port: the node server created below hands /v1/ requests straight to it, before Fastify.
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { CSRF_HEADER, EVENTS, ROUTES, SESSION_COOKIE, roleAllows, statusOf, type LoginBody, type Overview, type RouteSpec, type SessionInfo, type SetupBody } from '../../core/fleet/api.ts';
import { describe, validate, type Schema } from '../../core/protocol/schema.ts';
import { detach } from '../../core/detach.ts';
import type { Logger } from '../../core/log.ts';
import type { CoreError, Result } from '../../core/result.ts';
import type { FleetActions } from '../fleet/actions.ts';
import type { CommandService } from '../fleet/commands.ts';
import type { ConfigService } from '../fleet/config-service.ts';
import type { ClearinghouseStore } from '../clearinghouse/store/types.ts';
import type { FleetStore } from '../fleet/store/types.ts';
import type { Store } from '../store/types.ts';
import { Auth, DEFAULT_AUTH, sameText, tokenHash, type Authenticated, type AuthOptions, type SessionTicket } from './auth.ts';
import { clearedCookie, readCookie, sessionCookie } from './cookies.ts';
import { HANDLERS, type Call, type HandlerDeps } from './handlers.ts';
import { openApiDocument } from './openapi.ts';
import { RawReply } from './raw-reply.ts';
import { overview } from './overview.ts';
import { Scope } from './scope.ts';
import { dashboardFile } from './static.ts';
import { operatorIdentity } from './views.ts';

export interface FleetHttpOptions {
  readonly store: Store;
  readonly fleet: FleetStore;
  readonly actions: FleetActions;
  readonly log: Logger;
  readonly version: string;
  readonly now?: () => number;
  readonly auth?: Partial<AuthOptions>;
  /** dist/dashboard/; null: no dashboard (the API alone). */
  readonly dashboardDir?: string | null;
  /** Mark the cookie Secure even on plain HTTP (the server sits behind a TLS proxy). */
  readonly secureCookies?: boolean;
  /** How often the event stream looks at the store, and how often it sends a heartbeat comment. */
  readonly eventsPollMs?: number;
  readonly heartbeatMs?: number;
  /** The clearinghouse's CDR store, opened by the caller and only read (mount.ts says why); null: the Clearinghouse page says how to connect it. */
  readonly clearinghouse?: ClearinghouseStore | null;
  /** Remote commands to routers (the server's, with the fleet part on); absent: their routes say how to turn them on. */
  readonly commands?: CommandService | null;
  /** Versioned configuration (the server's, with the fleet part on); absent: its routes say how to turn it on. */
  readonly config?: ConfigService | null;
  /** The /v1 session API's request handler, mounted on the same port ahead of Fastify. */
  readonly sessionListener?: RequestListener;
}

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

declare module 'fastify' {
  interface FastifyRequest {
    who: Authenticated | null;
  }
  interface FastifyContextConfig {
    route?: RouteSpec;
  }
}

class ApiFailure extends Error {
  constructor(readonly error: CoreError) {
    super(error.message);
  }
}

function sendError(reply: FastifyReply, error: CoreError): FastifyReply {
  const body = error.path === undefined || error.path === '' ? { code: error.code, message: error.message } : error;
  return reply.code(statusOf(error.code)).header('cache-control', 'no-store').send({ error: body });
}

const isStateChange = (method: string): boolean => method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'params' };

/** Origin, when a browser sends it, must be this server: a page of another site cannot post here. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `${req.protocol}://${req.headers.host ?? ''}`;
}

function clientAddress(req: FastifyRequest): string {
  return req.ip;
}

/**
 * An action's error names a field of the input (`domain`, `id`) as FleetActions sees it; the
 * client sent it in the body or the path, so it is named there, as schema errors are.
 */
function withPart(route: RouteSpec, error: CoreError): CoreError {
  const path = error.path;
  if (path === undefined || path === '' || /^(body|query|params)([.[]|$)/.test(path)) return error;
  const first = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(path)?.[0] ?? '';
  const has = (schema: Schema<unknown> | undefined): boolean => {
    const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
    return shape !== undefined && Object.prototype.hasOwnProperty.call(shape, first);
  };
  if (has(route.body)) return { ...error, path: `body.${path}` };
  if (has(route.params)) return { ...error, path: `params.${path}` };
  if (has(route.query)) return { ...error, path: `query.${path}` };
  return error;
}

export interface FleetHttp {
  readonly app: FastifyInstance;
  readonly auth: Auth;
  /** Starts listening; logs the setup link when there is no operator yet. */
  listen(host: string, port: number): Promise<{ host: string; port: number; setupUrl: string | null }>;
  close(): Promise<void>;
}

export function createFleetHttp(options: FleetHttpOptions): FleetHttp {
  const now = options.now ?? (() => Date.now());
  const auth = new Auth(options.fleet, now, { ...DEFAULT_AUTH, ...options.auth });
  const deps: HandlerDeps = { store: options.store, fleet: options.fleet, actions: options.actions, now, clearinghouse: options.clearinghouse ?? null, commands: options.commands ?? null, config: options.config ?? null };
  const log = options.log;
  const streams = new Set<ServerResponse>();
  const sessionListener = options.sessionListener;

  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    // Every request is answered in time: a slow client cannot hold a socket open for ever.
    requestTimeout: 30_000,
    // A stop does not wait out browsers' keep-alive connections and open event streams.
    forceCloseConnections: true,
    serverFactory:
      sessionListener === undefined
        ? undefined
        : (handler) =>
            createServer((req: IncomingMessage, res: ServerResponse) => {
              if (req.url !== undefined && (req.url.startsWith('/v1/') || req.url === '/v1')) sessionListener(req, res);
              else handler(req, res);
            }),
  });
  app.decorateRequest('who', null);

  // Core schemas, found by route and part: Fastify is given their JSON Schema description only.
  const schemas = new Map<string, Schema<unknown>>();
  app.setValidatorCompiler(({ method, url, httpPart }) => {
    const schema = schemas.get(`${method} ${url} ${httpPart ?? ''}`);
    return (data: unknown) => {
      if (schema === undefined) return { value: data };
      const part = PART_NAMES[httpPart ?? ''] ?? httpPart ?? '';
      // Query strings and params come as null-prototype objects; an absent body as null.
      const input = data !== null && typeof data === 'object' && !Array.isArray(data) ? { ...data } : data === null && httpPart !== 'body' ? {} : data;
      const r = validate(schema, input);
      if (r.ok) return { value: r.value };
      const path = r.error.path === undefined || r.error.path === '' ? part : `${part}.${r.error.path}`;
      return { error: Object.assign(new Error(r.error.message), { coreError: { code: r.error.code, message: r.error.message, path } }) };
    };
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string; coreError?: CoreError }, _req, reply) => {
    if (err instanceof ApiFailure) return sendError(reply, err.error);
    if (err.coreError !== undefined) return sendError(reply, err.coreError);
    const status = err.statusCode ?? 500;
    if (status === 413) return sendError(reply, { code: 'E_TOO_LARGE', message: 'request body too large' });
    if (status === 415) return sendError(reply, { code: 'E_INPUT', message: 'send application/json' });
    if (status >= 400 && status < 500) return sendError(reply, { code: 'E_JSON', message: err.message, path: 'body' });
    log.error('fleet API request failed', { error: String(err.stack ?? err) });
    return sendError(reply, { code: 'E_INTERNAL', message: 'internal error' });
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  const guard = (spec: RouteSpec) => async (req: FastifyRequest): Promise<void> => {
    const change = isStateChange(req.method);
    if (change && !sameOrigin(req)) throw new ApiFailure({ code: 'E_CSRF', message: 'cross-origin request refused', path: 'origin' });
    if (spec.access === 'public') return;
    const who = await auth.authenticate(readCookie(req.headers.cookie, SESSION_COOKIE));
    if (!who.ok) throw new ApiFailure(who.error);
    if (!roleAllows(who.value.operator.role, spec.access)) {
      throw new ApiFailure({ code: 'E_FORBIDDEN', message: `${spec.access} role needed; you are ${who.value.operator.role}` });
    }
    if (change) {
      const given = req.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !sameText(given, who.value.session.csrfToken)) {
        throw new ApiFailure({ code: 'E_CSRF', message: `missing or wrong ${CSRF_HEADER} header`, path: CSRF_HEADER });
      }
    }
    req.who = who.value;
  };

  const secure = (req: FastifyRequest): boolean => options.secureCookies === true || req.protocol === 'https';
  const opened = (req: FastifyRequest, reply: FastifyReply, ticket: SessionTicket): SessionInfo => {
    const maxAgeS = (ticket.session.createdAtMs + auth.options.absoluteMs - now()) / 1000;
    void reply.header('set-cookie', sessionCookie(SESSION_COOKIE, ticket.token, { maxAgeS, secure: secure(req) }));
    return { operator: operatorIdentity(ticket.operator), csrfToken: ticket.session.csrfToken };
  };
  const unwrap = <T>(r: Result<T>): T => {
    if (!r.ok) throw new ApiFailure(r.error);
    return r.value;
  };

  const special: Record<string, (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>> = {
    login: async (req, reply) => {
      const body = req.body as LoginBody;
      const r = await auth.login(body.username, body.password, clientAddress(req));
      if (!r.ok && r.error.code === 'E_RATE_LIMITED') void reply.header('retry-after', String(auth.retryAfterS(body.username, clientAddress(req))));
      if (!r.ok) log.warn('operator login refused', { username: body.username, address: clientAddress(req), code: r.error.code });
      return opened(req, reply, unwrap(r));
    },
    setup: async (req, reply) => {
      const body = req.body as SetupBody;
      const ticket = unwrap(await auth.completeSetup(body.token, body.username, body.password, clientAddress(req)));
      await options.fleet.appendAudit({ atMs: now(), actor: 'setup', action: 'operator.create', target: `operator:${body.username}`, before: null, after: { ...operatorIdentity(ticket.operator) } });
      log.info('first admin created with the setup link', { username: body.username });
      return opened(req, reply, ticket);
    },
    logout: async (req, reply) => {
      await auth.logout(req.who!.session);
      void reply.header('set-cookie', clearedCookie(SESSION_COOKIE, secure(req)));
      return {};
    },
    me: async (req) => ({ operator: operatorIdentity(req.who!.operator), csrfToken: req.who!.session.csrfToken }) satisfies SessionInfo,
    openapi: async () => openApiDocument(options.version),
    events: async (req, reply) => {
      streamOverview(req, reply);
      return reply;
    },
  };

  // Open dashboards of one scope share one overview per poll: the store is read once a second,
  // not once a second per browser tab.
  const overviews = new Map<string, { atMs: number; view: Promise<Overview> }>();
  function sharedOverview(domain: string | null): Promise<Overview> {
    const key = domain ?? '';
    const cached = overviews.get(key);
    const at = now();
    if (cached !== undefined && at - cached.atMs < (options.eventsPollMs ?? 1000) / 2) return cached.view;
    const view = overview(options.store, options.fleet, new Scope(options.fleet, domain), at);
    overviews.set(key, { atMs: at, view });
    view.catch(() => overviews.delete(key));
    return view;
  }

  /** `overview` whenever it changes (looked at every eventsPollMs), a comment every heartbeatMs; ends with the session. */
  function streamOverview(req: FastifyRequest, reply: FastifyReply): void {
    const who = req.who!;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'content-security-policy': CONTENT_SECURITY_POLICY,
    });
    res.write('retry: 3000\n\n');
    streams.add(res);
    let last = '';
    let busy = false;
    const end = (): void => {
      clearInterval(poll);
      clearInterval(beat);
      streams.delete(res);
      if (!res.writableEnded) res.end();
    };
    const tick = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const session = await options.fleet.getWebSession(who.session.tokenHash, now());
        const operator = session === null ? null : await options.fleet.getOperator(session.operatorId);
        if (operator === null || operator.disabledAtMs !== null) return end();
        const view = await sharedOverview(who.operator.domain);
        const key = JSON.stringify({ ...view, atMs: 0 });
        if (key !== last && !res.writableEnded) {
          last = key;
          res.write(`event: ${EVENTS.overview}\ndata: ${JSON.stringify(view)}\n\n`);
        }
      } finally {
        busy = false;
      }
    };
    const onError = (error: unknown): void => log.warn('event stream: overview failed', { error: String(error) });
    const poll = setInterval(() => detach(tick(), onError), options.eventsPollMs ?? 1000);
    const beat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs ?? 15_000);
    req.raw.on('close', end);
    detach(tick(), onError);
  }

  for (const route of ROUTES as readonly RouteSpec[]) {
    const schema: Record<string, unknown> = {};
    for (const [part, core] of [['params', route.params], ['querystring', route.query], ['body', route.body]] as const) {
      if (core === undefined) continue;
      schemas.set(`${route.method} ${route.path} ${part}`, core);
      schema[part] = describe(core);
    }
    const handler = HANDLERS[route.name as keyof typeof HANDLERS];
    const own = special[route.name];
    app.route({
      method: route.method,
      url: route.path,
      schema,
      config: { route },
      onRequest: guard(route),
      handler: async (req, reply) => {
        if (own !== undefined) return own(req, reply);
        if (handler === undefined) throw new ApiFailure({ code: 'E_INTERNAL', message: `route ${route.name} has no handler` });
        const who = req.who!;
        const call: Call = {
          body: req.body, query: req.query, params: req.params, who,
          scope: new Scope(options.fleet, who.operator.domain),
          actor: { name: `operator:${who.operator.username}`, domain: who.operator.domain },
        };
        const r = await handler(deps, call as Call<never, never, never>);
        const value = unwrap(r.ok ? r : { ok: false, error: withPart(route, r.error) });
        if (value instanceof RawReply) return reply.type(value.contentType).header('content-disposition', value.disposition).send(value.body);
        return value;
      },
    });
  }

  app.setNotFoundHandler(async (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (path.startsWith('/api/') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return sendError(reply, { code: 'E_NOT_FOUND', message: `no such resource: ${req.method} ${path}` });
    }
    const file = await dashboardFile(options.dashboardDir ?? null, path);
    if (file === null) return sendError(reply, { code: 'E_NOT_FOUND', message: `no such file: ${path}` });
    return reply.code(file.status).type(file.type).header('cache-control', file.cache).send(file.body);
  });

  // Expired sessions are refused when read; this only keeps the table small.
  const sweep = setInterval(() => detach(options.fleet.deleteExpiredSessions(now()), (error) => log.warn('removing expired sessions failed', { error: String(error) })), 10 * 60_000);
  sweep.unref();

  app.addHook('onClose', async () => {
    clearInterval(sweep);
    for (const res of [...streams]) res.end();
    streams.clear();
  });

  return {
    app,
    auth,
    async listen(host, port) {
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : { host, port };
      const token = await auth.offerSetup();
      const urlHost = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
      const setupUrl = token === null ? null : `http://${urlHost}:${bound.port}/setup#${token}`;
      return { ...bound, setupUrl };
    },
    close: () => app.close(),
  };
}

/** The cookie's token hash, for tests and tools that hold a token. */
export { tokenHash };
