/** The version of this library, reported in worker heartbeats and `stats`. */
export const STEM_VERSION = '0.1.0';
