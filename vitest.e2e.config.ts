import { defineConfig } from "vitest/config";

/** `npm run test:e2e`: the demo in real Chromium (needs /usr/bin/chromium); not part of `npm test`. */
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 60_000,
    hookTimeout: 90_000,
  },
});
