/**
 * protocol: the callqos control-plane messages (DESIGN.md section 4), COPS (RFC 2748)
 * semantics carried as JSON over MQTT.
 *
 *   decodeMessage(text)   text -> Result<Message>     (size, JSON, version, type, body)
 *   encodeMessage(msg)    Message -> Result<string>   (validates first)
 *   makeMessage(t, h, b)  builds and validates one message
 *   validateMessage(v)    an already parsed value -> Result<Message>
 *
 * schema.ts is the validator the message schemas are written in; ../net/ip.ts parses and
 * formats addresses; fields.ts holds the shared field types; messages/ holds one file per group;
 * digest.ts hashes a gate for state synchronisation.
 */
export * from './envelope.ts';
export * from './messages/index.ts';
export * from './fields.ts';
export { desiredDigest, gateHash, fnv1a64 } from './digest.ts';
export * from './topics.ts';
export {
  canonicalIp, formatIp, formatIPv4, formatIPv6, hostBitsZero, ipFamily, isMulticast, isUnspecified,
  parseIp, parseIPv4, parseIPv6, prefixContains, type IpAddress, type IpFamily,
} from '../net/ip.ts';
export { Code, validate, type ErrorCode, type Infer, type JsonValue, type Schema } from './schema.ts';
export * from './limits.ts';
