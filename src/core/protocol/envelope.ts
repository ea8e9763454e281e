/**
 * envelope: the one JSON envelope every MQTT message travels in (DESIGN.md section 4), and the
 * codec: text -> validated Message, Message -> text.
 *
 *   { v: 1, type, id, corr?, device, session, seq, ts, body }
 *
 * `id` is the idempotency key; `corr` names the message this one answers (required on replies);
 * `device` is the sender (a router, or a server/service id); `session` is the sender's boot or
 * session counter and `seq` its sequence number within that session, so a receiver can order
 * messages and spot a restart. The version is checked first: a v2 message is reported as such,
 * not as a pile of field errors.
 */
import { parseStrictJson } from './strict-json.ts';
import { ok, type Result } from '../result.ts';
import { deviceId, messageId, timestamp } from './fields.ts';
import {
  acceptBody, accountingBody, authRequestBody, authResponseBody, closeBody, commandBody, deleteBody, desiredBody, failureBody, installBody, interfacesBody,
  keepaliveBody, modifyBody, openBody, removeBody, requestBody, resultBody, sessionAddBody, sessionDeleteBody,
  sessionModifyBody, sessionStateBody, statusBody, successBody,
  syncCompleteBody, syncRequestBody, usageConfirmationBody, usageIndicationBody, enrolRequestBody, enrolAnswerBody, configApplyBody, configReportBody,
} from './messages/index.ts';
import {
  Code, MAX_SAFE, failAt, int, isPlainObject, literal, obj, optional, union, validate, type Infer, type Schema,
} from './schema.ts';

export const PROTOCOL_VERSION = 1;
/** Largest message text accepted or produced, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

const header = {
  v: literal(PROTOCOL_VERSION, Code.VERSION),
  id: messageId,
  device: deviceId,
  session: int({ min: 0, max: 2147483647 }),
  seq: int({ min: 0, max: MAX_SAFE }),
  ts: timestamp,
} as const;

/** A message that may answer another (corr optional). */
function message<const T extends string, B>(type: T, body: Schema<B>) {
  const { v, id, device, session, seq, ts } = header;
  return obj({ v, type: literal(type), id, corr: optional(messageId), device, session, seq, ts, body });
}

/** A reply: corr must name the message answered. */
function reply<const T extends string, B>(type: T, body: Schema<B>) {
  const { v, id, device, session, seq, ts } = header;
  return obj({ v, type: literal(type), id, corr: messageId, device, session, seq, ts, body });
}

const messages = union(
  'type',
  [
    message('open', openBody),
    reply('accept', acceptBody),
    message('close', closeBody),
    message('keepalive', keepaliveBody),
    message('status', statusBody),
    message('interfaces', interfacesBody),
    message('request', requestBody),
    message('decision.install', installBody),
    message('decision.modify', modifyBody),
    message('decision.remove', removeBody),
    reply('report.success', successBody),
    reply('report.failure', failureBody),
    message('report.accounting', accountingBody),
    message('delete', deleteBody),
    message('sync.request', syncRequestBody),
    reply('sync.complete', syncCompleteBody),
    message('desired', desiredBody),
    message('command', commandBody),
    reply('result', resultBody),
    message('session.add', sessionAddBody),
    message('session.modify', sessionModifyBody),
    message('session.delete', sessionDeleteBody),
    message('session.state', sessionStateBody),
    message('auth.request', authRequestBody),
    reply('auth.response', authResponseBody),
    message('usage.indication', usageIndicationBody),
    reply('usage.confirmation', usageConfirmationBody),
    message('enrol.request', enrolRequestBody),
    reply('enrol.answer', enrolAnswerBody),
    message('config.apply', configApplyBody),
    message('config.report', configReportBody),
  ],
  Code.UNKNOWN_TYPE,
);

export type Message = Infer<typeof messages>;
export type MessageType = Message['type'];
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;
export type BodyOf<T extends MessageType> = MessageOf<T>['body'];

export const MESSAGE_TYPES: readonly MessageType[] = [
  'open', 'accept', 'close', 'keepalive', 'status', 'interfaces', 'request', 'decision.install',
  'decision.modify', 'decision.remove', 'report.success', 'report.failure', 'report.accounting',
  'delete', 'sync.request', 'sync.complete', 'desired', 'command', 'result', 'session.add', 'session.modify',
  'session.delete', 'session.state', 'auth.request', 'auth.response', 'usage.indication', 'usage.confirmation', 'enrol.request', 'enrol.answer', 'config.apply', 'config.report',
];

export type OpenMessage = MessageOf<'open'>;
export type AcceptMessage = MessageOf<'accept'>;
export type CloseMessage = MessageOf<'close'>;
export type KeepaliveMessage = MessageOf<'keepalive'>;
export type StatusMessage = MessageOf<'status'>;
export type InterfacesMessage = MessageOf<'interfaces'>;
export type RequestMessage = MessageOf<'request'>;
export type InstallMessage = MessageOf<'decision.install'>;
export type ModifyMessage = MessageOf<'decision.modify'>;
export type RemoveMessage = MessageOf<'decision.remove'>;
export type SuccessMessage = MessageOf<'report.success'>;
export type FailureMessage = MessageOf<'report.failure'>;
export type AccountingMessage = MessageOf<'report.accounting'>;
export type DeleteMessage = MessageOf<'delete'>;
export type SyncRequestMessage = MessageOf<'sync.request'>;
export type SyncCompleteMessage = MessageOf<'sync.complete'>;
export type DesiredMessage = MessageOf<'desired'>;
export type CommandMessage = MessageOf<'command'>;
export type ResultMessage = MessageOf<'result'>;
export type SessionAddMessage = MessageOf<'session.add'>;
export type SessionModifyMessage = MessageOf<'session.modify'>;
export type SessionDeleteMessage = MessageOf<'session.delete'>;
export type SessionStateMessage = MessageOf<'session.state'>;
export type EnrolRequestMessage = MessageOf<'enrol.request'>;
export type EnrolAnswerMessage = MessageOf<'enrol.answer'>;
export type ConfigApplyMessage = MessageOf<'config.apply'>;
export type ConfigReportMessage = MessageOf<'config.report'>;

/** The whole envelope: version before anything else, then the type's own schema. */
const envelope: Schema<Message> = {
  check(input, path) {
    if (!isPlainObject(input)) return failAt(Code.TYPE, 'a message is a JSON object', path);
    const v = Object.getOwnPropertyDescriptor(input, 'v');
    if (v === undefined || !v.enumerable || ('value' in v && v.value === undefined)) {
      return failAt(Code.REQUIRED, 'missing required field v', 'v');
    }
    if ('value' in v) {
      const r = header.v.check(v.value, 'v');
      if (!r.ok) return r;
    }
    return messages.check(input, path);
  },
};

/** Validates a parsed value as a message; the result is a fresh, canonical copy. */
export function validateMessage(value: unknown): Result<Message> {
  return validate(envelope, value);
}

/** UTF-8 length of `text`, counting no further than `limit + 1`. */
export function utf8Length(text: string, limit = Infinity): number {
  let n = 0;
  for (let i = 0; i < text.length && n <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Text -> message. Size is checked before parsing, so a huge payload costs no parse. */
export function decodeMessage(text: string): Result<Message> {
  if (typeof text !== 'string') return failAt(Code.TYPE, 'a message is text', '');
  if (text.length > MAX_MESSAGE_BYTES || utf8Length(text, MAX_MESSAGE_BYTES) > MAX_MESSAGE_BYTES) {
    return failAt(Code.TOO_LARGE, `message is larger than ${MAX_MESSAGE_BYTES} bytes`, '');
  }
  const parsed = parseStrictJson(text);
  return parsed.ok ? validateMessage(parsed.value) : parsed;
}

/** Message -> text, validating first: what is sent is exactly what a receiver accepts. */
export function encodeMessage(msg: Message): Result<string> {
  const r = validateMessage(msg);
  if (!r.ok) return r;
  return encodeValidated(r.value);
}

/**
 * The text of a message that makeMessage or validateMessage has just returned (validating it
 * twice costs a sender of thousands of messages a second real time): only the size is checked.
 */
export function encodeValidated(msg: Message): Result<string> {
  const text = JSON.stringify(msg);
  if (utf8Length(text, MAX_MESSAGE_BYTES) > MAX_MESSAGE_BYTES) {
    return failAt(Code.TOO_LARGE, `message is larger than ${MAX_MESSAGE_BYTES} bytes`, '');
  }
  return ok(text);
}

/** What the sender fills in besides type and body; `v` is always PROTOCOL_VERSION. */
export interface Header {
  id: string;
  corr?: string;
  device: string;
  session: number;
  seq: number;
  ts: number;
}

/** Builds and validates a message; the body type follows from `type`. */
export function makeMessage<T extends MessageType>(type: T, header: Header, body: BodyOf<T>): Result<MessageOf<T>> {
  const candidate: Record<string, unknown> = { v: PROTOCOL_VERSION, type, id: header.id };
  if (header.corr !== undefined) candidate.corr = header.corr;
  candidate.device = header.device;
  candidate.session = header.session;
  candidate.seq = header.seq;
  candidate.ts = header.ts;
  candidate.body = body;
  return validateMessage(candidate) as Result<MessageOf<T>>;
}
