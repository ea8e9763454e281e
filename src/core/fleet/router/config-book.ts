/**
 * The router's bookkeeping of configuration versions (issue 15 section 3), pure:
 *
 *  - the book: the version now applied (number and hash) and the last KEEP_GOOD good versions,
 *    newest first, as the agent keeps it in `book.json` beside their files;
 *  - what an arriving `config.apply` means against the book (the same version again, a reused
 *    version number with other content, or a new version to validate and apply);
 *  - what the router writes for a version: a version is the whole configuration except the
 *    `cloud` section (the router's link, set at enrolment), so a version without one is written
 *    with the router's own `cloud` section as it is in the file; a version with one replaces it
 *    whole;
 *  - whether a version touches the cloud link: only a version that carries a `cloud` section
 *    other than the current one (then the link is checked within linkCheckS and the previous
 *    settings come back if it fails);
 *  - whether the file as it is now has drifted from the applied version, measured on what the
 *    fleet manages (without the router's own `cloud` section when the version carried none).
 */
import { canonicalConfig } from '../config-version.ts';
import type { ConfigSection } from '../../protocol/messages/config.ts';
import { parseStrictJson } from '../../protocol/strict-json.ts';

export const KEEP_GOOD = 5;
const HASH = /^[0-9a-f]{16}$/;

export interface VersionRef {
  readonly version: number;
  readonly hash: string;
}

export interface VersionBook {
  /** The version the router last applied (and reported applied); null before the first. */
  readonly applied: VersionRef | null;
  /**
   * The hash of the applied file's sections as read back from the file: what drift is measured
   * against (the renderer leaves out empty values, so this can differ from the version's hash).
   */
  readonly fileHash: string | null;
  /**
   * The applied version carried no `cloud` section, so the router kept its own: drift is then
   * measured (and reported) without the file's `cloud` section, which is not the fleet's.
   */
  readonly keepsCloud: boolean;
  /** Good versions, newest first, at most KEEP_GOOD: each has a file `v<version>.uci`. */
  readonly good: readonly VersionRef[];
}

export const EMPTY_BOOK: VersionBook = { applied: null, fileHash: null, keepsCloud: false, good: [] };

function isRef(value: unknown): value is VersionRef {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.version === 'number' && Number.isSafeInteger(v.version) && v.version >= 0 && typeof v.hash === 'string' && HASH.test(v.hash);
}

/** The book from its file; anything unreadable is an empty book (the next apply writes a good one). */
export function parseBook(text: string): VersionBook {
  const parsed = parseStrictJson(text);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null) return EMPTY_BOOK;
  const v = parsed.value as Record<string, unknown>;
  const applied = isRef(v.applied) ? { version: v.applied.version, hash: v.applied.hash } : null;
  const good = Array.isArray(v.good) ? v.good.filter(isRef).slice(0, KEEP_GOOD).map((r) => ({ version: r.version, hash: r.hash })) : [];
  const fileHash = typeof v.fileHash === 'string' && HASH.test(v.fileHash) ? v.fileHash : null;
  // A book from before keepsCloud hashed the whole file: false keeps that meaning.
  return { applied, fileHash, keepsCloud: v.keepsCloud === true, good };
}

export function renderBook(book: VersionBook): string {
  return `${JSON.stringify({ applied: book.applied, fileHash: book.fileHash, keepsCloud: book.keepsCloud, good: book.good })}\n`;
}

/**
 * The book once `ref` applied well: it is the applied one and the newest good one (an older
 * entry of the same version is replaced); `dropped` are the versions whose files can go.
 * `fileHash` is the hash of the managed sections as written (see managedSections).
 */
export function recordGood(book: VersionBook, ref: VersionRef, fileHash: string, keepsCloud = false): { book: VersionBook; dropped: number[] } {
  const others = book.good.filter((g) => g.version !== ref.version);
  const good = [{ version: ref.version, hash: ref.hash }, ...others];
  return { book: { applied: { version: ref.version, hash: ref.hash }, fileHash, keepsCloud, good: good.slice(0, KEEP_GOOD) }, dropped: good.slice(KEEP_GOOD).map((g) => g.version) };
}

export type ApplyPlan =
  /** This version is applied already: report `applied` again, change nothing. */
  | { readonly kind: 'same' }
  /** The version number is taken by other content: versions are immutable, so refuse it. */
  | { readonly kind: 'conflict'; readonly reason: string }
  | { readonly kind: 'new' };

export function planApply(book: VersionBook, incoming: VersionRef): ApplyPlan {
  const applied = book.applied;
  if (applied !== null && applied.version === incoming.version) {
    if (applied.hash === incoming.hash) return { kind: 'same' };
    return { kind: 'conflict', reason: `E_CONFIG: version ${incoming.version} is applied here with hash ${applied.hash}, not ${incoming.hash}; a version is never changed` };
  }
  return { kind: 'new' };
}

const isCloud = (s: ConfigSection): boolean => s.type === 'cloud';

/** The `cloud` section(s), canonically: what the link is made from. */
function cloudPart(sections: readonly ConfigSection[]): string {
  return canonicalConfig(sections.filter(isCloud));
}

/** Whether a version carries a `cloud` section (and so sets the router's link). */
export function carriesCloud(version: readonly ConfigSection[]): boolean {
  return version.some(isCloud);
}

/**
 * Whether applying `version` over the file's `current` sections changes the link: only a version
 * that carries a `cloud` section other than the current one (option order is no change). A
 * version without one leaves the router's link alone.
 */
export function touchesCloudLink(current: readonly ConfigSection[], version: readonly ConfigSection[]): boolean {
  return carriesCloud(version) && cloudPart(current) !== cloudPart(version);
}

/**
 * What the router writes for a version: the version's sections, and, when it carries no `cloud`
 * section, the router's own `cloud` section(s) from the file as it is now, after them. A version
 * with a `cloud` section replaces the router's whole (every option, as the version has it).
 */
export function sectionsToWrite(current: readonly ConfigSection[], version: readonly ConfigSection[]): ConfigSection[] {
  return carriesCloud(version) ? [...version] : [...version, ...current.filter(isCloud)];
}

/** The sections the fleet manages in a file: all of them, or all but `cloud` when the router keeps its own. */
export function managedSections(sections: readonly ConfigSection[], keepsCloud: boolean): ConfigSection[] {
  return keepsCloud ? sections.filter((s) => !isCloud(s)) : [...sections];
}

/**
 * After a version that touched the link was applied: the link came back (keep it), or the
 * deadline passed without the server accepting the session (go back to the settings before).
 */
export function linkVerdict(accepted: boolean): 'keep' | 'roll-back' {
  return accepted ? 'keep' : 'roll-back';
}

/**
 * Whether the file's content (its sections' hash) has drifted from the applied version and is
 * worth a report: only with an applied version, and only once per distinct content.
 */
export function driftOf(book: VersionBook, currentHash: string, lastReported: string | null): 'none' | 'report' | 'reported' {
  if (book.applied === null || (book.fileHash ?? book.applied.hash) === currentHash) return 'none';
  return lastReported === currentHash ? 'reported' : 'report';
}

/**
 * A link check under way, kept beside `before.uci` (the file from before the version): if the
 * agent stops before the check ends, its next start cannot know whether the new link works, so it
 * goes back to the file from before and reports the version rolled back to the apply it answers.
 */
export interface PendingLinkCheck extends VersionRef {
  /** The `config.apply` message id, the reports' correlation id. */
  readonly corr: string;
}

const CORR = /^[\x21-\x7e]{1,128}$/;

export function parsePending(text: string): PendingLinkCheck | null {
  const parsed = parseStrictJson(text);
  if (!parsed.ok || !isRef(parsed.value)) return null;
  const corr = (parsed.value as unknown as Record<string, unknown>).corr;
  return typeof corr === 'string' && CORR.test(corr) ? { version: parsed.value.version, hash: parsed.value.hash, corr } : null;
}

export function renderPending(pending: PendingLinkCheck): string {
  return `${JSON.stringify({ version: pending.version, hash: pending.hash, corr: pending.corr })}\n`;
}
