/**
 * The cloud gates the router holds, as the server sent them, each with its content hash and
 * digest entry computed once when it is stored: a `desired` message comes with every decision,
 * and rehashing a thousand gates for each would cost tens of milliseconds under QuickJS.
 */
import { combineDigestEntries, digestEntry, gateHash } from '../../core/protocol/digest.ts';
import type { Gate } from '../../core/protocol/messages/gates.ts';

interface Held {
  readonly gate: Gate;
  readonly hash: string;
  readonly entry: string;
}

export class HeldGates {
  private readonly byId = new Map<string, Held>();

  set(gate: Gate): void {
    const hash = gateHash(gate);
    this.byId.set(gate.id, { gate, hash, entry: digestEntry(gate.id, hash) });
  }

  get(id: string): Gate | undefined {
    return this.byId.get(id)?.gate;
  }

  hashOf(id: string): string | undefined {
    return this.byId.get(id)?.hash;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  gates(): Gate[] {
    return [...this.byId.values()].map((h) => h.gate);
  }

  /** Id and hash of each gate, as `sync.request` lists them. */
  hashes(): { id: string; hash: string }[] {
    return [...this.byId.values()].map((h) => ({ id: h.gate.id, hash: h.hash }));
  }

  /** The `desired` digest over the held gates (desiredDigest in core/protocol/digest.ts). */
  digest(): string {
    return combineDigestEntries([...this.byId.values()].map((h) => h.entry));
  }
}
