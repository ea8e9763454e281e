import type { AgentConfig } from '../config/index.ts';
import type { DataplaneSettings } from './model.ts';

/** The part of the agent's config that shapes the nft table. */
export function dataplaneSettings(config: AgentConfig): DataplaneSettings {
  const { markMask, washUnadmittedEf, policeMarginPercent, wifiEfToVoice } = config.qos;
  return { markMask, washUnadmittedEf, policeMarginPercent, wifiEfToVoice };
}
