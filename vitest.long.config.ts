import { defineConfig } from "vitest/config";

// `npm run test:long`: the full sizes of the property-based and soak tests (see test/support/scale.ts).
export default defineConfig({
  test: {
    include: ["test/machine/chart-properties.test.ts", "test/soak/**/*.test.ts"],
    env: { SOFTPHONE_TEST_LONG: "1" },
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 20 * 60_000,
    hookTimeout: 60_000,
  },
});
