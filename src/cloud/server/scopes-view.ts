/**
 * `GET /v1/scopes`: the routed scopes this server was started with, every network their routers
 * report inside them, and the conflicts: a network a second router of the scope reported, refused
 * to it and held by the first. An operator reads it to find the misconfigured router.
 */
import type { ScopeClaim } from '../../core/control/locate.ts';
import { prefixText, type RoutedScope } from '../../core/control/routed-scope.ts';

export interface ScopeView {
  readonly name: string;
  readonly prefixes: readonly string[];
  /** The device ids (a trailing `*` matching any rest) of the scope's routers; null: every router. */
  readonly devices: readonly string[] | null;
  /** Each network reported inside the scope and the router that holds it. */
  readonly networks: readonly { readonly prefix: string; readonly device: string }[];
  /** Networks reported by more than one router: `refused` were refused; calls into it get best effort. */
  readonly conflicts: readonly { readonly prefix: string; readonly holder: string; readonly refused: readonly string[] }[];
}

export function scopesView(scopes: readonly RoutedScope[], claims: readonly ScopeClaim[]): { scopes: ScopeView[] } {
  return {
    scopes: scopes.map((scope) => {
      const own = claims.filter((c) => c.scope === scope.name);
      return {
        name: scope.name,
        prefixes: scope.prefixes.map(prefixText),
        devices: scope.devices,
        networks: own.map((c) => ({ prefix: c.prefix, device: c.holder })),
        conflicts: own.filter((c) => c.refused.length > 0).map((c) => ({ prefix: c.prefix, holder: c.holder, refused: c.refused })),
      };
    }),
  };
}
