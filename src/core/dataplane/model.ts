/**
 * The desired data plane: what the kernel should hold for the agent's gates. Computed from the
 * config and the gates, rendered to nft batches (render-nft.ts for the whole table,
 * render-changes.ts for one change), applied by the agent.
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
  /** Admitted rate in each direction, kbit/s; traffic above it (plus the margin) is demoted. */
  readonly rateKbit: number;
  /** Seconds until the kernel drops the gate by itself if no removal arrives; null: never. */
  readonly lifetimeS: number | null;
}

export interface DataplaneSettings {
  /** Conntrack mark bits that hold the class; other bits belong to other packages. */
  readonly markMask: number;
  /** Rewrite EF on flows nobody admitted to best effort. */
  readonly washUnadmittedEf: boolean;
  /** Headroom above the admitted rate before packets are demoted, in percent. */
  readonly policeMarginPercent: number;
  /** Send admitted EF in the Wi-Fi voice access category (RFC 8325), which the kernel's DSCP map does not. */
  readonly wifiEfToVoice: boolean;
}

/** The classes a gate may have, by DSCP value, with nft's names for them. */
export const GATE_CLASSES: ReadonlyMap<number, string> = new Map([
  [46, 'ef'],
  [34, 'af41'],
  [40, 'cs5'],
]);

export const NFT_TABLE = 'callqos';

/**
 * Changes whenever the table's layout changes, so that an agent meeting an older table replaces it.
 * It is the comment of the first rule of the forward chain, which is cheap to read.
 */
export const SCHEMA_MARK = 'callqos schema 6';

export type Family = 'v4' | 'v6';
export type Way = 'up' | 'down';
export const FAMILIES: readonly Family[] = ['v4', 'v6'];
export const WAYS: readonly Way[] = ['up', 'down'];

/**
 * Which of a direction's two maps holds a gate: `exact` when both remote address and port are
 * known (a hash lookup per packet, whatever the number of gates), `any` when either is a
 * wildcard (an interval map, whose lookup cost grows with its elements: few gates need it).
 */
export type MapKind = 'exact' | 'any';
export const MAP_KINDS: readonly MapKind[] = ['exact', 'any'];

/**
 * A verdict map of one family, direction and kind: gate 5-tuple -> the class chain, each element
 * with its own counter and rate limit.
 */
export const classMap = (way: Way, family: Family, kind: MapKind) => (kind === 'exact' ? `${way}_${family}` : `${way}_${family}_any`);

/**
 * The LAN endpoints (address . port) that have a gate in a direction. The forward chain looks a
 * packet's LAN endpoint up here first (one hash lookup) and only on a hit goes on to the class
 * maps, so traffic without a gate, most of a router's packets, pays one lookup per direction.
 */
export const lanSet = (way: Way, family: Family) => `${way}_${family}_lan`;
/**
 * Packets marked with a gate class (EF, AF41, CS5) that no gate took, counted per 5-tuple as the
 * packet carries it (source . sport . destination . dport): a dynamic set, bounded, each element
 * gone a while after its flow's last such packet. The two routers of a call install their gates
 * at different moments; until the receiving router's gate is there, what the sending router has
 * already marked (and counted as sent) is counted here, and the agent adds it to the new gate's
 * received count, so the difference of the two is only what the path between them lost.
 */
export const earlySet = (family: Family) => `early_${family}`;
export const EARLY_SET_SIZE = 1024;
/** Refreshed by every packet: it need only outlast a flow's silences, and the read that follows a gate's install. */
export const EARLY_TIMEOUT_S = 30;
/** The chain that looks a packet of a gated LAN endpoint up in the direction's class maps. */
export const gateChain = (way: Way, family: Family) => `gates_${way}_${family}`;

/** Every class map, in the order the forward chain looks them up. */
export const CLASS_MAPS: readonly { readonly family: Family; readonly way: Way; readonly kind: MapKind; readonly name: string }[] =
  FAMILIES.flatMap((family) => WAYS.flatMap((way) => MAP_KINDS.map((kind) => ({ family, way, kind, name: classMap(way, family, kind) }))));
