/** The OpenAPI 3.1 document of the operators' API, built from the route list and the core schemas. */
import { API_PREFIX, ROUTES, SESSION_COOKIE, CSRF_HEADER, statusOf, type RouteSpec } from '../../core/fleet/api.ts';
import { describe, type JsonSchema } from '../../core/protocol/schema.ts';

const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, path: { type: 'string' } } } },
};

function parameters(route: RouteSpec): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (schema === undefined) continue;
    const doc = describe(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
    for (const [name, s] of Object.entries(doc.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (doc.required ?? []).includes(name), schema: s });
    }
  }
  if (route.method !== 'GET' && route.access !== 'public') out.push({ name: CSRF_HEADER, in: 'header', required: true, schema: { type: 'string' }, description: 'the csrfToken of the session' });
  return out;
}

function responses(route: RouteSpec): JsonSchema {
  const error = { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const ok = route.stream
    ? { description: `text/event-stream of ${route.response}`, content: { 'text/event-stream': { schema: { type: 'string' } } } }
    : route.response === 'CSV'
      ? { description: 'CSV (RFC 4180) with a header row, as an attachment', content: { 'text/csv': { schema: { type: 'string' } } } }
      : { description: route.response, content: { 'application/json': { schema: { description: `${route.response} (src/core/fleet/api.ts)` } } } };
  const out: Record<string, unknown> = { 200: ok };
  if (route.body !== undefined || route.query !== undefined || route.params !== undefined) out[400] = error;
  if (route.access !== 'public') {
    out[401] = error;
    out[403] = error;
  }
  if (route.scoped === true) out[statusOf('E_NOT_FOUND')] = error;
  if (route.name === 'login') out[429] = error;
  return out;
}

export function openApiDocument(version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of ROUTES as readonly RouteSpec[]) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const op: Record<string, unknown> = {
      operationId: route.name,
      summary: route.summary,
      'x-callqos-role': route.access,
      parameters: parameters(route),
      responses: responses(route),
    };
    if (route.access !== 'public') op['security'] = [{ session: [] }];
    if (route.body !== undefined) op['requestBody'] = { required: true, content: { 'application/json': { schema: describe(route.body) } } };
    (paths[path] ??= {})[route.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'callqos fleet API', version, description: `The operators' JSON API under ${API_PREFIX}; shapes in src/core/fleet/api.ts.` },
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE } },
    },
  };
}
