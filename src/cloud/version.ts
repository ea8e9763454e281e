/** The program's version, put in by the build (scripts/build.mjs); `0.0.0-dev` when run from source. */
declare const CALLQOS_VERSION: string | undefined;

export const CLOUD_VERSION: string = typeof CALLQOS_VERSION === 'string' ? CALLQOS_VERSION : '0.0.0-dev';
