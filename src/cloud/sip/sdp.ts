/**
 * SDP (RFC 4566) offers and answers, read with `sdp-transform` and checked here: the library
 * parses leniently and returns whatever it found, so every field the QoS path uses is validated
 * (addresses are IP literals in canonical form, ports in range, numbers numbers) before it becomes
 * a media line of a session request. Offer and answer pair up by m-line index (RFC 3264 section 6).
 */
import { parse as parseSdpText } from 'sdp-transform';
import type { MediaDirection, MediaLine, MediaType } from '../../core/protocol/messages/cc.ts';
import { MAX_MEDIA_LINES } from '../../core/protocol/messages/cc.ts';
import { formatIp, parseIp } from '../../core/net/ip.ts';
import { coreError, fail, ok, type Result } from '../../core/result.ts';

export const MAX_SDP_BYTES = 16 * 1024;

export interface SdpCodec {
  readonly payload: number;
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
}

export interface SdpMedia {
  /** The m-line's position: the media line number of the session request. */
  readonly index: number;
  readonly type: string;
  readonly port: number;
  /** Media-level c= if present, else session-level; canonical text; null when neither is an IP address. */
  readonly address: string | null;
  readonly direction: MediaDirection;
  /** In the m-line's payload order. */
  readonly codecs: readonly SdpCodec[];
  readonly ptimeMs?: number;
  readonly bandwidthKbps?: number;
}

export interface SdpSession {
  readonly media: readonly SdpMedia[];
}

/** RFC 3551 static payload types, for m-lines that name them without an rtpmap. */
const STATIC_PAYLOADS: Record<number, { name: string; clockRate: number }> = {
  0: { name: 'PCMU', clockRate: 8000 }, 3: { name: 'GSM', clockRate: 8000 }, 4: { name: 'G723', clockRate: 8000 },
  8: { name: 'PCMA', clockRate: 8000 }, 9: { name: 'G722', clockRate: 8000 }, 18: { name: 'G729', clockRate: 8000 },
  26: { name: 'JPEG', clockRate: 90000 }, 31: { name: 'H261', clockRate: 90000 }, 34: { name: 'H263', clockRate: 90000 },
};
const DIRECTIONS: readonly MediaDirection[] = ['sendrecv', 'sendonly', 'recvonly', 'inactive'];

const refuse = (message: string): Result<never> => fail(coreError('E_SDP', message));
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function address(connection: unknown): string | null {
  const ip = (connection as { ip?: unknown } | undefined)?.ip;
  if (typeof ip !== 'string') return null;
  // c= may carry a TTL or count after a slash for multicast; a unicast address stands alone.
  const parsed = parseIp(ip);
  return parsed.ok ? formatIp(parsed.value) : null;
}

function direction(value: unknown): MediaDirection | undefined {
  return DIRECTIONS.includes(value as MediaDirection) ? (value as MediaDirection) : undefined;
}

/** Parses one SDP body (a UTF-8 string); every media line it keeps is checked. */
export function parseSdp(text: string): Result<SdpSession> {
  if (text.length > MAX_SDP_BYTES) return refuse(`SDP of ${text.length} bytes, more than ${MAX_SDP_BYTES}`);
  if (!/^v=0\r?\n/.test(text)) return refuse('SDP must start with v=0 (RFC 4566 section 5)');
  let raw: ReturnType<typeof parseSdpText>;
  try {
    raw = parseSdpText(text);
  } catch (err) {
    return refuse(`SDP does not parse: ${(err as Error).message}`);
  }
  const lines = Array.isArray(raw.media) ? raw.media : [];
  if (lines.length > MAX_MEDIA_LINES) return refuse(`${lines.length} m-lines, more than ${MAX_MEDIA_LINES}`);
  const sessionAddress = address(raw.connection);
  const sessionDirection = direction((raw as { direction?: unknown }).direction) ?? 'sendrecv';
  const media: SdpMedia[] = [];
  for (const [index, m] of lines.entries()) {
    if (typeof m.type !== 'string' || !/^[a-z]{1,16}$/.test(m.type)) return refuse(`m-line ${index}: media type missing or invalid`);
    if (!isInt(m.port, 0, 65535)) return refuse(`m-line ${index}: port missing or not 0..65535`);
    const payloads = String(m.payloads ?? '').trim().split(/\s+/).filter((p) => p !== '');
    const rtp = Array.isArray(m.rtp) ? m.rtp : [];
    const codecs: SdpCodec[] = [];
    for (const p of payloads) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 127) continue; // not an RTP payload type (e.g. a non-RTP format)
      const payload = Number(p);
      const map = rtp.find((r) => r.payload === payload);
      if (map && typeof map.codec === 'string' && /^[A-Za-z0-9._+-]{1,32}$/.test(map.codec) && isInt(map.rate, 1000, 192000)) {
        const channels = Number((map as { encoding?: unknown }).encoding);
        codecs.push({ payload, name: map.codec, clockRate: map.rate, ...(isInt(channels, 1, 8) ? { channels } : {}) });
      } else if (STATIC_PAYLOADS[payload]) codecs.push({ payload, ...STATIC_PAYLOADS[payload]! });
    }
    const bandwidth = (Array.isArray(m.bandwidth) ? m.bandwidth : []).find((b) => b.type === 'AS');
    media.push({
      index,
      type: m.type,
      port: m.port,
      address: address(m.connection) ?? sessionAddress,
      direction: direction((m as { direction?: unknown }).direction) ?? sessionDirection,
      codecs,
      ...(isInt(m.ptime, 1, 1000) ? { ptimeMs: m.ptime } : {}),
      ...(bandwidth && isInt(Number(bandwidth.limit), 1, 100000) ? { bandwidthKbps: Number(bandwidth.limit) } : {}),
    });
  }
  return ok({ media });
}

/**
 * The session request's media lines from an offer and its answer: one per audio or video m-line
 * that both sides have, with both ends' addresses, the offerer's direction (or inactive where the
 * answer says so) and the codec the answer chose (its first payload). A stream the answer refused
 * has port 0, and a line without an address on either side is left out with the reason.
 */
export function mediaLines(offer: SdpSession, answer: SdpSession): Result<{ lines: MediaLine[]; skipped: string[] }> {
  if (answer.media.length !== offer.media.length) {
    return refuse(`the answer has ${answer.media.length} m-lines, the offer ${offer.media.length} (RFC 3264 section 6)`);
  }
  const lines: MediaLine[] = [];
  const skipped: string[] = [];
  for (const [i, o] of offer.media.entries()) {
    const a = answer.media[i]!;
    if (o.type !== 'audio' && o.type !== 'video') continue;
    if (o.address === null || a.address === null) {
      skipped.push(`m-line ${i}: no IP address in c= on ${o.address === null ? 'the offer' : 'the answer'}`);
      continue;
    }
    if ((o.address.includes(':') ? 6 : 4) !== (a.address.includes(':') ? 6 : 4)) {
      skipped.push(`m-line ${i}: offer and answer use different IP families`);
      continue;
    }
    const codec = a.codecs[0] ?? o.codecs[0];
    if (!codec) {
      skipped.push(`m-line ${i}: no codec the QoS policy can rate`);
      continue;
    }
    const ptimeMs = a.ptimeMs ?? o.ptimeMs;
    const bandwidthKbps = a.bandwidthKbps ?? o.bandwidthKbps;
    const inactive = o.direction === 'inactive' || a.direction === 'inactive' || o.port === 0 || a.port === 0;
    lines.push({
      line: i,
      type: o.type as MediaType,
      offer: { address: o.address, port: o.port },
      answer: { address: a.address, port: a.port },
      direction: inactive ? 'inactive' : o.direction,
      codec: {
        name: codec.name,
        clockRate: codec.clockRate,
        ...(codec.channels !== undefined ? { channels: codec.channels } : {}),
        ...(ptimeMs !== undefined ? { ptimeMs } : {}),
        ...(bandwidthKbps !== undefined ? { bandwidthKbps } : {}),
      },
    });
  }
  return ok({ lines, skipped });
}
