/**
 * config: UCI sections to typed, validated values (STYLE.md point 8).
 *
 *   parseAgentConfig(text)          /etc/config/callqos -> Result<{config: AgentConfig, warnings}>
 *   applySpec(sections, spec)       sections + declarative spec -> Result<{values, warnings}>
 *   singleton / multiple / option   build a spec; types.ts holds the value types
 *
 * spec.ts is the generic engine (firewall4's rules: bad section skipped with a warning);
 * agent-config.ts is the agent's spec and the AgentConfig it builds.
 */
export {
  AGENT_PACKAGE, AGENT_SPEC, DEFAULT_MARK_MASK, GATE_DIRECTIONS, GATE_ID, QUEUE_BACKENDS, parseAgentConfig,
  type AgentConfig, type GateDirection, type QueueBackend, type StaticGate,
} from './agent-config.ts';
export {
  CONFIG_ERROR, applySpec, multiple, option, sectionLabel, singleton,
  type Applied, type ConfigSpec, type OptionFlags, type OptionSpec, type SectionEntry, type SectionMeta, type SectionRules,
  type SectionSpec, type SpecValues, type ValuesOf,
} from './spec.ts';
export * as types from './types.ts';
export type { Cidr, ValueType } from './types.ts';
