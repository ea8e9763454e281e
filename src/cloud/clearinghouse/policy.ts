/**
 * The clearinghouse's policy file (JSON): which policy domains it serves, the broker logins of
 * each domain's policy servers, which domains have a settlement agreement with each other, the
 * limits it authorizes within, and the tariff. Checked whole when loaded; an error names the field.
 *
 *   { "tokenTtlS": 300,
 *     "tariff": { "currency": "EUR", "perMinute": { "voice": 1, "video": 4 }, "firstIncrementS": 30, "nextIncrementS": 6 },
 *     "domains": [ { "id": "domain-a", "clients": ["qos-a"], "peers": ["domain-b"], "maxKbpsPerFlow": 4000, "maxDurationS": 14400 } ] }
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_TARIFF, type Tariff } from '../../core/clearinghouse/rating.ts';
import { deviceId } from '../../core/protocol/fields.ts';
import { arr, int, obj, optional, str, validate, type Infer } from '../../core/protocol/schema.ts';
import { parseStrictJson } from '../../core/protocol/strict-json.ts';

const domain = obj({
  id: deviceId,
  clients: arr(deviceId, { min: 1, max: 64, unique: { key: (c) => c } }),
  peers: optional(arr(deviceId, { max: 256, unique: { key: (p) => p } })),
  maxKbpsPerFlow: optional(int({ min: 1, max: 100000 })),
  maxDurationS: optional(int({ min: 1, max: 7 * 86400 })),
});

const policyFile = obj({
  tokenTtlS: optional(int({ min: 10, max: 86400 })),
  tariff: optional(
    obj({
      currency: str({ min: 3, max: 3, pattern: /^[A-Z]{3}$/, format: 'ISO 4217 currency code' }),
      perMinute: obj({ voice: int({ min: 0, max: 1_000_000 }), video: int({ min: 0, max: 1_000_000 }) }),
      firstIncrementS: int({ min: 1, max: 3600 }),
      nextIncrementS: int({ min: 1, max: 3600 }),
    }),
  ),
  domains: arr(domain, { min: 1, max: 1024, unique: { key: (d) => d.id, field: 'id' } }),
});

export interface DomainPolicy {
  readonly id: string;
  readonly clients: readonly string[];
  readonly peers: readonly string[];
  readonly maxKbpsPerFlow: number;
  readonly maxDurationS: number;
}

export interface ClearinghousePolicy {
  /** How long after issue a token may be presented (seconds). */
  readonly tokenTtlS: number;
  readonly tariff: Tariff;
  readonly domains: readonly DomainPolicy[];
}

export function parsePolicy(input: unknown, source = 'policy'): ClearinghousePolicy {
  const checked = validate(policyFile, input);
  if (!checked.ok) throw new Error(`${source}: ${checked.error.path ? `${checked.error.path}: ` : ''}${checked.error.message}`);
  const file: Infer<typeof policyFile> = checked.value;
  const ids = new Set(file.domains.map((d) => d.id));
  const owners = new Map<string, string>();
  for (const d of file.domains) {
    for (const peer of d.peers ?? []) if (!ids.has(peer)) throw new Error(`${source}: domain ${d.id} names peer ${peer}, which is not a domain here`);
    for (const client of d.clients) {
      const owner = owners.get(client);
      if (owner !== undefined) throw new Error(`${source}: client ${client} is in two domains (${owner}, ${d.id})`);
      owners.set(client, d.id);
    }
  }
  return {
    tokenTtlS: file.tokenTtlS ?? 300,
    tariff: file.tariff ?? DEFAULT_TARIFF,
    domains: file.domains.map((d) => ({ id: d.id, clients: d.clients, peers: d.peers ?? [], maxKbpsPerFlow: d.maxKbpsPerFlow ?? 10_000, maxDurationS: d.maxDurationS ?? 4 * 3600 })),
  };
}

export function loadPolicy(path: string): ClearinghousePolicy {
  const parsed = parseStrictJson(readFileSync(path, 'utf8'));
  if (!parsed.ok) throw new Error(`${path}: not JSON: ${parsed.error.message}`);
  return parsePolicy(parsed.value, path);
}
