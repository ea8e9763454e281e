// Replaced at bundle time by esbuild's `define` with the version from package.json.
declare const CALLQOS_VERSION: string | undefined;

export const AGENT_VERSION: string = typeof CALLQOS_VERSION === 'string' ? CALLQOS_VERSION : '0.0.0-dev';
