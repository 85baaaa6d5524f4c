/**
 * Quick or full: `npm test` runs the quick sizes, `npm run test:long` (vitest.long.config.ts
 * sets SOFTPHONE_TEST_LONG=1) the full ones. Every test with two sizes takes them from here.
 */
export const LONG_RUN = process.env.SOFTPHONE_TEST_LONG === "1";

/** `quick` in `npm test`, `full` in `npm run test:long`. */
export function scaled<T>(quick: T, full: T): T {
  return LONG_RUN ? full : quick;
}
