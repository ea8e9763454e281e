/**
 * The desired data plane: what the kernel should hold for the agent's gates. Computed from the
 * config and the gates, rendered to one nft batch (render-nft.ts), applied by the agent.
 */

export type GateDirection = 'both' | 'up' | 'down';

/** One admitted media flow (a gate). A null remote address or port is a wildcard (far-side NAT). */
export interface DataplaneGate {
  readonly id: string;
  readonly direction: GateDirection;
  readonly lan: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string | null; readonly port: number | null };
  /** DiffServ code point: 46 (EF, voice), 34 (AF41, video) or 40 (CS5, signalling). */
  readonly dscp: number;
  readonly rateKbit: number;
  /** Seconds until the kernel drops the gate by itself if no removal arrives; null for static gates. */
  readonly lifetimeS: number | null;
}

export interface DataplaneSettings {
  /** Conntrack mark bits that hold the class; other bits belong to other packages. */
  readonly markMask: number;
  /** Rewrite EF on flows nobody admitted to best effort. */
  readonly washUnadmittedEf: boolean;
}

/** The classes a gate may have, by DSCP value, with nft's names for them. */
export const GATE_CLASSES: ReadonlyMap<number, string> = new Map([
  [46, 'ef'],
  [34, 'af41'],
  [40, 'cs5'],
]);

export const NFT_TABLE = 'callqos';
